//! k6's flags that `stampede run` takes as they are: the options they set, and a one-line
//! notice for those that have nothing to act on here (a REST API, Grafana Cloud, k6's own
//! JavaScript runtime…), so that a k6 command line runs unchanged.

use clap::Args;
use stampede_runtime::log::{Level, Logger};
use stampede_runtime::options::{parse_flag_duration, DnsOptions, Dur, Options};

/// k6's global flags, which k6 takes before or after the command.
#[derive(Debug, Default, Args)]
pub struct GlobalFlags {
    /// k6's REST API address (stampede has no REST API: accepted and ignored).
    #[arg(short = 'a', long, value_name = "ADDR")]
    pub address: Option<String>,
    /// Where the log goes: stderr (default), stdout, none, or file=PATH.
    #[arg(long, value_name = "OUTPUT")]
    pub log_output: Option<String>,
    /// k6's log format (stampede writes k6's default format: accepted and ignored).
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// No coloured output (stampede's output has no colours).
    #[arg(long)]
    pub no_color: bool,
    /// k6's pprof endpoints (accepted and ignored).
    #[arg(long)]
    pub profiling_enabled: bool,
    /// k6's secret sources (accepted and ignored).
    #[arg(long, value_name = "SOURCE")]
    pub secret_source: Vec<String>,
}

impl GlobalFlags {
    /// Takes what `other` (the same flags given in another place) sets.
    pub fn merge(&mut self, other: GlobalFlags) {
        self.address = self.address.take().or(other.address);
        self.log_output = self.log_output.take().or(other.log_output);
        self.log_format = self.log_format.take().or(other.log_format);
        self.no_color |= other.no_color;
        self.profiling_enabled |= other.profiling_enabled;
        self.secret_source.extend(other.secret_source);
    }

    /// A line for each flag that changes nothing here.
    pub fn notices(&self) -> Vec<String> {
        let mut n = Vec::new();
        if self.address.is_some() {
            n.push(ignored("--address", "stampede has no REST API"));
        }
        if self.log_format.as_deref().is_some_and(|f| !f.is_empty()) {
            n.push(ignored(
                "--log-format",
                "stampede writes k6's default log format",
            ));
        }
        if self.profiling_enabled {
            n.push(ignored("--profiling-enabled", "stampede has no REST API"));
        }
        if !self.secret_source.is_empty() {
            n.push(ignored("--secret-source", "stampede has no secret sources"));
        }
        n
    }
}

fn ignored(flag: &str, why: &str) -> String {
    format!("{flag} is ignored: {why}")
}

/// k6's options flags that stampede's own flags do not already cover.
#[derive(Debug, Default, Args)]
pub struct K6Flags {
    /// Batch requests in flight at once, per call (default 20).
    #[arg(long, value_name = "N")]
    pub batch: Option<u64>,
    /// Batch requests in flight at once to one host, per call (default 6).
    #[arg(long, value_name = "N")]
    pub batch_per_host: Option<u64>,
    /// Most requests per second in the whole test.
    #[arg(long, value_name = "N")]
    pub rps: Option<u64>,
    /// Log every request and response; `--http-debug=full` with bodies.
    #[arg(long, value_name = "MODE", num_args = 0..=1, default_missing_value = "headers", require_equals = true)]
    pub http_debug: Option<String>,
    /// Close every connection after its request (no keep-alive).
    #[arg(long)]
    pub no_connection_reuse: bool,
    /// Do not reuse a VU's connections from one iteration to the next.
    #[arg(long)]
    pub no_vu_connection_reuse: bool,
    /// Shortest time an iteration takes: a shorter one is followed by a pause.
    #[arg(long, value_name = "DURATION", value_parser = flag_dur)]
    pub min_iteration_duration: Option<Dur>,
    /// A failed request (no response) ends the iteration with an error.
    #[arg(short = 'w', long)]
    pub throw: bool,
    /// The unit of every time in the summary: s, ms or us.
    #[arg(long, value_name = "UNIT")]
    pub summary_time_unit: Option<String>,
    /// Only these system tags on samples, comma-separated (`""` for none).
    #[arg(long, value_name = "TAGS")]
    pub system_tags: Option<String>,
    /// Write the script's log lines (console, stdout, stderr) to FILE.
    #[arg(long, value_name = "FILE")]
    pub console_output: Option<String>,
    /// DNS resolution: ttl=5m,select=random,policy=preferIPv4 (any of the three).
    #[arg(long, value_name = "CONFIG", value_parser = DnsOptions::parse_text)]
    pub dns: Option<DnsOptions>,
    /// Local addresses VUs send from, e.g. 192.168.0.10-192.168.0.25,fd:1::0/120 (VU n
    /// uses the nth).
    #[arg(long, value_name = "IPS")]
    pub local_ips: Option<String>,
    /// Start the test paused (stampede has no REST API to resume it: ignored).
    #[arg(short = 'p', long)]
    pub paused: bool,
    /// k6's JavaScript compatibility mode, extended or base (stampede's engine runs both).
    #[arg(long, value_name = "MODE")]
    pub compatibility_mode: Option<String>,
    /// k6's test type, js or archive (the script's extension says which it is).
    #[arg(short = 't', long = "type", value_name = "TYPE")]
    pub test_type: Option<String>,
    /// k6's new machine-readable summary (accepted and ignored).
    #[arg(long)]
    pub new_machine_readable_summary: bool,
    /// k6's traces output (accepted and ignored).
    #[arg(long, value_name = "OUTPUT")]
    pub traces_output: Option<String>,
    /// Keep k6's REST API alive after the test (stampede has none: ignored).
    #[arg(short = 'l', long)]
    pub linger: bool,
    /// Do not send k6's usage report (stampede sends none).
    #[arg(long)]
    pub no_usage_report: bool,
    /// k6's feature flags (accepted and ignored).
    #[arg(long, value_name = "FLAGS")]
    pub features: Vec<String>,
}

fn flag_dur(s: &str) -> Result<Dur, String> {
    parse_flag_duration(s).map(Dur)
}

impl K6Flags {
    /// Sets the options these flags give in `o`.
    pub fn apply(&self, o: &mut Options) {
        o.batch = self.batch;
        o.batch_per_host = self.batch_per_host;
        o.rps = self.rps;
        o.http_debug = self.http_debug.clone();
        o.no_connection_reuse = self.no_connection_reuse.then_some(true);
        o.no_vu_connection_reuse = self.no_vu_connection_reuse.then_some(true);
        o.min_iteration_duration = self.min_iteration_duration;
        o.throw = self.throw.then_some(true);
        o.summary_time_unit = self.summary_time_unit.clone();
        // k6 reads `--system-tags ""` (the quotes included, as a shell passes them from a
        // script) as no tags at all.
        o.system_tags = self.system_tags.as_ref().map(|s| {
            s.trim_matches('"')
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        });
        o.console_output = self.console_output.clone();
        o.dns = self.dns.clone();
        o.local_ips = self.local_ips.clone();
    }

    /// A line for each flag that changes nothing here, or an error for a value k6 refuses.
    pub fn notices(&self) -> Result<Vec<String>, String> {
        let mut n = Vec::new();
        if self.paused {
            n.push(ignored(
                "--paused",
                "stampede has no REST API to resume a paused test; it starts at once",
            ));
        }
        if let Some(mode) = &self.compatibility_mode {
            if !matches!(mode.as_str(), "extended" | "base" | "experimental_enhanced") {
                return Err(format!(
                    "invalid --compatibility-mode `{mode}`: extended or base"
                ));
            }
        }
        match self.test_type.as_deref() {
            None | Some("js") => {}
            Some("archive") => n.push(ignored(
                "--type archive",
                "stampede runs scripts, not k6 archives",
            )),
            Some(other) => return Err(format!("invalid --type `{other}`: js or archive")),
        }
        if self.new_machine_readable_summary {
            n.push(ignored(
                "--new-machine-readable-summary",
                "stampede writes k6's summary export",
            ));
        }
        if self.traces_output.as_deref().is_some_and(|t| t != "none") {
            n.push(ignored(
                "--traces-output",
                "stampede does not export traces",
            ));
        }
        if self.linger {
            n.push(ignored(
                "--linger",
                "stampede has no REST API to keep alive",
            ));
        }
        if !self.features.is_empty() {
            n.push(ignored("--features", "k6's feature flags"));
        }
        Ok(n)
    }
}

/// The log, where k6's `--log-output` says: stderr (the default), stdout, none or
/// file=PATH; anything else (Loki) is noted and logs to stderr.
pub fn log_output(output: Option<&str>, level: Level) -> (Logger, Option<String>) {
    let stderr = || Logger::stderr(level);
    match output.map(str::trim) {
        None | Some("") | Some("stderr") => (stderr(), None),
        Some("stdout") => (Logger::to_writer(level, Box::new(std::io::stdout())), None),
        Some("none") => (Logger::to_writer(level, Box::new(std::io::sink())), None),
        Some(other) => match other.strip_prefix("file") {
            Some(rest) => {
                // k6's form: file[=PATH][,level=…]; its default file is ./k6.log.
                let path = rest.strip_prefix('=').unwrap_or("k6.log");
                let path = path.split(',').next().unwrap_or("k6.log");
                match std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                {
                    Ok(f) => (
                        Logger::to_writer(level, Box::new(std::io::LineWriter::new(f))),
                        None,
                    ),
                    Err(e) => (
                        stderr(),
                        Some(format!(
                            "--log-output: cannot write {path}: {e}; logging to stderr"
                        )),
                    ),
                }
            }
            None => (
                stderr(),
                Some(format!(
                    "--log-output {other} is not supported: logging to stderr"
                )),
            ),
        },
    }
}

/// A true/false variable, as k6 reads its `K6_*` ones.
pub fn bool_env(name: &str) -> Result<Option<bool>, String> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(v) => match v.trim().to_ascii_lowercase().as_str() {
            "1" | "t" | "true" => Ok(Some(true)),
            "0" | "f" | "false" | "" => Ok(Some(false)),
            _ => Err(format!("{name}={v}: expected true or false")),
        },
    }
}
