//! `handleSummary(data)`: after the report, the script may write the summary its own way.

use stampede_host_api::SummaryOutcome;

use super::Lifecycle;
use crate::log::Level;
use crate::options::format_duration;
use crate::output::summary_data::{self, Terminal};
use crate::output::Report;
use crate::vu::CallError;

/// Most bytes a script's `handleSummary` may hand over for writing, all outputs together.
pub const MAX_SUMMARY_BYTES: usize = 64 << 20;

/// Most outputs (`stdout`, `stderr`, files) one `handleSummary` may name.
pub const MAX_SUMMARY_OUTPUTS: usize = 1024;

/// What becomes of the end-of-test summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ScriptSummary {
    /// The normal summary is printed: the script has no `handleSummary`, it returned nothing,
    /// or it threw.
    #[default]
    Normal,
    /// The script's own: what to write to `stdout`, `stderr` or files, in order (empty when
    /// what it returned could not be used, as k6 then writes nothing).
    Outputs(Vec<(String, Vec<u8>)>),
}

impl Lifecycle {
    /// Calls the script's `handleSummary` with k6's summary object for `report`, within
    /// `handleSummaryTimeout`, and says what to write. Failures are logged as k6 logs them.
    pub async fn handle_summary(&mut self, report: &Report) -> ScriptSummary {
        let log = self.ctx.log.clone();
        let fail = |message: String| {
            log.log(
                Level::Error,
                &format!("failed to handle the end-of-test summary: {message}"),
                &[("source", "handleSummary")],
            );
            ScriptSummary::Outputs(Vec::new())
        };
        let data = summary_data::render(report, Terminal::detect()).to_string();
        let timeout = self.settings.handle_summary_timeout;
        self.lifecycle_vu.hooks().set_root_group("");
        let called = tokio::time::timeout(timeout, self.lifecycle_vu.handle_summary(&data)).await;
        let outcome = match called {
            Ok(Ok(Some(outcome))) => outcome,
            Ok(Ok(None)) => return ScriptSummary::Normal,
            Ok(Err(CallError::Script(e) | CallError::Trap(e))) => SummaryOutcome::Thrown(e),
            Ok(Err(CallError::Aborted(_))) => return ScriptSummary::Normal,
            Err(_) => {
                self.lifecycle_vu.interrupted();
                return fail(format!(
                    "handleSummary() did not finish within handleSummaryTimeout ({})",
                    format_duration(timeout)
                ));
            }
        };
        match outcome {
            SummaryOutcome::None => ScriptSummary::Normal,
            SummaryOutcome::Thrown(e) => {
                log.log(
                    Level::Error,
                    &format!("handleSummary() failed: {e}"),
                    &[("source", "handleSummary")],
                );
                ScriptSummary::Normal
            }
            SummaryOutcome::Invalid(e) => fail(e),
            SummaryOutcome::Outputs(list) => {
                let total: usize = list.iter().map(|(k, v)| k.len() + v.len()).sum();
                if list.len() > MAX_SUMMARY_OUTPUTS {
                    return fail(format!(
                        "handleSummary() returned {} outputs, more than the {MAX_SUMMARY_OUTPUTS} stampede writes",
                        list.len()
                    ));
                }
                if total > MAX_SUMMARY_BYTES {
                    return fail(format!(
                        "handleSummary() returned {total} bytes, more than the {} MiB stampede writes",
                        MAX_SUMMARY_BYTES >> 20
                    ));
                }
                ScriptSummary::Outputs(list)
            }
        }
    }
}
