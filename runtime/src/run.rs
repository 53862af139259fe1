//! A test from start to end: load the script, merge options, make the VUs, run setup, the
//! scenarios and teardown, then report — and map what happened to k6's exit codes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stampede_host_api::http::{ClientConfig, HttpClient, NetPolicy};
use stampede_host_api::modules::ScriptFiles;

use crate::cpu::{peak_rss, CpuMeter};
use crate::engine::{EngineLimits, LoadError, ScriptEngine};
use crate::executor::{self, Progress, Run, ScenarioConfig, ScenarioShared, VuPool};
use crate::log::{Level, Logger};
use crate::metrics::{builtin, Metrics};
use crate::options::{format_duration, Options, Source};
use crate::output::jsonl::JsonLines;
use crate::output::summary_text::SummaryMode;
use crate::output::{summary_json, summary_text, GeneratorReport, Report, TrendStat};
use crate::progress::{Progress as LiveProgress, Watched};
use crate::thresholds::Thresholds;
use crate::vu::{CallError, Control, Stop, TestContext, Vu};
use std::io::IsTerminal;

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

/// Metrics broken down per scenario (shown in full summary mode, and used by the progress).
const SCENARIO_BREAKDOWN: [crate::metrics::MetricId; 9] = [
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
const PROGRESS_BREAKDOWN: [crate::metrics::MetricId; 2] =
    [builtin::HTTP_REQS, builtin::HTTP_REQ_FAILED];
/// Metrics broken down per group in full summary mode.
const GROUP_BREAKDOWN: [crate::metrics::MetricId; 5] = [
    builtin::HTTP_REQS,
    builtin::HTTP_REQ_FAILED,
    builtin::HTTP_REQ_DURATION,
    builtin::GROUP_DURATION,
    builtin::CHECKS,
];

/// The default memory limit of a VU.
pub const DEFAULT_VU_MEMORY: u64 = 128 << 20;
const DEFAULT_SETUP_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// `--summary-export`.
    pub summary_export: Option<PathBuf>,
    /// `--out json=FILE`.
    pub out_json: Option<PathBuf>,
    /// `--summary-mode`.
    pub summary_mode: SummaryMode,
    /// `--no-summary`.
    pub no_summary: bool,
    /// `-q`: no banner or progress.
    pub quiet: bool,
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
    fn config(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit_code: exit::INVALID_CONFIG,
        }
    }

    fn script(message: impl Into<String>) -> Self {
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

/// Settings taken from the merged options.
struct Settings {
    setup_timeout: Duration,
    teardown_timeout: Duration,
    no_setup: bool,
    no_teardown: bool,
    trend_stats: Vec<TrendStat>,
    http: ClientConfig,
    tags: Vec<(String, String)>,
}

fn settings(o: &Options) -> Result<Settings, Failure> {
    let mut http = ClientConfig::default();
    if let Some(v) = o.insecure_skip_tls_verify {
        http.insecure_skip_tls_verify = v;
    }
    if let Some(v) = o.max_redirects {
        http.max_redirects = v;
    }
    if let Some(v) = &o.user_agent {
        http.user_agent = v.clone();
    }
    if let Some(v) = o.discard_response_bodies {
        http.discard_response_bodies = v;
    }
    if let Some(v) = o.response_body_limit {
        http.response_body_limit = v;
    }
    if let Some(v) = o.http_timeout {
        http.timeout = v.0;
    }
    let mut net = NetPolicy::default();
    for h in o.block_hostnames.iter().flatten() {
        net.block_hostnames.push(
            h.parse()
                .map_err(|e| Failure::config(format!("invalid blockHostnames entry: {e}")))?,
        );
    }
    for ip in o.blacklist_ips.iter().flatten() {
        net.blacklist_ips.push(
            ip.parse()
                .map_err(|e| Failure::config(format!("invalid blacklistIPs entry: {e}")))?,
        );
    }
    http.net = net;
    let trend_stats = match &o.summary_trend_stats {
        Some(list) => list
            .iter()
            .map(|s| TrendStat::parse(s))
            .collect::<Result<_, _>>()
            .map_err(Failure::config)?,
        None => TrendStat::defaults(),
    };
    Ok(Settings {
        setup_timeout: o
            .setup_timeout
            .map(|d| d.0)
            .unwrap_or(DEFAULT_SETUP_TIMEOUT),
        teardown_timeout: o
            .teardown_timeout
            .map(|d| d.0)
            .unwrap_or(DEFAULT_SETUP_TIMEOUT),
        no_setup: o.no_setup.unwrap_or(false),
        no_teardown: o.no_teardown.unwrap_or(false),
        trend_stats,
        http,
        tags: o.tags.clone().unwrap_or_default().into_iter().collect(),
    })
}

/// What the script told us when it was first instantiated.
struct ScriptInfo {
    options: Options,
    entry_points: Vec<String>,
}

async fn inspect(
    engine: Arc<ScriptEngine>,
    metrics: &Metrics,
    env: &BTreeMap<String, String>,
    files: &Option<Arc<ScriptFiles>>,
    log: &Logger,
) -> Result<ScriptInfo, Failure> {
    let ctx = Arc::new(TestContext {
        metrics: metrics.clone(),
        http: HttpClient::new(ClientConfig::default()),
        env: env.clone(),
        tags: Vec::new(),
        log: log.clone(),
        control: Control::new(),
        files: files.clone(),
    });
    let mut vu = Vu::new(engine, ctx, 0)
        .await
        .map_err(|e| Failure::script(format!("the script failed to start: {e}")))?;
    let json = vu
        .options()
        .await
        .map_err(|e| Failure::script(format!("the script's options() failed: {e}")))?;
    let options = Options::from_json(&json, &Source::Script).map_err(Failure::config)?;
    let entry_points = vu
        .entry_points()
        .await
        .map_err(|e| Failure::script(format!("the script's entry-points() failed: {e}")))?;
    vu.flush();
    Ok(ScriptInfo {
        options,
        entry_points,
    })
}

/// Runs a test.
pub async fn run(spec: TestSpec) -> Result<Outcome, Failure> {
    let log = spec.log.clone();
    let metrics = Metrics::new();
    let limits = EngineLimits {
        memory_limit: spec.vu_memory_limit,
        pool_size: None,
    };
    let probe_engine = Arc::new(ScriptEngine::compile_cached(
        &spec.wasm,
        limits,
        spec.cache_dir.as_deref(),
    )?);

    let info = inspect(probe_engine.clone(), &metrics, &spec.env, &spec.files, &log).await?;

    let mut layers = Vec::new();
    if let Some((path, o)) = &spec.config {
        layers.push((Source::ConfigFile(path.clone()), o.clone()));
    }
    layers.push((Source::Script, info.options));
    layers.push((Source::Env, spec.env_options.clone()));
    layers.push((Source::Cli, spec.cli_options.clone()));
    let options = Options::merge(layers).map_err(Failure::config)?;
    let scenarios = executor::scenarios(&options).map_err(Failure::config)?;
    for s in &scenarios {
        if !info.entry_points.contains(&s.exec) {
            return Err(Failure::config(format!(
                "scenario `{}` calls `{}`, which the script does not export (it has: {})",
                s.name,
                s.exec,
                info.entry_points.join(", ")
            )));
        }
    }
    let settings = settings(&options)?;
    metrics.store().add_submetric(
        "http_req_duration{expected_response:true}",
        builtin::HTTP_REQ_DURATION,
        vec![("expected_response".into(), "true".into())],
    );
    let show_progress = !spec.quiet && std::io::stderr().is_terminal();
    {
        // Each breakdown costs a little per sample: make only those something will show.
        let mut store = metrics.store();
        for s in &scenarios {
            if spec.summary_mode == SummaryMode::Full {
                store.add_breakdown(&SCENARIO_BREAKDOWN, "scenario", &s.name);
            } else if show_progress {
                store.add_breakdown(&PROGRESS_BREAKDOWN, "scenario", &s.name);
            }
        }
        if spec.summary_mode == SummaryMode::Full {
            store.break_down_groups(&GROUP_BREAKDOWN);
        }
    }
    let mut thresholds = match (&options.thresholds, spec.no_thresholds) {
        (Some(t), false) => Thresholds::build(t, &metrics).map_err(Failure::config)?,
        _ => Thresholds::default(),
    };

    let max_vus: u64 = scenarios.iter().map(ScenarioConfig::max_vus).sum();
    let initial_vus: u64 = scenarios.iter().map(ScenarioConfig::initial_vus).sum();
    let pool_size = u32::try_from(max_vus + 2)
        .map_err(|_| Failure::config(format!("{max_vus} VUs are more than stampede can run")))?;
    crate::limits::check_map_count(max_vus + 2).map_err(Failure::config)?;
    let engine = Arc::new(probe_engine.with_limits(EngineLimits {
        memory_limit: spec.vu_memory_limit,
        pool_size: Some(pool_size),
    })?);
    drop(probe_engine);

    let control = Control::new();
    let ctx = Arc::new(TestContext {
        metrics: metrics.clone(),
        http: HttpClient::new(settings.http.clone()),
        env: spec.env.clone(),
        tags: settings.tags.clone(),
        log: log.clone(),
        control: control.clone(),
        files: spec.files.clone(),
    });

    let jsonl = match &spec.out_json {
        Some(path) => {
            let exprs =
                thresholds
                    .list
                    .iter()
                    .fold(BTreeMap::<String, Vec<String>>::new(), |mut m, t| {
                        m.entry(t.selector.metric.clone())
                            .or_default()
                            .push(t.expression.source.clone());
                        m
                    });
            Some(JsonLines::start(path, &metrics, exprs).map_err(|e| {
                Failure::config(format!(
                    "cannot write --out json file {}: {e}",
                    path.display()
                ))
            })?)
        }
        None => None,
    };

    if !spec.quiet {
        banner(&spec, &scenarios, max_vus);
    }

    let pool = {
        let (engine, ctx) = (engine.clone(), ctx.clone());
        Arc::new(VuPool::new(move |id| {
            let (engine, ctx) = (engine.clone(), ctx.clone());
            Box::pin(async move { Vu::new(engine, ctx, id).await })
        }))
    };
    let init_started = Instant::now();
    let nofile = crate::limits::raise_nofile();
    if nofile > 0 && max_vus + 64 > nofile {
        log.log(
            Level::Warn,
            &format!(
                "up to {max_vus} VUs may each hold a connection, but this process may open only {nofile} files: \
                 requests past the limit will fail (error code 1210). Raise it with `ulimit -n {}`",
                (max_vus * 2).max(65_536)
            ),
            &[],
        );
    }
    if let Err(e) = pool.grow(initial_vus).await {
        let why = crate::limits::explain_vu_failure(&e, pool.made().saturating_sub(1), initial_vus)
            .unwrap_or(e);
        return Err(Failure::config(format!(
            "could not make {initial_vus} VUs: {why}"
        )));
    }
    let vus_init = init_started.elapsed();
    log.log(
        Level::Debug,
        &format!("made {initial_vus} VUs in {}", format_duration(vus_init)),
        &[],
    );
    if spec.handle_signals {
        spawn_signal_handler(control.clone(), log.clone());
    }

    // setup()
    metrics.begin_test();
    let mut lifecycle_vu = Vu::new(engine.clone(), ctx.clone(), pool_size)
        .await
        .map_err(|e| Failure::script(format!("the script failed to start: {e}")))?;
    lifecycle_vu
        .hooks()
        .enter_scenario(&Arc::from("setup"), &[], &Arc::new(Vec::new()));
    let mut exit_code = None;
    let mut data: Vec<u8> = Vec::new();
    let mut setup_ok = true;
    if !settings.no_setup {
        match tokio::time::timeout(settings.setup_timeout, lifecycle_vu.setup()).await {
            Ok(Ok(d)) => data = d,
            Ok(Err(CallError::Aborted(_))) => {
                setup_ok = false;
            }
            Ok(Err(e)) => {
                log.log(
                    Level::Error,
                    &format!("setup() failed: {e}"),
                    &[("source", "setup")],
                );
                exit_code = Some(exit::SCRIPT_EXCEPTION);
                setup_ok = false;
            }
            Err(_) => {
                log.log(
                    Level::Error,
                    &format!(
                        "setup() did not finish within setupTimeout ({})",
                        format_duration(settings.setup_timeout)
                    ),
                    &[("source", "setup")],
                );
                lifecycle_vu.interrupted();
                exit_code = Some(exit::SETUP_TIMEOUT);
                setup_ok = false;
            }
        }
        lifecycle_vu.flush();
    }

    // The scenarios.
    let settings_tags = settings.tags.clone();
    let cpu = CpuMeter::start();
    let started = Instant::now();
    let mut vu_threads_busy = None;
    if setup_ok && control.stopped().is_none() {
        let threads = if spec.vu_threads == 0 {
            crate::cpu::cores()
        } else {
            spec.vu_threads
        };
        let workers = crate::workers::Workers::start(threads)
            .map_err(|e| Failure::config(format!("cannot start the VU threads: {e}")))?;
        workers.probe_timer_lag(&metrics);
        let sched_before = workers.sched_stats();
        let dropped_metrics = metrics.clone();
        let run = Run {
            spawner: workers.spawner(),
            pool: pool.clone(),
            control: control.clone(),
            data: Arc::from(data.clone()),
            on_dropped: Arc::new(move |scenario: &ScenarioShared, n: u64| {
                let mut pairs: Vec<(&str, &str)> = settings_tags
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                pairs.extend(scenario.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                pairs.push(("scenario", &scenario.name));
                let tags = dropped_metrics.tag_set(&pairs);
                let time = dropped_metrics.now();
                dropped_metrics.record(&[crate::metrics::Sample {
                    metric: builtin::DROPPED_ITERATIONS,
                    tags,
                    value: n as f64,
                    time,
                }]);
            }),
        };
        let mut tasks = tokio::task::JoinSet::new();
        let mut watched = Vec::new();
        for s in &scenarios {
            let shared = Arc::new(ScenarioShared {
                name: Arc::from(s.name.as_str()),
                exec: s.exec.clone(),
                tags: s.tags.clone(),
                env: Arc::new(s.env.clone()),
                progress: Progress::default(),
            });
            watched.push(Watched {
                config: s.clone(),
                shared: shared.clone(),
            });
            tasks.spawn(executor::run_scenario(run.clone(), s.clone(), shared));
        }
        let progress = show_progress.then(|| LiveProgress::start(watched, metrics.clone()));
        let watcher = spawn_watcher(
            metrics.clone(),
            pool.clone(),
            control.clone(),
            thresholds.clone(),
            log.clone(),
            started,
        );
        while tasks.join_next().await.is_some() {}
        if let (Some(before), Some(after)) = (sched_before, workers.sched_stats()) {
            vu_threads_busy = crate::workers::busiest_thread(&before, &after, started.elapsed());
        }
        watcher.abort();
        if let Some(p) = progress {
            p.finish();
        }
    }
    let run_time = started.elapsed();
    let cpu_use = cpu.read();

    // teardown()
    if setup_ok && !settings.no_teardown {
        lifecycle_vu
            .hooks()
            .enter_scenario(&Arc::from("teardown"), &[], &Arc::new(Vec::new()));
        match tokio::time::timeout(settings.teardown_timeout, lifecycle_vu.teardown(&data)).await {
            Ok(Ok(())) | Ok(Err(CallError::Aborted(_))) => {}
            Ok(Err(e)) => {
                log.log(
                    Level::Error,
                    &format!("teardown() failed: {e}"),
                    &[("source", "teardown")],
                );
                exit_code.get_or_insert(exit::SCRIPT_EXCEPTION);
            }
            Err(_) => {
                log.log(
                    Level::Error,
                    &format!(
                        "teardown() did not finish within teardownTimeout ({})",
                        format_duration(settings.teardown_timeout)
                    ),
                    &[("source", "teardown")],
                );
                lifecycle_vu.interrupted();
                exit_code.get_or_insert(exit::TEARDOWN_TIMEOUT);
            }
        }
    }
    lifecycle_vu.flush();
    for mut vu in pool.drain() {
        vu.flush();
    }
    if metrics.store().total(builtin::VUS).is_none() {
        // The test was over before the first `vus` sample: report the VUs it used.
        metrics.record_untagged(&[
            (builtin::VUS, pool.peak() as f64),
            (builtin::VUS_MAX, pool.made() as f64),
        ]);
    }
    log.flush_suppressed();

    // Results.
    let elapsed = if run_time.is_zero() {
        Duration::from_millis(1)
    } else {
        run_time
    };
    let eval = thresholds.evaluate(&metrics.store(), elapsed);
    let mut generator = GeneratorReport {
        cpu: cpu_use,
        peak_rss: peak_rss(),
        vus_made: initial_vus,
        vus_init,
        vu_threads_busy,
        warnings: Vec::new(),
    };
    metrics.record_untagged(&[(builtin::GENERATOR_CPU, cpu_use.utilisation())]);
    generator.diagnose(&metrics.store(), run_time);
    let mut report = Report::build(
        &metrics.store(),
        &thresholds,
        &settings.trend_stats,
        elapsed,
        generator,
        spec.summary_mode == SummaryMode::Full,
    );
    let stopped = control.stopped();
    report.stopped = stopped.as_ref().map(|s| match s {
        Stop::Script(r) => format!("the script aborted the test: {r}"),
        Stop::Threshold(r) => format!("the test was aborted because {r}"),
        Stop::Signal(r) => format!("the test was stopped by {r}"),
    });

    metrics.store().clear_taps();
    if let Some(j) = jsonl {
        if let Err(e) = j.finish() {
            log.log(
                Level::Error,
                &format!("writing the --out json file failed: {e}"),
                &[],
            );
        }
    }
    if let Some(path) = &spec.summary_export {
        let json = serde_json::to_string_pretty(&summary_json::render(&report))
            .expect("a report serializes");
        if let Err(e) = std::fs::write(path, json) {
            log.log(
                Level::Error,
                &format!("cannot write --summary-export file {}: {e}", path.display()),
                &[],
            );
        }
    }
    if !spec.no_summary {
        print!("{}", summary_text::render(&report, spec.summary_mode));
    }
    if let Some(why) = &report.stopped {
        log.log(Level::Warn, why, &[]);
    }

    let code = match (&stopped, exit_code) {
        (Some(Stop::Signal(_)), _) => exit::EXTERNAL_ABORT,
        (Some(Stop::Script(_)), _) => exit::SCRIPT_ABORTED,
        (_, Some(code)) => code,
        _ if eval.failed || matches!(stopped, Some(Stop::Threshold(_))) => exit::THRESHOLDS_FAILED,
        _ if control.failed().is_some() => exit::MARKED_FAILED,
        _ => exit::OK,
    };
    if eval.failed {
        log.log(Level::Error, "thresholds on metrics have been crossed", &[]);
    }
    Ok(Outcome {
        exit_code: code,
        report: Some(report),
    })
}

fn banner(spec: &TestSpec, scenarios: &[ScenarioConfig], max_vus: u64) {
    let longest = scenarios
        .iter()
        .map(|s| s.start_time + s.max_run_time() + s.graceful_stop)
        .max()
        .unwrap_or_default();
    eprintln!("\n     execution: local");
    eprintln!("        script: {}", spec.script);
    if let Some(p) = &spec.summary_export {
        eprintln!("        output: summary export to {}", p.display());
    }
    if let Some(p) = &spec.out_json {
        eprintln!("        output: json ({})", p.display());
    }
    eprintln!(
        "\n     scenarios: {} scenario{}, {max_vus} max VUs, {} max duration (incl. graceful stop):",
        scenarios.len(),
        if scenarios.len() == 1 { "" } else { "s" },
        format_duration(longest)
    );
    for s in scenarios {
        eprintln!("              * {}", s.describe());
    }
    eprintln!();
}

fn record_vus<V: executor::ExecVu>(metrics: &Metrics, pool: &VuPool<V>) {
    metrics.record_untagged(&[
        (builtin::VUS, pool.active() as f64),
        (builtin::VUS_MAX, pool.made() as f64),
    ]);
}

/// Samples `vus` every second and evaluates thresholds every two, aborting the test when an
/// `abortOnFail` threshold fails.
fn spawn_watcher(
    metrics: Metrics,
    pool: Arc<VuPool<Vu>>,
    control: Control,
    mut thresholds: Thresholds,
    log: Logger,
    started: Instant,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The first sample once the scenarios have taken their VUs, then one a second.
        let first = tokio::time::Instant::now() + Duration::from_millis(50);
        let mut tick = tokio::time::interval_at(first, Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut n = 0u64;
        loop {
            tick.tick().await;
            n += 1;
            record_vus(&metrics, &pool);
            if n.is_multiple_of(2) && thresholds.list.iter().any(|t| t.abort_on_fail) {
                let eval = thresholds.evaluate(&metrics.store(), started.elapsed());
                if let Some(why) = eval.abort {
                    log.log(
                        Level::Error,
                        &format!("{why}; aborting the test (abortOnFail)"),
                        &[],
                    );
                    control.stop(Stop::Threshold(why), true);
                }
            }
        }
    })
}

fn spawn_signal_handler(control: Control, log: Logger) {
    use tokio::signal::unix::{signal, SignalKind};
    tokio::spawn(async move {
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        let mut count = 0;
        loop {
            let name = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
            count += 1;
            if count == 1 {
                log.log(
                    Level::Warn,
                    &format!("{name} received: stopping gracefully (running iterations get their gracefulStop); send it again to stop now"),
                    &[],
                );
                control.stop(Stop::Signal(name.to_owned()), false);
            } else {
                log.log(
                    Level::Warn,
                    &format!("{name} received again: stopping now"),
                    &[],
                );
                control.interrupt();
            }
        }
    });
}
