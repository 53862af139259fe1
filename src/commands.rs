//! What each subcommand does.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use stampede_runtime::instance::Handover;
use stampede_runtime::log::{Level, Logger};
use stampede_runtime::options::{format_duration, from_env, Dur, Options, Source};
use stampede_runtime::output::registry::{self, OutputSpec};
use stampede_runtime::output::summary_text::{self, SummaryMode};
use stampede_runtime::output::Report;
use stampede_runtime::run::lifecycle::ScriptSummary;
use stampede_runtime::run::{self, exit, Banner, OnStart, TestSpec};
use stampede_runtime::serve::{Security, Server};

use crate::cli::{Cli, Command, DemoArgs, DemoKind, MergeArgs, RunArgs, ServeArgs};
use crate::k6_flags::{bool_env, log_output};
use crate::script;

/// The quickstart example, compiled by build.rs (empty if the build skipped it).
pub(crate) const QUICKSTART: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/quickstart.wasm"));

/// Runs the command line; returns the exit code.
pub fn run(cli: Cli) -> i32 {
    // This runtime schedules, watches and reports; the VUs run on threads of their own (see
    // stampede_runtime::workers), so it needs little.
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(1);
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let Cli { command, before } = cli;
    match command {
        Command::Run(mut args) => {
            args.take_before(before);
            runtime.block_on(run_test(*args))
        }
        Command::Capacity(args) => runtime.block_on(crate::capacity::run(*args)),
        Command::Serve(args) => runtime.block_on(serve(args)),
        Command::Demo(args) => runtime.block_on(demo(args)),
        Command::Merge(args) => merge(args),
        Command::Kubernetes(args) => runtime.block_on(crate::kubernetes::run(*args)),
        Command::New(args) => {
            match crate::new::create(&crate::new::target(&args.name), args.lang) {
                Ok(run) => {
                    eprintln!("created {}; run it with:\n\n    {run}\n", args.name);
                    0
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    1
                }
            }
        }
    }
}

/// `STAMPEDE_VU_THREADS`: threads that run VUs (default: one per core).
pub(crate) fn vu_threads() -> usize {
    std::env::var("STAMPEDE_VU_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn fail(log: &Logger, message: &str, code: i32) -> i32 {
    log.log(Level::Error, message, &[]);
    code
}

async fn run_test(args: RunArgs) -> i32 {
    let level = if args.verbose {
        Level::Debug
    } else {
        Level::Info
    };
    let (log, log_notice) = log_output(args.global.log_output.as_deref(), level);
    if let Some(n) = log_notice {
        log.log(Level::Warn, &n, &[]);
    }
    let spec = match prepare(&args, log.clone()) {
        Ok(spec) => spec,
        Err(message) => return fail(&log, &message, exit::INVALID_CONFIG),
    };
    execute(spec, &log, !args.no_summary && !args.summary_disabled()).await
}

/// Prints the summary (in `mode`, unless `None`) and the closing log lines of a test.
fn report_end(report: &Report, log: &Logger, mode: Option<SummaryMode>) {
    if let Some(mode) = mode {
        print!("{}", summary_text::render(report, mode));
    }
    if let Some(why) = &report.stopped {
        log.log(Level::Warn, why, &[]);
    }
    if !report.thresholds_ok() {
        // As k6: the metrics whose thresholds failed, sorted, in one line.
        let mut crossed: Vec<&str> = report
            .thresholds
            .iter()
            .filter(|t| !t.ok)
            .map(|t| t.metric.as_str())
            .collect();
        crossed.sort_unstable();
        crossed.dedup();
        let names = crossed.join(", ");
        let line = format!("thresholds on metrics '{names}' have been crossed");
        log.log(Level::Error, &line, &[]);
    }
}

/// Runs the test, prints its summary (with `summary`), and returns the exit code.
async fn execute(spec: TestSpec, log: &Logger, summary: bool) -> i32 {
    let mode = spec.summary_mode;
    match run::run(spec).await {
        Ok(outcome) => {
            if let Some(report) = &outcome.report {
                let printed = match &outcome.summary {
                    ScriptSummary::Normal => summary.then_some(mode),
                    ScriptSummary::Outputs(outputs) => {
                        crate::summary::write(outputs, log);
                        None
                    }
                };
                report_end(report, log, printed);
            }
            outcome.exit_code
        }
        Err(failure) => fail(log, &failure.message, failure.exit_code),
    }
}

/// The banner k6 prints before a test, on stderr.
fn banner(b: &Banner<'_>) {
    eprintln!("\n     execution: local");
    eprintln!("        script: {}", b.script);
    if b.outputs.is_empty() {
        eprintln!("        output: -");
    }
    for o in &b.outputs {
        eprintln!("        output: {o}");
    }
    // A split test says which part this instance runs, as k6 does.
    let share = match b.scenarios.first().map(|s| &s.tuple) {
        Some(t) if !t.is_full() => format!(
            "({:.2}%, segment {}) ",
            t.segment().length().as_f64() * 100.0,
            t.segment()
        ),
        _ => "(100.00%) ".to_owned(),
    };
    eprintln!(
        "\n     scenarios: {share}{} scenario{}, {} max VUs, {} max duration (incl. graceful stop):",
        b.scenarios.len(),
        if b.scenarios.len() == 1 { "" } else { "s" },
        b.max_vus,
        format_duration(b.max_duration)
    );
    // In k6's order: by start time, then by name.
    let mut scenarios: Vec<_> = b.scenarios.iter().collect();
    scenarios.sort_by(|a, b| (a.start_time, &a.name).cmp(&(b.start_time, &b.name)));
    for s in scenarios {
        eprintln!("              * {}", s.describe());
    }
    eprintln!();
}

/// The banner, unless `quiet`.
fn on_start(quiet: bool) -> Option<OnStart> {
    (!quiet).then(|| Box::new(|b: &Banner<'_>| banner(b)) as OnStart)
}

/// Whether to draw the live progress: not quiet, and stderr is a terminal.
fn progress(quiet: bool) -> bool {
    use std::io::IsTerminal;
    !quiet && std::io::stderr().is_terminal()
}

pub(crate) fn prepare(args: &RunArgs, log: Logger) -> Result<TestSpec, String> {
    for n in args.global.notices().into_iter().chain(args.k6.notices()?) {
        log.log(Level::Warn, &n, &[]);
    }
    if args.global.no_color {
        stampede_runtime::output::summary_data::set_no_color();
    }
    let mut cli_options = args.options()?;
    let extra_thresholds = args.thresholds()?;
    if !extra_thresholds.is_empty() {
        cli_options.thresholds = Some(extra_thresholds);
    }
    let outputs = args.outputs()?;
    let start_at = args
        .start_at
        .as_deref()
        .map(|t| stampede_runtime::instance::parse_start_at(t, std::time::SystemTime::now()))
        .transpose()?;
    let config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
            let source = Source::ConfigFile(path.display().to_string());
            let (options, notices) = Options::parse_layer(&text, &source)?;
            for n in notices {
                log.log(Level::Warn, &n, &[]);
            }
            Some((path.display().to_string(), options))
        }
        None => None,
    };
    let env_options = from_env(std::env::vars())?;
    let mut env = BTreeMap::new();
    // As in k6, the system environment is the script's unless the flag or its variable
    // (k6's K6_INCLUDE_SYSTEM_ENV_VARS) says otherwise.
    let include = match args.include_system_env_vars {
        Some(v) => v,
        None => bool_env("STAMPEDE_INCLUDE_SYSTEM_ENV_VARS")?.unwrap_or(true),
    };
    if include {
        env.extend(std::env::vars());
    }
    env.extend(args.env.iter().cloned());
    let loaded = script::load(&args.script, args.quiet, args.no_cache)?;
    Ok(TestSpec {
        wasm: loaded.wasm,
        files: loaded.files,
        script: loaded.name,
        config,
        env_options,
        cli_options,
        env,
        no_thresholds: args.no_thresholds || bool_env("STAMPEDE_NO_THRESHOLDS")?.unwrap_or(false),
        outputs,
        process_env: std::env::vars().collect(),
        handover: Handover {
            start_at,
            setup_data: args.setup_data.clone(),
            export_setup_data: args.export_setup_data.clone(),
        },
        summary_mode: args.summary_mode(),
        handle_summary: !args.no_summary && !args.summary_disabled(),
        progress: progress(args.quiet),
        on_start: on_start(args.quiet),
        vu_memory_limit: args.vu_memory_limit << 20,
        cache_dir: (!args.no_cache).then(script::cache_dir).flatten(),
        vu_threads: vu_threads(),
        handle_signals: true,
        log,
    })
}

fn merge(args: MergeArgs) -> i32 {
    let log = Logger::stderr(Level::Info);
    let mode: SummaryMode = args.summary_mode.into();
    let mut outputs = Vec::new();
    if let Some(path) = &args.summary_export {
        outputs.push(OutputSpec::report(registry::report::SUMMARY_EXPORT, path));
    }
    let spec = stampede_runtime::merge::MergeSpec {
        parts: args.parts,
        outputs,
        summary_mode: mode,
        no_thresholds: args.no_thresholds,
        summary_trend_stats: (!args.summary_trend_stats.is_empty())
            .then_some(args.summary_trend_stats),
        wait: args.wait.map(|d| d.0),
        quiet: args.quiet,
        log: log.clone(),
    };
    match stampede_runtime::merge::merge(spec) {
        Ok(outcome) => {
            if let Some(report) = &outcome.report {
                report_end(report, &log, (!args.no_summary).then_some(mode));
            }
            outcome.exit_code
        }
        Err(failure) => fail(&log, &failure.message, failure.exit_code),
    }
}

async fn serve(args: ServeArgs) -> i32 {
    let security = if args.tls {
        Security::Tls
    } else {
        Security::Plain
    };
    let server = match Server::start_with(args.listen, security).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            return 1;
        }
    };
    let protocols = if args.tls {
        "HTTP/1.1 and HTTP/2 by ALPN, self-signed certificate"
    } else {
        "HTTP/1.1, and HTTP/2 with prior knowledge"
    };
    eprintln!(
        "stampede's built-in target listening on {} ({protocols}; Ctrl+C to stop)",
        server.url()
    );
    let _ = tokio::signal::ctrl_c().await;
    eprintln!(
        "served {} requests on {} connections",
        server.stats().requests(),
        server.stats().connections()
    );
    0
}

async fn demo(args: DemoArgs) -> i32 {
    if let DemoKind::Capacity = args.what {
        return crate::capacity::demo(args.duration).await;
    }
    let duration = args
        .duration
        .unwrap_or(Dur(std::time::Duration::from_secs(10)));
    let log = Logger::stderr(Level::Info);
    if QUICKSTART.is_empty() {
        return fail(
            &log,
            "this stampede was built without the demo script (STAMPEDE_SKIP_GUEST_BUILD was set): \
             run `rustup target add wasm32-wasip2` and rebuild",
            1,
        );
    }
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("a valid address");
    let server = match Server::start(addr).await {
        Ok(s) => Arc::new(s),
        Err(e) => return fail(&log, &format!("cannot start the built-in target: {e}"), 1),
    };
    eprintln!(
        "\nstampede demo: the built-in target listens on {}; running examples/quickstart against it with {} VUs for {}.",
        server.url(),
        args.vus,
        duration
    );
    let mut env = BTreeMap::new();
    env.insert("BASE_URL".to_string(), server.url());
    let spec = TestSpec {
        wasm: QUICKSTART.to_vec(),
        files: None,
        script: "examples/quickstart (built in)".into(),
        config: None,
        env_options: Options::default(),
        cli_options: Options {
            vus: Some(args.vus),
            duration: Some(duration),
            ..Options::default()
        },
        env,
        no_thresholds: false,
        outputs: Vec::new(),
        process_env: BTreeMap::new(),
        handover: Handover::default(),
        summary_mode: SummaryMode::Compact,
        handle_summary: false,
        progress: progress(false),
        on_start: on_start(false),
        vu_memory_limit: run::DEFAULT_VU_MEMORY,
        cache_dir: script::cache_dir(),
        vu_threads: vu_threads(),
        handle_signals: true,

        log: log.clone(),
    };
    let code = execute(spec, &log, true).await;
    eprintln!("the target answered {} requests", server.stats().requests());
    code
}
