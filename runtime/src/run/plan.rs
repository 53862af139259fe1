//! Planning: from layers of options to what a test will run — the scenarios, the thresholds
//! and the settings. Pure: no I/O, nothing declared anywhere; every mistake is a
//! [`Failure`] with exit code 104 that names what is wrong.

use std::time::Duration;

use stampede_host_api::http::{ClientConfig, NetPolicy, TlsSettings};

use super::Failure;
use crate::executor::{self, ExecutionTuple, ScenarioConfig};
use crate::metrics::Registry;
use crate::options::{Options, Source};
use crate::output::TrendStat;
use crate::settings::K6Run;
use crate::thresholds::{ThresholdDef, Thresholds};

/// `setupTimeout` and `teardownTimeout` when not set.
pub const DEFAULT_SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// `handleSummaryTimeout` when not set (k6's).
pub const DEFAULT_HANDLE_SUMMARY_TIMEOUT: Duration = Duration::from_secs(120);

/// Settings taken from the merged options.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Longest `setup()` may run.
    pub setup_timeout: Duration,
    /// Longest `teardown()` may run.
    pub teardown_timeout: Duration,
    /// Longest `handleSummary()` may run.
    pub handle_summary_timeout: Duration,
    /// The merged options as JSON (k6/execution's `test.options`).
    pub options_json: std::sync::Arc<str>,
    /// Skip `setup()`.
    pub no_setup: bool,
    /// Skip `teardown()`.
    pub no_teardown: bool,
    /// Trend statistics in the summary.
    pub trend_stats: Vec<TrendStat>,
    /// The HTTP client's settings.
    pub http: ClientConfig,
    /// Tags on every sample.
    pub tags: Vec<(String, String)>,
    /// What k6's options stampede took as they are set for the run.
    pub k6: K6Run,
    /// This instance's execution segment (the whole test, unless split): VUs are numbered in
    /// the whole test along it.
    pub tuple: ExecutionTuple,
    /// The script's entry points, in its order: an iteration names its scenario's `exec` by
    /// its index here. Set by [`plan`] (empty from [`settings`] alone).
    pub entry_points: std::sync::Arc<[String]>,
}

/// What a test will run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The merged options.
    pub options: Options,
    /// The scenarios.
    pub scenarios: Vec<ScenarioConfig>,
    /// The thresholds, parsed and checked (none with `--no-thresholds`).
    pub thresholds: Vec<ThresholdDef>,
    /// Settings from the options.
    pub settings: Settings,
    /// k6's warnings (a layer replaced another's scenarios, …) and notices of options taken
    /// but not used, one line each.
    pub notices: Vec<String>,
}

impl Plan {
    /// VUs the scenarios may use at once, at most.
    pub fn max_vus(&self) -> u64 {
        self.scenarios.iter().map(ScenarioConfig::max_vus).sum()
    }

    /// VUs made before the start.
    pub fn initial_vus(&self) -> u64 {
        self.scenarios.iter().map(ScenarioConfig::initial_vus).sum()
    }

    /// How long the test may run: the latest end of a scenario, with its graceful stop.
    pub fn max_duration(&self) -> Duration {
        max_duration(&self.scenarios)
    }
}

/// The latest end of any of `scenarios`, with its graceful stop.
pub fn max_duration(scenarios: &[ScenarioConfig]) -> Duration {
    scenarios
        .iter()
        .map(|s| s.start_time + s.max_run_time() + s.graceful_stop)
        .max()
        .unwrap_or_default()
}

/// The layers of options, lowest first: the config file, the script's, the environment's,
/// the command line's.
pub fn layers(
    config: Option<&(String, Options)>,
    script: Options,
    env: Options,
    cli: Options,
) -> Vec<(Source, Options)> {
    let mut layers = Vec::new();
    if let Some((path, o)) = config {
        layers.push((Source::ConfigFile(path.clone()), o.clone()));
    }
    layers.push((Source::Script, script));
    layers.push((Source::Env, env));
    layers.push((Source::Cli, cli));
    layers
}

/// Plans a test: merges `layers`, makes the scenarios (each must call one of
/// `entry_points`), and parses the thresholds against the metrics in `registry` (unless
/// `no_thresholds`).
pub fn plan(
    layers: Vec<(Source, Options)>,
    entry_points: &[String],
    registry: &Registry,
    no_thresholds: bool,
) -> Result<Plan, Failure> {
    let mut notices = Vec::new();
    let options = Options::merge_noting(layers, &mut notices).map_err(Failure::config)?;
    notices.extend(options.execution().map_err(Failure::config)?.1);
    let scenarios = executor::scenarios(&options).map_err(Failure::config)?;
    for s in &scenarios {
        if !entry_points.contains(&s.exec) {
            return Err(Failure::config(format!(
                "scenario `{}` calls `{}`, which the script does not export (it has: {})",
                s.name,
                s.exec,
                entry_points.join(", ")
            )));
        }
    }
    let mut settings = settings(&options)?;
    settings.entry_points = entry_points.into();
    notices.extend(settings.k6.notices.iter().cloned());
    let thresholds = match (&options.thresholds, no_thresholds) {
        (Some(t), false) => Thresholds::parse(t, registry).map_err(Failure::config)?,
        _ => Vec::new(),
    };
    let max_vus: u64 = scenarios.iter().map(ScenarioConfig::max_vus).sum();
    if u32::try_from(max_vus + 2).is_err() {
        return Err(Failure::config(format!(
            "{max_vus} VUs are more than stampede can run"
        )));
    }
    Ok(Plan {
        options,
        scenarios,
        thresholds,
        settings,
        notices,
    })
}

/// The settings `o` sets, with their defaults.
pub fn settings(o: &Options) -> Result<Settings, Failure> {
    let mut http = ClientConfig::default();
    if let Some(v) = o.insecure_skip_tls_verify {
        http.insecure_skip_tls_verify = v;
    }
    if let Some(v) = o.max_redirects {
        http.max_redirects = v;
        http.max_redirects_set = true;
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
    if let Some(v) = &o.http_version {
        http.http_version = v
            .parse()
            .map_err(|e| Failure::config(format!("invalid httpVersion: {e}")))?;
    }
    http.net = net_policy(o)?;
    http.tls = TlsSettings::from_k6(
        o.tls_version.as_ref(),
        o.tls_cipher_suites.as_deref(),
        o.tls_auth.as_deref().unwrap_or_default(),
    )
    .map_err(|e| Failure::config(format!("invalid TLS options: {e}")))?;
    let k6 = crate::settings::apply(o, &mut http).map_err(Failure::config)?;
    let trend_stats = match &o.summary_trend_stats {
        Some(list) => list
            .iter()
            .map(|s| TrendStat::parse(s))
            .collect::<Result<_, _>>()
            .map_err(Failure::config)?,
        None => TrendStat::defaults(),
    };
    Ok(Settings {
        setup_timeout: o.setup_timeout.map_or(DEFAULT_SETUP_TIMEOUT, |d| d.0),
        teardown_timeout: o.teardown_timeout.map_or(DEFAULT_SETUP_TIMEOUT, |d| d.0),
        handle_summary_timeout: o
            .handle_summary_timeout
            .map_or(DEFAULT_HANDLE_SUMMARY_TIMEOUT, |d| d.0),
        options_json: crate::options::test_options_json(o).into(),
        no_setup: o.no_setup.unwrap_or(false),
        no_teardown: o.no_teardown.unwrap_or(false),
        trend_stats,
        http,
        tags: o.tags.clone().unwrap_or_default().into_iter().collect(),
        k6,
        tuple: executor::execution_tuple(o).map_err(Failure::config)?,
        entry_points: std::sync::Arc::from([]),
    })
}

fn net_policy(o: &Options) -> Result<NetPolicy, Failure> {
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
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::exit;

    fn opts(json: &str) -> Options {
        Options::from_json(json, &Source::Script).unwrap()
    }

    fn entry() -> Vec<String> {
        vec!["default".to_string()]
    }

    #[test]
    fn later_layers_win_and_make_the_scenarios() {
        let layers = layers(
            Some(&("c.json".into(), opts(r#"{"vus": 2, "duration": "9s"}"#))),
            opts(r#"{"vus": 5, "duration": "10s", "setupTimeout": "5s"}"#),
            Options::default(),
            opts(r#"{"vus": 7}"#),
        );
        let plan = plan(layers, &entry(), &Registry::new(), false).unwrap();
        assert_eq!(plan.scenarios.len(), 1);
        assert_eq!(plan.max_vus(), 7);
        assert_eq!(plan.initial_vus(), 7);
        assert_eq!(plan.settings.setup_timeout, Duration::from_secs(5));
        assert_eq!(plan.settings.teardown_timeout, DEFAULT_SETUP_TIMEOUT);
        assert_eq!(
            plan.max_duration(),
            Duration::from_secs(10) + plan.scenarios[0].graceful_stop
        );
    }

    #[test]
    fn mistakes_are_config_failures_that_name_the_culprit() {
        let bad = |script: &str, entry: &[String]| {
            let layers = layers(None, opts(script), Options::default(), Options::default());
            let f = plan(layers, entry, &Registry::new(), false).unwrap_err();
            assert_eq!(f.exit_code, exit::INVALID_CONFIG);
            f.message
        };
        let m = bad(
            r#"{"scenarios": {"a": {"executor": "constant-vus", "duration": "1s", "exec": "nope"}}}"#,
            &entry(),
        );
        assert!(m.contains("`nope`") && m.contains("default"), "{m}");
        let m = bad(
            r#"{"vus": 1, "duration": "1s", "thresholds": {"http_req_duraton": ["p(95)<1"]}}"#,
            &entry(),
        );
        assert!(m.contains("http_req_duraton"), "{m}");
        let m = bad(
            r#"{"vus": 1, "duration": "1s", "summaryTrendStats": ["p(101)"]}"#,
            &entry(),
        );
        assert!(m.contains("p(101)"), "{m}");
        let m = bad(
            r#"{"vus": 1, "duration": "1s", "blacklistIPs": ["not-an-ip"]}"#,
            &entry(),
        );
        assert!(m.contains("blacklistIPs"), "{m}");
    }

    #[test]
    fn thresholds_are_parsed_unless_switched_off() {
        let script = r#"{"vus": 1, "duration": "1s", "thresholds": {"http_req_duration{window:10s}": ["p(95)<250"], "checks": ["rate>0.9"]}}"#;
        let with = plan(
            layers(None, opts(script), Options::default(), Options::default()),
            &entry(),
            &Registry::new(),
            false,
        )
        .unwrap();
        assert_eq!(with.thresholds.len(), 2);
        let windowed = with.thresholds.iter().find(|t| t.window.is_some()).unwrap();
        assert_eq!(windowed.window, Some(Duration::from_secs(10)));
        let without = plan(
            layers(None, opts(script), Options::default(), Options::default()),
            &entry(),
            &Registry::new(),
            true,
        )
        .unwrap();
        assert!(without.thresholds.is_empty());
    }
}
