//! The command line, with k6's flag names.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use stampede_runtime::executor::{Segment, SegmentSequence};
use stampede_runtime::options::{
    parse_flag_duration, parse_stage, Dur, Options, Stage, ThresholdSpec,
};
use stampede_runtime::output::registry::{self, OutputSpec};
use stampede_runtime::output::summary_text::SummaryMode;
use stampede_runtime::thresholds::split_flag;

use crate::k6_flags::{GlobalFlags, K6Flags};

/// A load tester whose virtual users are WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "stampede", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// k6's global flags, given before the command (`stampede -q run …`, as `k6 -q run …`).
    #[command(flatten)]
    pub before: BeforeCommand,
}

/// Flags k6 takes before its command too.
#[derive(Debug, Args)]
pub struct BeforeCommand {
    /// No start-up banner or progress.
    #[arg(short, long)]
    pub quiet: bool,
    /// Also log debug messages.
    #[arg(short, long)]
    pub verbose: bool,
    /// A JSON file of options.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub global: GlobalFlags,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a load test: SCRIPT is a .wasm component or a Rust script crate directory.
    Run(Box<RunArgs>),
    /// Serve the built-in HTTP target (for demos and tests).
    Serve(ServeArgs),
    /// Find the highest load SCRIPT's service carries within its SLOs.
    Capacity(Box<crate::capacity::CapacityArgs>),
    /// Start the built-in target on a free loopback port and run the quickstart against it
    /// (`demo capacity`: search its service of known capacity).
    Demo(DemoArgs),
    /// Create a script project that runs as generated.
    New(NewArgs),
    /// Run a test on Kubernetes, split between pods.
    Kubernetes(Box<crate::kubernetes::KubernetesArgs>),
    /// Merge the partial results (--out partial=FILE) of a test split with execution
    /// segments: the summary, exports, thresholds and exit code of the whole test.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The partial result files, one per instance (every segment of the test, once).
    #[arg(value_name = "PARTIAL", required = true)]
    pub parts: Vec<PathBuf>,
    /// Write the end-of-test summary as JSON (k6's format) to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary_export: Option<PathBuf>,
    /// How much the summary shows.
    #[arg(long, value_enum, default_value = "compact")]
    pub summary_mode: Mode,
    /// Statistics of trends in the summary, comma-separated (default: the test's).
    #[arg(long, value_name = "STATS", value_delimiter = ',')]
    pub summary_trend_stats: Vec<String>,
    /// Do not print the summary.
    #[arg(long)]
    pub no_summary: bool,
    /// Do not evaluate thresholds.
    #[arg(long)]
    pub no_thresholds: bool,
    /// Wait up to DURATION for the files to appear (instances still running).
    #[arg(long, value_name = "DURATION", value_parser = parse_dur)]
    pub wait: Option<Dur>,
    /// No banner.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Lang {
    Rust,
    Js,
    Python,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The project's directory (created; must not exist or be empty).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The script's language.
    #[arg(long, value_enum, default_value = "rust")]
    pub lang: Lang,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Serve HTTPS, with a self-signed certificate made at start (ALPN h2, http/1.1);
    /// without it, plain HTTP/1.1 and HTTP/2 with prior knowledge (h2c).
    #[arg(long)]
    pub tls: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DemoKind {
    /// The quickstart, with VUs for a duration.
    Quickstart,
    /// `stampede capacity` against a service of known capacity.
    Capacity,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Which demo.
    #[arg(value_enum, default_value = "quickstart")]
    pub what: DemoKind,
    /// How long the demo runs (default 10s); for `capacity`, each step (default 2s).
    #[arg(short, long, value_parser = parse_dur)]
    pub duration: Option<Dur>,
    /// Number of VUs.
    #[arg(short = 'u', long, default_value_t = 20)]
    pub vus: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Compact,
    Full,
    /// No summary, printed or exported (k6's `--summary-mode disabled`).
    Disabled,
}

impl From<Mode> for SummaryMode {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Compact | Mode::Disabled => SummaryMode::Compact,
            Mode::Full => SummaryMode::Full,
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The script: a WebAssembly component (.wasm), or a directory with a Rust script crate,
    /// which is built for wasm32-wasip2 first.
    #[arg(value_name = "SCRIPT")]
    pub script: PathBuf,

    /// Number of VUs of the default scenario.
    #[arg(short = 'u', long, value_name = "N")]
    pub vus: Option<u64>,
    /// How long the default scenario runs (e.g. 30s, 1m30s).
    #[arg(short, long, value_name = "DURATION", value_parser = parse_dur)]
    pub duration: Option<Dur>,
    /// Iterations shared by the default scenario's VUs.
    #[arg(short, long, value_name = "N")]
    pub iterations: Option<u64>,
    /// A ramping stage DURATION:TARGET (repeatable, or comma-separated), e.g. -s 30s:10 -s 1m:10
    /// -s 10s:0.
    #[arg(short, long = "stage", value_name = "DURATION:TARGET", value_parser = parse_stage, value_delimiter = ',')]
    pub stages: Vec<Stage>,
    /// A variable for the script, NAME=VALUE (repeatable; NAME alone is empty).
    #[arg(short, long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Pass the system environment to the script, under -e ones (default true, as in k6;
    /// --include-system-env-vars=false to keep it out).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub include_system_env_vars: Option<bool>,
    /// A JSON file of options (the same schema as the script's options).
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A threshold 'METRIC: EXPRESSION' added to the others (the script's, the config file's…;
    /// repeatable), e.g.
    /// 'http_req_duration: p(95)<250' or 'http_req_duration{status:200}: max<1000'.
    #[arg(long = "threshold", value_name = "METRIC: EXPRESSION")]
    pub thresholds: Vec<String>,
    /// Do not evaluate thresholds.
    #[arg(long)]
    pub no_thresholds: bool,
    /// Write the end-of-test summary as JSON (k6's format) to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary_export: Option<PathBuf>,
    /// Send results to an output, NAME[=ARG] (repeatable): json=FILE, csv[=FILE],
    /// experimental-prometheus-rw, opentelemetry, web-dashboard=export=FILE.html, and
    /// partial=FILE (this instance's partial result for `stampede merge`).
    #[arg(short, long = "out", value_name = "NAME[=ARG]")]
    pub out: Vec<String>,
    /// Write the HTML report to FILE at the end (as --out web-dashboard=export=FILE).
    #[arg(long, value_name = "FILE", env = "STAMPEDE_WEB_DASHBOARD_EXPORT")]
    pub report: Option<PathBuf>,
    /// Write the thresholds as JUnit XML to FILE at the end.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// With --junit, a test case per check too.
    #[arg(long, requires = "junit")]
    pub junit_checks: bool,
    /// A tag added to every sample, NAME=VALUE (repeatable).
    #[arg(long = "tag", value_name = "NAME=VALUE", value_parser = parse_kv)]
    pub tags: Vec<(String, String)>,
    /// How much the summary shows; `disabled` neither prints nor exports it.
    #[arg(long, value_enum, default_value = "compact")]
    pub summary_mode: Mode,
    /// Statistics of trends in the summary, comma-separated (default avg,min,med,max,p(90),p(95)).
    #[arg(long, value_name = "STATS", value_delimiter = ',')]
    pub summary_trend_stats: Vec<String>,
    /// Do not print the summary.
    #[arg(long)]
    pub no_summary: bool,
    /// No start-up banner or progress.
    #[arg(short, long)]
    pub quiet: bool,
    /// Also log debug messages.
    #[arg(short, long)]
    pub verbose: bool,
    /// Skip setup().
    #[arg(long)]
    pub no_setup: bool,
    /// Skip teardown().
    #[arg(long)]
    pub no_teardown: bool,
    /// Accept any TLS certificate.
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// Redirects followed by default.
    #[arg(long, value_name = "N")]
    pub max_redirects: Option<u32>,
    /// Default User-Agent header.
    #[arg(long, value_name = "UA")]
    pub user_agent: Option<String>,
    /// Timeout of requests that set none (default 60s).
    #[arg(long, value_name = "DURATION", value_parser = parse_dur)]
    pub http_timeout: Option<Dur>,
    /// Do not hand response bodies to the script (they are still read and counted).
    #[arg(long)]
    pub discard_response_bodies: bool,
    /// HTTP version of requests that set none: auto (HTTP/2 when the TLS handshake picks
    /// it), 1.1, or 2 (h2c with prior knowledge on http://).
    #[arg(long, value_name = "VERSION")]
    pub http_version: Option<String>,
    /// Block requests to these host names, comma-separated (*.example.com matches subdomains).
    #[arg(long, value_name = "HOSTS", value_delimiter = ',')]
    pub block_hostnames: Vec<String>,
    /// Block requests to this address block (CIDR; repeatable or comma-separated).
    #[arg(long = "blacklist-ip", value_name = "CIDR", value_delimiter = ',')]
    pub blacklist_ips: Vec<String>,
    /// Largest memory of a VU, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 128)]
    pub vu_memory_limit: u64,
    /// Do not use or fill the cache of built and compiled scripts.
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub k6: K6Flags,
    #[command(flatten)]
    pub global: GlobalFlags,
    /// Run only this part of the test, FROM:TO (e.g. 1/4:2/4, 25%:50%, 0.25:0.5): its share of
    /// every scenario's VUs and iterations, as k6 splits them.
    #[arg(long, value_name = "FROM:TO", value_parser = Segment::parse)]
    pub execution_segment: Option<Segment>,
    /// All the parts the test is split into, e.g. 0,1/4,2/4,3/4,1: the instances' shares
    /// interleave by it.
    #[arg(long, value_name = "0,R1,…,1", value_parser = SegmentSequence::parse)]
    pub execution_segment_sequence: Option<SegmentSequence>,
    /// Run the INDEX-th part (from 0) of --execution-segment-sequence (e.g. a Kubernetes
    /// Indexed Job's completion index).
    #[arg(long, value_name = "INDEX")]
    pub execution_segment_index: Option<u64>,
    /// Hold the test, once its VUs are made and setup() has run, until TIME (RFC 3339, or
    /// +DURATION from now): instances started apart begin the load together.
    #[arg(long, value_name = "TIME")]
    pub start_at: Option<String>,
    /// Skip setup() and use the data in FILE, waiting for it up to setupTimeout. With
    /// --export-setup-data naming the same FILE, the instance whose segment starts at 0 runs
    /// setup() and teardown() and writes FILE; the others read it.
    #[arg(long, value_name = "FILE")]
    pub setup_data: Option<PathBuf>,
    /// Write setup()'s data to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_setup_data: Option<PathBuf>,
}

fn parse_dur(s: &str) -> Result<Dur, String> {
    parse_flag_duration(s).map(Dur)
}

/// `-e NAME=VALUE`, or `NAME` alone for an empty value, as k6 reads it; names as k6 allows.
fn parse_env(s: &str) -> Result<(String, String), String> {
    let (name, value) = s.split_once('=').unwrap_or((s, ""));
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "invalid environment variable name `{name}`: letters, digits and `_`, not starting with a digit"
        ));
    }
    Ok((name.to_owned(), value.to_owned()))
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

impl RunArgs {
    /// The options these flags set.
    pub fn options(&self) -> Result<Options, String> {
        let mut o = Options {
            vus: self.vus,
            duration: self.duration,
            iterations: self.iterations,
            stages: (!self.stages.is_empty()).then(|| self.stages.clone()),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify.then_some(true),
            max_redirects: self.max_redirects,
            user_agent: self.user_agent.clone(),
            http_timeout: self.http_timeout,
            http_version: self.http_version.clone(),
            discard_response_bodies: self.discard_response_bodies.then_some(true),
            no_setup: self.no_setup.then_some(true),
            no_teardown: self.no_teardown.then_some(true),
            block_hostnames: (!self.block_hostnames.is_empty())
                .then(|| self.block_hostnames.clone()),
            blacklist_ips: (!self.blacklist_ips.is_empty()).then(|| self.blacklist_ips.clone()),
            summary_trend_stats: (!self.summary_trend_stats.is_empty())
                .then(|| self.summary_trend_stats.clone()),
            execution_segment: self.execution_segment,
            execution_segment_sequence: self.execution_segment_sequence.clone(),
            execution_segment_index: self.execution_segment_index,
            ..Options::default()
        };
        if !self.tags.is_empty() {
            o.tags = Some(self.tags.iter().cloned().collect());
        }
        self.k6.apply(&mut o);
        Ok(o)
    }

    /// The `--threshold` flags, per metric.
    pub fn thresholds(&self) -> Result<BTreeMap<String, Vec<ThresholdSpec>>, String> {
        let mut map: BTreeMap<String, Vec<ThresholdSpec>> = BTreeMap::new();
        for flag in &self.thresholds {
            let (metric, expr) = split_flag(flag)?;
            map.entry(metric)
                .or_default()
                .push(ThresholdSpec::Short(expr));
        }
        Ok(map)
    }

    /// The outputs: every `--out`, then the report flags.
    pub fn outputs(&self) -> Result<Vec<OutputSpec>, String> {
        let mut specs = self
            .out
            .iter()
            .map(|o| OutputSpec::parse(o))
            .collect::<Result<Vec<_>, _>>()?;
        // As k6's K6_SUMMARY_EXPORT; and k6 writes no export when the summary is disabled.
        let export = self
            .summary_export
            .clone()
            .or_else(|| std::env::var_os("STAMPEDE_SUMMARY_EXPORT").map(PathBuf::from))
            .filter(|_| !self.summary_disabled());
        if let Some(path) = &export {
            specs.push(OutputSpec::report(registry::report::SUMMARY_EXPORT, path));
        }
        if let Some(path) = &self.report {
            specs.push(OutputSpec {
                name: registry::WEB_DASHBOARD.into(),
                arg: Some(format!("export={}", path.display())),
            });
        }
        if let Some(path) = &self.junit {
            let name = if self.junit_checks {
                registry::report::JUNIT_CHECKS
            } else {
                registry::report::JUNIT
            };
            specs.push(OutputSpec::report(name, path));
        }
        // In a GitHub Actions step, the report goes to the job summary too.
        if let Some(path) = std::env::var_os(stampede_runtime::output::github::VAR) {
            if !path.is_empty() {
                specs.push(OutputSpec::report(
                    registry::report::GITHUB,
                    std::path::Path::new(&path),
                ));
            }
        }
        Ok(specs)
    }

    /// The `--out partial=FILE` path, if given.
    pub fn partial_out(&self) -> Result<Option<PathBuf>, String> {
        let mut path = None;
        for out in &self.out {
            match out.split_once('=') {
                Some(("partial", p)) if !p.is_empty() => path = Some(PathBuf::from(p)),
                Some(("partial", _)) => {
                    return Err("--out partial needs a file: --out partial=part-0.json".into())
                }
                _ => {}
            }
        }
        Ok(path)
    }

    /// The summary mode.
    pub fn summary_mode(&self) -> SummaryMode {
        self.summary_mode.into()
    }

    /// Whether the summary is neither printed nor exported (`--summary-mode disabled`).
    pub fn summary_disabled(&self) -> bool {
        self.summary_mode == Mode::Disabled
    }

    /// Takes the flags given before the command (`stampede -q run …`).
    pub fn take_before(&mut self, before: BeforeCommand) {
        self.quiet |= before.quiet;
        self.verbose |= before.verbose;
        if self.config.is_none() {
            self.config = before.config;
        }
        self.global.merge(before.global);
    }
}
