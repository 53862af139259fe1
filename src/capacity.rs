//! `stampede capacity` and `stampede demo capacity`: the flags, and the glue to the runtime's
//! search.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use stampede_runtime::capacity::command::{self, Request};
use stampede_runtime::capacity::{search, Model, Settings};
use stampede_runtime::log::{Level, Logger};
use stampede_runtime::options::{parse_duration, Dur, Options};
use stampede_runtime::run::{exit, TestSpec, DEFAULT_VU_MEMORY};
use stampede_runtime::serve::Server;

use crate::cli::RunArgs;

/// The demo's script, compiled by build.rs (empty if the build skipped it).
const CAPACITY_SCRIPT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/capacity.wasm"));

/// How load is offered.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModelArg {
    /// Iterations start at a rate, whatever happened to earlier ones (k6's arrival rate).
    Open,
    /// VUs loop, each waiting for its previous iteration.
    Closed,
}

#[derive(Debug, Args)]
pub struct CapacityArgs {
    /// An objective 'METRIC: EXPRESSION' in k6's threshold grammar (repeatable), e.g.
    /// 'http_req_duration: p(95)<250' or 'http_req_failed: rate<0.01'.
    #[arg(long = "slo", value_name = "METRIC: EXPRESSION")]
    pub slos: Vec<String>,
    /// Take the script's thresholds as objectives too.
    #[arg(long)]
    pub slo_from_thresholds: bool,
    /// open: iterations per second (the honest one for capacity); closed: looping VUs.
    #[arg(long, value_enum, default_value = "open")]
    pub model: ModelArg,
    /// The first load: iterations per second, or VUs with --model closed.
    #[arg(long, value_name = "RATE", default_value_t = 10.0)]
    pub start_rate: f64,
    /// The highest load tried.
    #[arg(long, value_name = "RATE")]
    pub max_rate: Option<f64>,
    /// How close the last good and first bad loads must end, e.g. 5%.
    #[arg(long, value_name = "PERCENT", default_value = "5%", value_parser = parse_percent)]
    pub precision: f64,
    /// The measured part of each step.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_dur)]
    pub step_duration: Dur,
    /// Load before each step's measured part, not judged (default: a fifth of --step-duration).
    #[arg(long, value_name = "DURATION", value_parser = parse_dur)]
    pub warm_up: Option<Dur>,
    /// Most VUs a step may use (open model); the most VUs tried (closed model).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_vus: u64,
    /// A CI gate: exit 99 unless the capacity is at least RATE.
    #[arg(long, value_name = "RATE")]
    pub min_capacity: Option<f64>,
    /// Write the answer, with every step, as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    /// The script's function each iteration calls.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub exec: String,
    #[command(flatten)]
    pub run: RunArgs,
}

fn parse_dur(s: &str) -> Result<Dur, String> {
    parse_duration(s).map(Dur)
}

/// A percentage: `5%` or `5`.
fn parse_percent(s: &str) -> Result<f64, String> {
    let n = s.trim().trim_end_matches('%');
    n.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| v / 100.0)
        .ok_or_else(|| format!("`{s}` is not a percentage, like 5%"))
}

/// How long iterations may run on after a step before they are interrupted.
const STEP_GRACEFUL_STOP: Duration = Duration::from_secs(10);

impl CapacityArgs {
    /// Flags of `stampede run` that set the load or report a single run: the search does both.
    fn refuse_run_flags(&self) -> Result<(), String> {
        let r = &self.run;
        let refused = [
            (r.vus.is_some(), "--vus", "the search chooses the load"),
            (r.duration.is_some(), "--duration", "use --step-duration"),
            (
                r.iterations.is_some(),
                "--iterations",
                "the search chooses the load",
            ),
            (
                !r.stages.is_empty(),
                "--stage",
                "the search chooses the load",
            ),
            (
                !r.thresholds.is_empty(),
                "--threshold",
                "give objectives with --slo",
            ),
            (
                r.no_thresholds,
                "--no-thresholds",
                "objectives are what a search is judged on",
            ),
            (
                r.summary_export.is_some(),
                "--summary-export",
                "use --export",
            ),
            (!r.out.is_empty(), "--out", "use --export"),
            (
                !r.summary_trend_stats.is_empty(),
                "--summary-trend-stats",
                "the answer shows p50, p95 and p99",
            ),
        ];
        match refused.iter().find(|(given, _, _)| *given) {
            Some((_, flag, instead)) => Err(format!(
                "{flag} does not apply to `stampede capacity`: {instead}"
            )),
            None => Ok(()),
        }
    }

    fn request(&self) -> Request {
        let model = match self.model {
            ModelArg::Open => Model::Open,
            ModelArg::Closed => Model::Closed,
        };
        let step = self.step_duration.0;
        Request {
            settings: Settings {
                model,
                search: search::Config {
                    start: self.start_rate,
                    max: self.max_rate.unwrap_or(f64::INFINITY),
                    precision: self.precision,
                    whole: model == Model::Closed,
                    ..search::Config::default()
                },
                step_duration: step,
                warm_up: self.warm_up.map_or(step / 5, |d| d.0),
                graceful_stop: STEP_GRACEFUL_STOP,
                max_vus: self.max_vus,
                min_capacity: self.min_capacity,
                exec: self.exec.clone(),
            },
            slos: self.slos.clone(),
            slo_from_thresholds: self.slo_from_thresholds,
            export: self.export.clone(),
            quiet: self.run.quiet,
        }
    }
}

async fn search(spec: TestSpec, request: Request, log: &Logger) -> i32 {
    match command::run(spec, request).await {
        Ok(outcome) => outcome.exit_code,
        Err(failure) => {
            log.log(Level::Error, &failure.message, &[]);
            failure.exit_code
        }
    }
}

/// `stampede capacity`.
pub async fn run(args: CapacityArgs) -> i32 {
    let log = Logger::stderr(if args.run.verbose {
        Level::Debug
    } else {
        Level::Info
    });
    let request = args.request();
    let checked = args
        .refuse_run_flags()
        .and_then(|()| request.validate())
        .and_then(|()| crate::commands::prepare(&args.run, log.clone()));
    match checked {
        Ok(spec) => search(spec, request, &log).await,
        Err(message) => {
            log.log(Level::Error, &message, &[]);
            exit::INVALID_CONFIG
        }
    }
}

/// `stampede demo capacity`: the built-in target's service of known capacity (4 workers of
/// 20 ms: 200 requests per second), found by a search.
pub async fn demo(step: Option<Dur>) -> i32 {
    let log = Logger::stderr(Level::Info);
    if CAPACITY_SCRIPT.is_empty() {
        log.log(
            Level::Error,
            "this stampede was built without the demo script (STAMPEDE_SKIP_GUEST_BUILD was set): \
             run `rustup target add wasm32-wasip2` and rebuild",
            &[],
        );
        return 1;
    }
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("a valid address");
    let server = match Server::start(addr).await {
        Ok(s) => Arc::new(s),
        Err(e) => {
            log.log(
                Level::Error,
                &format!("cannot start the built-in target: {e}"),
                &[],
            );
            return 1;
        }
    };
    let step = step.map_or(Duration::from_secs(2), |d| d.0);
    eprintln!(
        "\nstampede demo capacity: the built-in target listens on {}; /capacity?workers=4&ms=20 is a service \
         of 4 workers taking 20 ms per request, so it carries 200 requests per second. \
         examples/capacity searches for that with the script's thresholds as SLOs.",
        server.url()
    );
    let mut env = BTreeMap::new();
    env.insert("BASE_URL".to_string(), server.url());
    env.insert(
        "TARGET".to_string(),
        "/capacity?workers=4&ms=20".to_string(),
    );
    let spec = TestSpec {
        wasm: CAPACITY_SCRIPT.to_vec(),
        files: None,
        script: "examples/capacity (built in)".into(),
        config: None,
        env_options: Options::default(),
        cli_options: Options::default(),
        env,
        no_thresholds: false,
        handover: Default::default(),
        outputs: Vec::new(),
        process_env: BTreeMap::new(),
        summary_mode: Default::default(),
        handle_summary: false,
        progress: false,
        on_start: None,
        vu_memory_limit: DEFAULT_VU_MEMORY,
        cache_dir: crate::script::cache_dir(),
        vu_threads: crate::commands::vu_threads(),
        handle_signals: true,
        log: log.clone(),
    };
    let request = Request {
        settings: Settings {
            search: search::Config {
                start: 25.0,
                ..search::Config::default()
            },
            step_duration: step,
            warm_up: step / 4,
            graceful_stop: STEP_GRACEFUL_STOP,
            ..Settings::default()
        },
        slos: Vec::new(),
        slo_from_thresholds: true,
        export: None,
        quiet: false,
    };
    search(spec, request, &log).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages() {
        assert_eq!(parse_percent("5%"), Ok(0.05));
        assert_eq!(parse_percent("2.5"), Ok(0.025));
        assert!(parse_percent("five").is_err());
        assert!(parse_percent("NaN%").is_err());
    }
}
