//! The command line, with k6's flag names.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use stampede_runtime::options::{parse_duration, parse_stage, Dur, Options, Stage, ThresholdSpec};
use stampede_runtime::output::registry::{self, OutputSpec};
use stampede_runtime::output::summary_text::SummaryMode;
use stampede_runtime::thresholds::split_flag;

/// A load tester whose virtual users are WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "stampede", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
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

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Mode {
    Compact,
    Full,
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
    /// A ramping stage DURATION:TARGET (repeatable), e.g. -s 30s:10 -s 1m:10 -s 10s:0.
    #[arg(short, long = "stage", value_name = "DURATION:TARGET", value_parser = parse_stage)]
    pub stages: Vec<Stage>,
    /// A variable for the script, NAME=VALUE (repeatable).
    #[arg(short, long = "env", value_name = "NAME=VALUE", value_parser = parse_kv)]
    pub env: Vec<(String, String)>,
    /// Pass the system environment to the script too (as k6's --include-system-env-vars).
    #[arg(long)]
    pub include_system_env_vars: bool,
    /// A JSON file of options (the same schema as the script's options).
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A threshold 'METRIC: EXPRESSION' added to the script's (repeatable), e.g.
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
    /// experimental-prometheus-rw, opentelemetry, web-dashboard=export=FILE.html.
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
    /// How much the summary shows.
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
}

fn parse_dur(s: &str) -> Result<Dur, String> {
    parse_duration(s).map(Dur)
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
            ..Options::default()
        };
        if !self.tags.is_empty() {
            o.tags = Some(self.tags.iter().cloned().collect());
        }
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
        if let Some(path) = &self.summary_export {
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

    /// The summary mode.
    pub fn summary_mode(&self) -> SummaryMode {
        match self.summary_mode {
            Mode::Compact => SummaryMode::Compact,
            Mode::Full => SummaryMode::Full,
        }
    }
}
