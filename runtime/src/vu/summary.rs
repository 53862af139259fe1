//! `handle-summary`: the engine's export that runs a JavaScript script's `handleSummary`.

use stampede_host_api::SummaryOutcome;

use super::{CallError, Vu};

impl Vu {
    /// Calls the script's `handleSummary` with k6's summary object (`data`, JSON text).
    /// `Ok(None)` when the component has no such export (a script not run by the JavaScript
    /// engine).
    pub async fn handle_summary(
        &mut self,
        data: &str,
    ) -> Result<Option<SummaryOutcome>, CallError> {
        self.ensure_instance().await?;
        let raw = self.raw.expect("instantiated with the instance");
        let store = self.store.as_mut().expect("a VU always has a store");
        let Ok(func) =
            raw.get_typed_func::<(&str,), (SummaryOutcome,)>(&mut *store, "handle-summary")
        else {
            return Ok(None);
        };
        let res = func
            .call_async(&mut *store, (data,))
            .await
            .map(|(outcome,)| outcome);
        self.finish_call();
        res.map(Some).map_err(|e| self.classify(e))
    }
}
