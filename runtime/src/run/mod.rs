//! A test from start to end, in three parts that other commands use on their own:
//!
//! - [`plan`] — options → scenarios → thresholds → settings. Pure: [`plan::plan`] takes the
//!   layers of options, the script's entry points and the metrics' registry, and returns a
//!   [`plan::Plan`] or a configuration [`Failure`] (exit code 104).
//! - [`lifecycle`] — the VUs, `setup()`, the scenarios, `teardown()`, signals, and the watcher
//!   that samples `vus` and evaluates thresholds live. [`lifecycle::Lifecycle::run_scenarios`]
//!   takes any scenarios, and may be called more than once (a capacity search runs its own
//!   steps, reading windowed results in between).
//! - [`reporting`] — the final evaluation of thresholds, the [`Report`] built from a store,
//!   and the pure [`reporting::exit_code`]. A report can be rebuilt from merged metrics
//!   without running anything: fill a [`Metrics`](crate::metrics::Metrics) store, attach the
//!   thresholds ([`Thresholds::attach`](crate::thresholds::Thresholds::attach)), and call
//!   [`reporting::finish`].
//!
//! [`run`] strings them together for `stampede run`, with the outputs
//! ([`crate::output`]) fed along the way. Presentation — the banner, the printed summary,
//! whether stderr is a terminal — is the caller's: [`TestSpec::on_start`] shows the plan,
//! and [`Outcome::report`] is what the summary prints.

pub mod lifecycle;
pub mod plan;
pub mod reporting;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use stampede_host_api::modules::ScriptFiles;

use crate::engine::{EngineLimits, LoadError, ScriptEngine};
use crate::executor::ScenarioConfig;
use crate::instance::Handover;
use crate::log::Logger;
use crate::metrics::{builtin, MetricId, Metrics, SystemTags};
use crate::options::Options;
use crate::output::registry::{self, MakeOptions, OutputSpec};
use crate::output::summary_text::SummaryMode;
use crate::output::{Output, OutputContext, Outputs, Report, ScenarioInfo, TestInfo};
use crate::thresholds::Thresholds;

use lifecycle::{Lifecycle, RunConfig, ScenariosRun};
use plan::Plan;
use reporting::{Ending, GeneratorFacts};

/// k6's exit codes.
pub mod exit {
    /// The test ran and every threshold held.
    pub const OK: i32 = 0;
    /// A threshold failed.
    pub const THRESHOLDS_FAILED: i32 = 99;
    /// `setup()` ran past `setupTimeout`.
    pub const SETUP_TIMEOUT: i32 = 100;
    /// `teardown()` ran past `teardownTimeout`.
    pub const TEARDOWN_TIMEOUT: i32 = 101;
    /// Bad flags, options, thresholds or script.
    pub const INVALID_CONFIG: i32 = 104;
    /// Stopped by SIGINT or SIGTERM.
    pub const EXTERNAL_ABORT: i32 = 105;
    /// `setup()` or `teardown()` failed (or the script failed to start).
    pub const SCRIPT_EXCEPTION: i32 = 107;
    /// The script aborted the test.
    pub const SCRIPT_ABORTED: i32 = 108;
    /// The script marked the test as failed.
    pub const MARKED_FAILED: i32 = 110;
}

/// Metrics broken down per scenario (full summary mode, and the HTML report).
pub const SCENARIO_BREAKDOWN: [MetricId; 9] = [
    builtin::HTTP_REQS,
    builtin::HTTP_REQ_FAILED,
    builtin::HTTP_REQ_DURATION,
    builtin::ITERATIONS,
    builtin::ITERATION_DURATION,
    builtin::ITERATION_ERRORS,
    builtin::DROPPED_ITERATIONS,
    builtin::ITERATION_START_DELAY,
    builtin::CHECKS,
];
/// Metrics broken down per scenario for the live progress.
const PROGRESS_BREAKDOWN: [MetricId; 2] = [builtin::HTTP_REQS, builtin::HTTP_REQ_FAILED];
/// Metrics broken down per group (full summary mode, and the HTML report).
pub const GROUP_BREAKDOWN: [MetricId; 5] = [
    builtin::HTTP_REQS,
    builtin::HTTP_REQ_FAILED,
    builtin::HTTP_REQ_DURATION,
    builtin::GROUP_DURATION,
    builtin::CHECKS,
];

/// The default memory limit of a VU.
pub const DEFAULT_VU_MEMORY: u64 = 128 << 20;
/// How long outputs may take to send what they hold at the end of the test.
pub const OUTPUT_FLUSH_WAIT: Duration = Duration::from_secs(30);

/// What the banner shows, once the plan is made and before any VU is.
pub struct Banner<'a> {
    /// The script's name.
    pub script: &'a str,
    /// The scenarios.
    pub scenarios: &'a [ScenarioConfig],
    /// VUs the scenarios may use at once.
    pub max_vus: u64,
    /// The longest the test may run, with graceful stops.
    pub max_duration: Duration,
    /// The outputs, described.
    pub outputs: Vec<String>,
}

/// Shows the plan (the CLI prints the banner).
pub type OnStart = Box<dyn FnOnce(&Banner<'_>) + Send>;

/// Everything a test is made of, as the command line gathered it.
pub struct TestSpec {
    /// The component.
    pub wasm: Vec<u8>,
    /// The script's files, when the component is an engine that loads them (JavaScript).
    pub files: Option<Arc<ScriptFiles>>,
    /// The script's name, for messages.
    pub script: String,
    /// The `--config` file's options and path.
    pub config: Option<(String, Options)>,
    /// Options from `STAMPEDE_*` variables.
    pub env_options: Options,
    /// Options from flags.
    pub cli_options: Options,
    /// Variables from `-e`.
    pub env: BTreeMap<String, String>,
    /// `--no-thresholds`.
    pub no_thresholds: bool,
    /// On a split test: `--start-at` and setup data handed over as a file.
    pub handover: Handover,
    /// The outputs: `--out NAME[=ARG]` and the report flags (`--summary-export`, …).
    pub outputs: Vec<OutputSpec>,
    /// The process environment, for the outputs' `STAMPEDE_*` settings.
    pub process_env: BTreeMap<String, String>,
    /// `--summary-mode`.
    pub summary_mode: SummaryMode,
    /// Call the script's `handleSummary` at the end (not with `--no-summary`, as k6).
    pub handle_summary: bool,
    /// Draw the live progress (the CLI decides: not quiet, and stderr is a terminal).
    pub progress: bool,
    /// Shows the plan before the VUs are made (the banner); `None` shows nothing.
    pub on_start: Option<OnStart>,
    /// Largest memory of a VU.
    pub vu_memory_limit: u64,
    /// Where compiled scripts are kept (`None`: compile every time).
    pub cache_dir: Option<PathBuf>,
    /// Threads that run VUs (0: one per core).
    pub vu_threads: usize,
    /// React to SIGINT/SIGTERM.
    pub handle_signals: bool,
    /// The log.
    pub log: Logger,
}

/// How a test ended.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code.
    pub exit_code: i32,
    /// What was measured (absent when the test could not start).
    pub report: Option<Report>,
    /// What the script's `handleSummary` asked to write instead of the summary.
    pub summary: lifecycle::ScriptSummary,
}

/// A test that could not start: the message and the exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// What went wrong, naming the culprit.
    pub message: String,
    /// The exit code.
    pub exit_code: i32,
}

impl Failure {
    /// An invalid configuration (exit code 104).
    pub fn config(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit_code: exit::INVALID_CONFIG,
        }
    }

    /// A script that failed to start (exit code 107).
    pub fn script(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit_code: exit::SCRIPT_EXCEPTION,
        }
    }
}

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Self {
        Failure::config(e.to_string())
    }
}

/// Bounds the number of metric series (`maxSeries`), and makes the overflow series keep the
/// tags that thresholds filter on, so that a threshold still sees every sample it should.
fn bound_series(metrics: &Metrics, max_series: Option<u64>) -> Result<(), Failure> {
    let limit = match max_series {
        None => crate::metrics::DEFAULT_MAX_SERIES,
        Some(0) => {
            return Err(Failure::config(
                "invalid maxSeries 0: it must be at least 1",
            ))
        }
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    metrics.tags.set_limit(limit);
    let store = metrics.store();
    let subs = store.submetrics().iter().flat_map(|s| &s.filter);
    let windows = store.windows().iter().flat_map(|w| &w.filter);
    metrics
        .tags
        .keep_keys(subs.chain(windows).map(|(k, _)| k.as_str()));
    Ok(())
}

/// Declares the sub-metrics that something will show: the per-scenario and per-group
/// breakdowns (`full`), or the per-scenario counts of the live progress. Each costs a little
/// per sample.
pub fn declare_breakdowns(
    metrics: &Metrics,
    scenarios: &[ScenarioConfig],
    full: bool,
    progress: bool,
) {
    let mut store = metrics.store();
    // k6 has this sub-metric unless `systemTags` leaves the tag out.
    if metrics.system_tags().has(SystemTags::EXPECTED_RESPONSE) {
        store.add_submetric(
            "http_req_duration{expected_response:true}",
            builtin::HTTP_REQ_DURATION,
            vec![("expected_response".into(), "true".into())],
        );
    }
    for s in scenarios {
        if full {
            store.add_breakdown(&SCENARIO_BREAKDOWN, "scenario", &s.name);
        } else if progress {
            store.add_breakdown(&PROGRESS_BREAKDOWN, "scenario", &s.name);
        }
    }
    if full {
        store.break_down_groups(&GROUP_BREAKDOWN);
    }
}

/// Threshold expressions per metric name, as k6's JSON lines list them: those on the metric
/// itself (a sub-metric's are not its parent's).
fn threshold_sources(thresholds: &Thresholds) -> BTreeMap<String, Vec<String>> {
    let mut map = BTreeMap::<String, Vec<String>>::new();
    for t in thresholds
        .list
        .iter()
        .filter(|t| t.selector.filter.is_empty())
    {
        map.entry(t.selector.metric.clone())
            .or_default()
            .push(t.expression.source.clone());
    }
    map
}

fn make_outputs(
    spec: &TestSpec,
    plan: &Plan,
    metrics: &Metrics,
    thresholds: &Thresholds,
) -> Result<Vec<Box<dyn Output>>, Failure> {
    let ctx = OutputContext {
        thresholds: threshold_sources(thresholds),
        env: spec.process_env.clone(),
        planned: plan.max_duration(),
        script_sha256: crate::partial::script_sha256(&spec.wasm, spec.files.as_deref()),
        ..OutputContext::new(metrics, spec.log.clone())
    };
    let opts = MakeOptions {
        full_summary: spec.summary_mode == SummaryMode::Full,
    };
    spec.outputs
        .iter()
        .map(|o| registry::make(o, &ctx, opts).map_err(Failure::config))
        .collect()
}

/// A test's plan, without running it (`stampede kubernetes render` sizes pods with it).
pub async fn plan_of(spec: &TestSpec) -> Result<Plan, Failure> {
    let metrics = Metrics::new();
    let probe = Arc::new(ScriptEngine::compile_cached(
        &spec.wasm,
        EngineLimits {
            memory_limit: spec.vu_memory_limit,
            pool_size: None,
            engine_script: spec.files.is_some(),
        },
        spec.cache_dir.as_deref(),
    )?);
    let info = lifecycle::inspect(probe, &metrics, &spec.env, &spec.files, &spec.log).await?;
    let layers = plan::layers(
        spec.config.as_ref(),
        info.options,
        spec.env_options.clone(),
        spec.cli_options.clone(),
    );
    plan::plan(
        layers,
        &info.entry_points,
        &metrics.registry,
        spec.no_thresholds,
    )
}

fn test_info(spec: &TestSpec, plan: &Plan, started: SystemTime, setup: &[u8]) -> TestInfo {
    TestInfo {
        script: spec.script.clone(),
        started: Some(started),
        scenarios: plan
            .scenarios
            .iter()
            .map(|s| ScenarioInfo {
                name: s.name.clone(),
                executor: s.executor.name().to_string(),
                description: s.describe(),
            })
            .collect(),
        options: serde_json::to_value(&plan.options).unwrap_or_default(),
        // As k6: data that is not JSON (a Rust guest's own bytes) is left out.
        setup_data: (!setup.is_empty())
            .then(|| serde_json::from_slice(setup).ok())
            .flatten(),
    }
}

/// A test planned, its metrics declared and its outputs started: ready for its VUs.
struct Prepared {
    metrics: Metrics,
    /// The component compiled to inspect it; the VUs' engine is made from it, then it goes.
    probe: Option<Arc<ScriptEngine>>,
    plan: Plan,
    thresholds: Thresholds,
    outputs: Outputs,
    breakdown: bool,
}

/// Compiles and inspects the script, plans the test, declares what the reports show, and
/// starts the outputs.
async fn prepare(spec: &TestSpec) -> Result<Prepared, Failure> {
    let log = &spec.log;
    let metrics = Metrics::new();
    let probe = Arc::new(ScriptEngine::compile_cached(
        &spec.wasm,
        EngineLimits {
            memory_limit: spec.vu_memory_limit,
            pool_size: None,
            engine_script: spec.files.is_some(),
        },
        spec.cache_dir.as_deref(),
    )?);
    let info = lifecycle::inspect(probe.clone(), &metrics, &spec.env, &spec.files, log).await?;
    let layers = plan::layers(
        spec.config.as_ref(),
        info.options,
        spec.env_options.clone(),
        spec.cli_options.clone(),
    );
    let plan = plan::plan(
        layers,
        &info.entry_points,
        &metrics.registry,
        spec.no_thresholds,
    )?;
    for n in &plan.notices {
        log.log(crate::log::Level::Warn, n, &[]);
    }
    if let Some(path) = &plan.settings.k6.console_output {
        crate::settings::redirect_console(path, log).map_err(Failure::config)?;
    }
    metrics.set_system_tags(plan.settings.k6.system_tags);
    // The HTML report has per-scenario and per-group tables: the full summary's breakdown.
    let breakdown = spec.summary_mode == SummaryMode::Full
        || spec.outputs.iter().any(OutputSpec::is_html_report);
    declare_breakdowns(&metrics, &plan.scenarios, breakdown, spec.progress);
    let thresholds = Thresholds::attach(plan.thresholds.clone(), &mut metrics.store());
    bound_series(&metrics, plan.options.max_series)?;
    let outputs = make_outputs(spec, &plan, &metrics, &thresholds)?;
    let outputs = Outputs::start(outputs, &metrics, log);
    Ok(Prepared {
        metrics,
        probe: Some(probe),
        plan,
        thresholds,
        outputs,
        breakdown,
    })
}

/// Ends the outputs' streams, builds the report (with how the test ended), and hands it to
/// the outputs. Draining, flushing and writing block (files, pushes): they run
/// off the async threads, where the signal handler must keep running.
async fn conclude(
    p: Prepared,
    test: &Lifecycle,
    measured: ScenariosRun,
    mut thresholds: Thresholds,
    info: TestInfo,
) -> Result<Report, Failure> {
    let Prepared {
        metrics,
        plan,
        mut outputs,
        breakdown,
        ..
    } = p;
    let (mut outputs, stats) = {
        let metrics = metrics.clone();
        tokio::task::spawn_blocking(move || {
            let stats = outputs.end_stream(&metrics, OUTPUT_FLUSH_WAIT);
            (outputs, stats)
        })
        .await
        .map_err(|e| Failure::config(format!("the outputs' end failed: {e}")))?
    };
    let facts = GeneratorFacts {
        cpu: measured.cpu,
        vus_made: test.vus_made,
        vus_init: test.vus_init,
        vu_threads_busy: measured.vu_threads_busy,
        outputs: stats,
    };
    let (mut report, eval) = reporting::finish(
        &metrics,
        &mut thresholds,
        &plan.settings.trend_stats,
        measured.run_time,
        facts,
        breakdown,
    );
    let stopped = test.control().stopped();
    report.stopped = stopped.as_ref().map(reporting::stopped_reason);
    report.test = info;
    report.ending = Ending {
        stopped,
        lifecycle_code: test.exit_code(),
        thresholds_failed: eval.failed,
        marked_failed: test.control().failed().is_some(),
    };
    tokio::task::spawn_blocking(move || {
        outputs.report(&report);
        report
    })
    .await
    .map_err(|e| Failure::config(format!("the outputs' report failed: {e}")))
}

/// Runs a test.
pub async fn run(mut spec: TestSpec) -> Result<Outcome, Failure> {
    let mut p = prepare(&spec).await?;
    if let Some(show) = spec.on_start.take() {
        show(&Banner {
            script: &spec.script,
            scenarios: &p.plan.scenarios,
            max_vus: p.plan.max_vus(),
            max_duration: p.plan.max_duration(),
            outputs: p.outputs.descriptions(),
        });
    }
    let config = RunConfig {
        vu_threads: spec.vu_threads,
        progress: spec.progress,
        handle_signals: spec.handle_signals,
    };
    let probe = p.probe.take().expect("prepared with its probe");
    let mut test = Lifecycle::start(
        &probe,
        spec.vu_memory_limit,
        p.plan.max_vus(),
        p.plan.initial_vus(),
        p.plan.settings.clone(),
        &p.metrics,
        &spec.env,
        &spec.files,
        &spec.log,
        config,
    )
    .await?;
    drop(probe);
    test.setup_handing_over(&spec.handover).await;
    if let (true, Some(at)) = (test.may_run(), spec.handover.start_at) {
        crate::instance::hold_until(at, test.control(), &spec.log).await;
    }
    let started = SystemTime::now();
    let thresholds = std::mem::take(&mut p.thresholds);
    let (measured, thresholds) = if test.may_run() {
        test.run_scenarios(&p.plan.scenarios, thresholds).await?
    } else {
        (ScenariosRun::default(), thresholds)
    };
    test.teardown().await;
    let info = test_info(&spec, &p.plan, started, test.setup_data());
    let report = conclude(p, &test, measured, thresholds, info).await?;
    let code = reporting::exit_code(&report.ending);
    let summary = if spec.handle_summary {
        test.handle_summary(&report).await
    } else {
        lifecycle::ScriptSummary::Normal
    };
    Ok(Outcome {
        exit_code: code,
        report: Some(report),
        summary,
    })
}
