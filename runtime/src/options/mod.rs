//! Test options, with k6's names and JSON schema, and the layers they come from:
//! defaults < `--config` file < the script's `options()` < `STAMPEDE_*` environment variables
//! < command-line flags.

mod duration;
mod env;
pub mod k6;
mod k6_view;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

pub use duration::{format_duration, parse_duration, parse_flag_duration, Dur};
pub use env::{from_env, parse_stage};
pub use k6::Execution;
pub use k6_view::test_options_json;

use crate::executor::segment::{Segment, SegmentSequence};

/// Where a layer of options came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The `--config` file at this path.
    ConfigFile(String),
    /// The script's `options()` export.
    Script,
    /// `STAMPEDE_*` environment variables.
    Env,
    /// Command-line flags.
    Cli,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::ConfigFile(p) => write!(f, "config file {p}"),
            Source::Script => f.write_str("the script's options"),
            Source::Env => f.write_str("STAMPEDE_* environment variables"),
            Source::Cli => f.write_str("command-line flags"),
        }
    }
}

/// One stage of a ramping executor: reach `target` over `duration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: Dur,
    /// VUs (or iterations per time unit) at the end of the stage.
    pub target: u64,
}

/// A threshold as written in options: `"p(95)<250"` or the long form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ThresholdSpec {
    /// Just the expression.
    Short(String),
    /// The expression with its abort settings.
    Long(LongThreshold),
}

/// The long form of a threshold. Other keys are ignored, as k6 (Go's JSON) ignores them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LongThreshold {
    /// The expression, e.g. `p(95)<250`.
    pub threshold: String,
    /// Stop the test as soon as this threshold fails.
    #[serde(default)]
    pub abort_on_fail: bool,
    /// Do not abort before the test has run this long.
    #[serde(default)]
    pub delay_abort_eval: Option<Dur>,
}

impl ThresholdSpec {
    /// The expression.
    pub fn expression(&self) -> &str {
        match self {
            ThresholdSpec::Short(s) => s,
            ThresholdSpec::Long(l) => &l.threshold,
        }
    }
}

/// `thresholds`: each metric's list of thresholds (one alone is taken as a list of one), each
/// a string or the long form; an error names the metric and what is wrong with its entry.
fn one_or_many<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, Vec<ThresholdSpec>>>, D::Error> {
    use serde::de::Error as _;
    let map: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(d)?;
    let Some(map) = map else { return Ok(None) };
    let spec = |metric: &str, v: serde_json::Value| -> Result<ThresholdSpec, D::Error> {
        match v {
            serde_json::Value::String(s) => Ok(ThresholdSpec::Short(s)),
            v @ serde_json::Value::Object(_) => serde_json::from_value(v)
                .map(ThresholdSpec::Long)
                .map_err(|e| D::Error::custom(format!("`{metric}`: {e}"))),
            other => Err(D::Error::custom(format!(
                "`{metric}`: a threshold is a string such as \"p(95)<500\" or an object \
                 {{\"threshold\": \"…\", \"abortOnFail\": true}}, not {other}"
            ))),
        }
    };
    let mut out = BTreeMap::new();
    for (metric, v) in map {
        let list = match v {
            serde_json::Value::Array(items) => items
                .into_iter()
                .map(|v| spec(&metric, v))
                .collect::<Result<Vec<_>, _>>()?,
            v => vec![spec(&metric, v)?],
        };
        out.insert(metric, list);
    }
    Ok(Some(out))
}

macro_rules! options {
    ($( $(#[$meta:meta])* $field:ident : $ty:ty, )*) => {
        /// Test options. Every field is optional: a layer sets only what it mentions.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        pub struct Options {
            $( $(#[$meta])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $field: Option<$ty>, )*
        }

        impl Options {
            /// Lays `over` on top of `self`: what `over` sets wins.
            fn overlay(&mut self, over: Options) {
                $( if over.$field.is_some() { self.$field = over.$field; } )*
            }
        }
    };
}

options! {
    /// VUs of the shortcut scenario (`-u/--vus`).
    vus: u64,
    /// Duration of the shortcut scenario (`-d/--duration`).
    duration: Dur,
    /// Iterations shared by the shortcut scenario's VUs (`-i/--iterations`).
    iterations: u64,
    /// Stages of the shortcut ramping scenario (`-s/--stage`).
    stages: Vec<Stage>,
    /// Named scenarios, each with its executor and settings.
    scenarios: BTreeMap<String, Value>,
    /// Pass/fail criteria per metric or sub-metric.
    #[serde(deserialize_with = "one_or_many")]
    thresholds: BTreeMap<String, Vec<ThresholdSpec>>,
    /// Longest `setup()` may run (default 60 s; exit code 100 past it).
    setup_timeout: Dur,
    /// Longest `teardown()` may run (default 60 s; exit code 101 past it).
    teardown_timeout: Dur,
    /// Longest `handleSummary()` may run (default 2 min; past it, no summary is written).
    handle_summary_timeout: Dur,
    /// Tags added to every sample.
    tags: BTreeMap<String, String>,
    /// Accept any TLS certificate.
    #[serde(rename = "insecureSkipTLSVerify")]
    insecure_skip_tls_verify: bool,
    /// Redirects followed by default (10).
    max_redirects: u32,
    /// Default `User-Agent`.
    user_agent: String,
    /// Do not hand response bodies to scripts.
    discard_response_bodies: bool,
    /// Host names requests may not go to (`*.example.com` matches subdomains).
    block_hostnames: Vec<String>,
    /// Address blocks requests may not connect to (CIDR).
    #[serde(rename = "blacklistIPs")]
    blacklist_ips: Vec<String>,
    /// Statistics shown for trends in the summary (default avg, min, med, max, p(90), p(95)).
    summary_trend_stats: Vec<String>,
    /// Skip `setup()`.
    no_setup: bool,
    /// Skip `teardown()`.
    no_teardown: bool,
    /// Largest response body read, in bytes (default 64 MiB); larger ones fail the request.
    response_body_limit: u64,
    /// Timeout of requests that set none (default 60 s).
    http_timeout: Dur,
    /// An iteration that ends sooner is followed by a pause until this much time has passed
    /// since it started (not counted in `iteration_duration`).
    min_iteration_duration: Dur,
    /// The unit of every time in the summary: `s`, `ms` or `us` (default: each as it reads
    /// best).
    summary_time_unit: String,
    /// The system tags samples carry (default: k6's set).
    system_tags: Vec<String>,
    /// Close every connection after its request (no keep-alive).
    no_connection_reuse: bool,
    /// Close a VU's connections at the end of each of its iterations.
    #[serde(rename = "noVUConnectionReuse")]
    no_vu_connection_reuse: bool,
    /// Host names, or `host:port`, mapped to an IP address or `ip:port` (`*.example.com`
    /// matches subdomains).
    hosts: BTreeMap<String, String>,
    /// Most requests of one `batch` call in flight at once (default 20).
    batch: u64,
    /// Most requests of one `batch` call in flight at once to one host (default 6).
    batch_per_host: u64,
    /// Most requests per second started by the whole test (0: no limit).
    rps: u64,
    /// How names are resolved: `{"ttl": "5m", "select": "random", "policy": "preferIPv4"}`.
    dns: DnsOptions,
    /// A request that fails (no response) ends the iteration with an error.
    throw: bool,
    /// Log every request and response: `headers`, or `full` with bodies.
    http_debug: String,
    /// Write the script's log lines to this file instead of stderr.
    console_output: String,
    /// The local addresses VUs send from: addresses, ranges and CIDR blocks, comma-separated.
    #[serde(rename = "localIPs")]
    local_ips: String,
    /// Keep a VU's cookies from one iteration to the next.
    no_cookies_reset: bool,
    /// Client certificates, per domain (k6's `tlsAuth`).
    #[serde(rename = "tlsAuth")]
    tls_auth: Vec<stampede_host_api::http::tls::TlsAuth>,
    /// TLS versions: `"tls1.2"` or `{"min": …, "max": …}` (k6's `tlsVersion`).
    #[serde(rename = "tlsVersion")]
    tls_version: stampede_host_api::http::tls::TlsVersionSpec,
    /// Cipher suites by k6's names (k6's `tlsCipherSuites`).
    #[serde(rename = "tlsCipherSuites")]
    tls_cipher_suites: Vec<String>,
    /// HTTP version of requests that set none: `auto` (ALPN picks), `1.1` or `2`.
    http_version: String,
    /// This instance's part of a test split between instances (`1/4:1/2`).
    execution_segment: Segment,
    /// All the parts the test is split into (`0,1/4,1/2,3/4,1`).
    execution_segment_sequence: SegmentSequence,
    /// This instance's part as its position in the sequence, from 0 (stampede's).
    execution_segment_index: u64,
    /// Most distinct tag sets (metric series) kept; past it, new ones are folded into
    /// overflow series (default 10,000; stampede's).
    max_series: u64,
}

/// How names are resolved (k6's `dns` option); values are checked when the test starts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsOptions {
    /// How long a resolved name is kept: a duration, `inf`, or `0` (no cache).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// Which of a name's addresses to use: `first`, `random` or `roundRobin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<String>,
    /// Which address families: `preferIPv4`, `preferIPv6`, `onlyIPv4`, `onlyIPv6` or `any`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

impl DnsOptions {
    /// Parses the flag form, `ttl=5m,select=random,policy=preferIPv4` (any of the three).
    pub fn parse_text(text: &str) -> Result<DnsOptions, String> {
        let mut dns = DnsOptions::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .filter(|(_, v)| !v.is_empty())
                .ok_or_else(|| format!("invalid dns `{text}`: no value for `{part}`"))?;
            let slot = match key {
                "ttl" => &mut dns.ttl,
                "select" => &mut dns.select,
                "policy" => &mut dns.policy,
                other => {
                    return Err(format!(
                        "invalid dns `{text}`: unknown field `{other}` (ttl, select, policy)"
                    ))
                }
            };
            *slot = Some(value.to_owned());
        }
        Ok(dns)
    }

    /// Lays `over` on top: each of the three fields is taken from the higher layer when set
    /// there, as k6 merges them.
    fn overlay(&mut self, over: DnsOptions) {
        if over.ttl.is_some() {
            self.ttl = over.ttl;
        }
        if over.select.is_some() {
            self.select = over.select;
        }
        if over.policy.is_some() {
            self.policy = over.policy;
        }
    }
}

impl Options {
    /// Parses a layer from JSON, naming `source` in errors. Keys that k6 knows but stampede
    /// has no use for are dropped; [`parse_layer`](Self::parse_layer) also says which.
    pub fn from_json(json: &str, source: &Source) -> Result<Options, String> {
        Self::parse_layer(json, source).map(|(options, _)| options)
    }

    /// Parses a layer from JSON. A key k6 knows that stampede does not use is dropped with a
    /// notice (one line each, for the log); any other unknown key is an error naming it.
    pub fn parse_layer(json: &str, source: &Source) -> Result<(Options, Vec<String>), String> {
        let invalid = |e: serde_json::Error| format!("invalid options in {source}: {e}");
        let mut value: Value = serde_json::from_str(json).map_err(invalid)?;
        k6::read_whole_numbers(&mut value);
        let mut notices = Vec::new();
        loop {
            match Options::deserialize(&value) {
                Ok(options) => return Ok((options, notices)),
                Err(e) => {
                    let text = e.to_string();
                    let known = k6::unknown_field(&text)
                        .and_then(|key| k6::not_used(key).map(|why| (key.to_owned(), why)));
                    let removed = match (&known, value.as_object_mut()) {
                        (Some((key, _)), Some(map)) => map.remove(key).is_some(),
                        _ => false,
                    };
                    match known {
                        Some((key, why)) if removed => {
                            notices.push(format!("{source}: `{key}` is ignored: {why}"))
                        }
                        _ => {
                            return Err(match culprit(&value) {
                                Some(key) => format!("invalid options in {source}: `{key}`: {e}"),
                                None => invalid(e),
                            })
                        }
                    }
                }
            }
        }
    }

    /// Merges layers, lowest first, as k6 does. A layer that sets `duration`, `iterations`,
    /// `stages` or `scenarios` replaces all four of the layers below it (`vus` is merged on
    /// its own); `dns` is merged field by field. Unlike k6, `thresholds` add up: every
    /// layer's thresholds are kept, and an expression repeated for the same metric in a
    /// higher layer takes that layer's settings.
    pub fn merge(layers: Vec<(Source, Options)>) -> Result<Options, String> {
        Self::merge_noting(layers, &mut Vec::new())
    }

    /// [`merge`](Self::merge), adding k6's warnings to `notices` (a layer that replaced the
    /// `scenarios` of a lower one).
    pub fn merge_noting(
        layers: Vec<(Source, Options)>,
        notices: &mut Vec<String>,
    ) -> Result<Options, String> {
        let mut merged = Options::default();
        let mut thresholds: Option<BTreeMap<String, Vec<ThresholdSpec>>> = None;
        for (source, mut layer) in layers {
            let execution = layer.duration.is_some()
                || layer.iterations.is_some()
                || layer.stages.is_some()
                || layer.scenarios.is_some();
            if execution {
                if merged.scenarios.is_some() && !matches!(source, Source::ConfigFile(_)) {
                    // k6's words, with its name for the layer.
                    let level = match source {
                        Source::Script => "script",
                        Source::Env => "env",
                        Source::Cli | Source::ConfigFile(_) => "cli",
                    };
                    notices.push(format!(
                        "\"{level}\" level configuration overrode scenarios configuration entirely"
                    ));
                }
                merged.duration = None;
                merged.iterations = None;
                merged.stages = None;
                merged.scenarios = None;
            }
            if let Some(t) = layer.thresholds.take() {
                add_thresholds(thresholds.get_or_insert_with(BTreeMap::new), t);
            }
            if let Some(over) = layer.dns.take() {
                let mut dns = merged.dns.take().unwrap_or_default();
                dns.overlay(over);
                layer.dns = Some(dns);
            }
            merged.overlay(layer);
        }
        merged.thresholds = thresholds;
        Ok(merged)
    }
}

/// The first top-level key whose value alone does not parse: serde's message for a value of
/// the wrong type does not say which key it was.
fn culprit(value: &Value) -> Option<String> {
    value.as_object()?.iter().find_map(|(k, v)| {
        let alone = Value::Object([(k.clone(), v.clone())].into_iter().collect());
        Options::deserialize(&alone).is_err().then(|| k.clone())
    })
}

/// Adds a layer's thresholds to those below: new expressions are appended to their metric's
/// list, and an expression already there takes the new layer's settings.
fn add_thresholds(
    into: &mut BTreeMap<String, Vec<ThresholdSpec>>,
    layer: BTreeMap<String, Vec<ThresholdSpec>>,
) {
    for (metric, list) in layer {
        let have = into.entry(metric).or_default();
        for spec in list {
            let same = |h: &&mut ThresholdSpec| h.expression().trim() == spec.expression().trim();
            match have.iter_mut().find(same) {
                Some(h) => *h = spec,
                None => have.push(spec),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Options {
        Options::from_json(json, &Source::Script).unwrap()
    }

    #[test]
    fn parses_k6_options() {
        let o = parse(
            r#"{"vus": 10, "duration": "30s", "insecureSkipTLSVerify": true,
                "thresholds": {"http_req_duration": ["p(95)<250", {"threshold": "p(99)<500", "abortOnFail": true}],
                               "checks": "rate>0.9"},
                "blacklistIPs": ["10.0.0.0/8"], "tags": {"team": "api"}}"#,
        );
        assert_eq!(o.vus, Some(10));
        assert_eq!(o.duration.unwrap().0.as_secs(), 30);
        assert_eq!(o.insecure_skip_tls_verify, Some(true));
        let t = o.thresholds.unwrap();
        assert_eq!(t["http_req_duration"].len(), 2);
        assert_eq!(t["checks"][0].expression(), "rate>0.9");
        assert_eq!(o.blacklist_ips.unwrap(), vec!["10.0.0.0/8"]);
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key_and_source() {
        let err = Options::from_json(
            r#"{"vus": 1, "durration": "1s"}"#,
            &Source::ConfigFile("x.json".into()),
        )
        .unwrap_err();
        assert!(err.contains("durration") && err.contains("x.json"), "{err}");
    }

    #[test]
    fn later_layers_win_and_shortcuts_replace_scenarios() {
        let script = parse(
            r#"{"scenarios": {"a": {"executor": "constant-vus", "duration": "1s"}}, "setupTimeout": "5s"}"#,
        );
        let cli = parse(r#"{"duration": "2s", "vus": 3}"#);
        let m = Options::merge(vec![(Source::Script, script.clone()), (Source::Cli, cli)]).unwrap();
        assert!(m.scenarios.is_none());
        assert_eq!(m.vus, Some(3));
        assert_eq!(m.setup_timeout.unwrap().0.as_secs(), 5);

        let config = parse(r#"{"duration": "9s"}"#);
        let m = Options::merge(vec![
            (Source::ConfigFile("c".into()), config),
            (Source::Script, script),
        ])
        .unwrap();
        assert!(m.duration.is_none());
        assert!(m.scenarios.is_some());
    }

    #[test]
    fn scenarios_and_shortcuts_in_one_layer_conflict_as_in_k6() {
        let both = parse(
            r#"{"scenarios": {"a": {"executor": "constant-vus", "duration": "1s"}}, "iterations": 5}"#,
        );
        let merged = Options::merge(vec![(Source::Script, both)]).unwrap();
        let err = merged.execution().unwrap_err();
        assert!(err.contains("`iterations` and `scenarios`"), "{err}");
    }

    fn layers(list: &[(&Source, &str)]) -> (Options, Vec<String>) {
        let mut notices = Vec::new();
        let layers = list
            .iter()
            .map(|(s, json)| ((*s).clone(), Options::from_json(json, s).unwrap()))
            .collect();
        let merged = Options::merge_noting(layers, &mut notices).unwrap();
        (merged, notices)
    }

    /// k6's consolidation, layer by layer (its `config_consolidation_test.go`, in our words):
    /// each row is the layers given and the executor, VUs and iterations or duration that run.
    #[test]
    fn every_layer_combination_of_the_shortcuts_resolves_as_in_k6() {
        use Execution::*;
        let file = Source::ConfigFile("c.json".into());
        let (script, env, cli) = (Source::Script, Source::Env, Source::Cli);
        let scenarios =
            r#"{"scenarios": {"s": {"executor": "constant-vus", "vus": 2, "duration": "1m"}}}"#;
        type Row<'a> = (Vec<(&'a Source, &'a str)>, Execution, Option<u64>, bool);
        let rows: Vec<Row<'_>> = vec![
            // Nothing: one iteration on one VU.
            (vec![], OneIteration, None, false),
            // Shortcuts on one layer.
            (
                vec![(&cli, r#"{"vus": 1, "iterations": 5}"#)],
                SharedIterations,
                Some(1),
                false,
            ),
            (
                vec![(&cli, r#"{"duration": "2m"}"#)],
                ConstantVus,
                None,
                false,
            ),
            (
                vec![(&cli, r#"{"stages": [{"duration": "20s", "target": 10}]}"#)],
                RampingVus,
                None,
                false,
            ),
            // `vus` alone: that many iterations shared by that many VUs (k6 v2).
            (vec![(&cli, r#"{"vus": 10}"#)], VusOnly, Some(10), false),
            // `vus` alone overrides scenarios, with a warning, from any layer.
            (
                vec![(&file, scenarios), (&cli, r#"{"vus": 8}"#)],
                VusOnly,
                Some(8),
                true,
            ),
            (
                vec![(
                    &script,
                    r#"{"vus": 3, "scenarios": {"s": {"executor": "constant-vus", "duration": "1m"}}}"#,
                )],
                VusOnly,
                Some(3),
                true,
            ),
            // Scenarios from a lower layer stand when a higher one sets nothing of execution.
            (
                vec![(&script, scenarios), (&cli, r#"{"tags": {"a": "b"}}"#)],
                Scenarios,
                None,
                false,
            ),
            // A higher layer's duration, iterations or stages replace lower scenarios, with
            // k6's warning.
            (
                vec![(&script, scenarios), (&cli, r#"{"duration": "10s"}"#)],
                ConstantVus,
                None,
                true,
            ),
            (
                vec![
                    (&file, scenarios),
                    (&env, r#"{"iterations": 25}"#),
                    (&cli, r#"{"vus": 12}"#),
                ],
                SharedIterations,
                Some(12),
                true,
            ),
            (
                vec![
                    (&file, r#"{"stages": [{"duration": "20s", "target": 10}]}"#),
                    (&script, r#"{"vus": 5}"#),
                ],
                RampingVus,
                Some(5),
                false,
            ),
            (
                vec![
                    (&file, r#"{"stages": [{"duration": "20s", "target": 10}]}"#),
                    (&script, r#"{"vus": 5}"#),
                    (&env, r#"{"vus": 15, "iterations": 17}"#),
                ],
                SharedIterations,
                Some(15),
                false,
            ),
            (
                vec![
                    (&script, r#"{"vus": 5, "duration": "50s"}"#),
                    (&cli, r#"{"stages": [{"duration": "5s", "target": 5}]}"#),
                ],
                RampingVus,
                Some(5),
                false,
            ),
            // A higher layer's scenarios replace lower shortcuts (but not `vus`, which then
            // overrides them in turn, as in k6 v2).
            (
                vec![(&file, r#"{"duration": "9s"}"#), (&script, scenarios)],
                Scenarios,
                None,
                false,
            ),
            (
                vec![
                    (&file, r#"{"vus": 4, "duration": "9s"}"#),
                    (&script, scenarios),
                ],
                VusOnly,
                Some(4),
                true,
            ),
            // Empty stages: one iteration on one VU, with a warning.
            (
                vec![
                    (
                        &file,
                        r#"{"stages": [{"duration": "20s", "target": 10}], "vus": 10}"#,
                    ),
                    (&env, r#"{"duration": "15s"}"#),
                    (&cli, r#"{"stages": []}"#),
                ],
                OneIteration,
                Some(10),
                true,
            ),
        ];
        for (i, (given, execution, vus, warned)) in rows.into_iter().enumerate() {
            let (merged, mut notices) = layers(&given);
            let (got, warning) = merged
                .execution()
                .unwrap_or_else(|e| panic!("row {i}: {e}"));
            notices.extend(warning);
            assert_eq!(got, execution, "row {i}: {merged:?}");
            assert_eq!(merged.vus, vus, "row {i}: {merged:?}");
            assert_eq!(!notices.is_empty(), warned, "row {i}: {notices:?}");
        }
    }

    #[test]
    fn conflicting_shortcuts_are_errors_as_in_k6() {
        for (json, words) in [
            (
                r#"{"vus": 2, "duration": "10s", "stages": [{"duration": "10s", "target": 20}]}"#,
                "`duration` and `stages`",
            ),
            (
                r#"{"vus": 3, "iterations": 5, "stages": [{"duration": "10s", "target": 20}]}"#,
                "`iterations` and `stages`",
            ),
            (r#"{"vus": 3, "duration": 0}"#, "more than 0"),
            (
                r#"{"stages": [{"duration": "1s", "target": 1}], "scenarios": {"a": {}}}"#,
                "`stages` and `scenarios`",
            ),
        ] {
            let (merged, _) = layers(&[(&Source::Script, json)]);
            let err = merged.execution().unwrap_err();
            assert!(err.contains(words), "{json}: {err}");
        }
    }

    #[test]
    fn thresholds_add_up_across_layers() {
        let file = Source::ConfigFile("c.json".into());
        let (merged, _) = layers(&[
            (
                &file,
                r#"{"thresholds": {"http_reqs": ["count>0"], "checks": ["rate>0.9"]}}"#,
            ),
            (
                &Source::Script,
                r#"{"thresholds": {"http_req_duration": ["p(95)<250"], "checks": ["rate>0.99"]}}"#,
            ),
            (
                &Source::Env,
                r#"{"thresholds": {"http_req_duration": ["p(99)<500"]}}"#,
            ),
            (
                &Source::Cli,
                r#"{"thresholds": {"http_req_duration": [{"threshold": "p(95)<250", "abortOnFail": true}], "http_reqs": ["count>0"]}}"#,
            ),
        ]);
        let t = merged.thresholds.unwrap();
        let exprs = |m: &str| {
            t[m].iter()
                .map(|s| s.expression().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(exprs("http_reqs"), ["count>0"]);
        assert_eq!(exprs("checks"), ["rate>0.9", "rate>0.99"]);
        assert_eq!(exprs("http_req_duration"), ["p(95)<250", "p(99)<500"]);
        // The repeated expression took the higher layer's settings.
        assert!(matches!(&t["http_req_duration"][0], ThresholdSpec::Long(l) if l.abort_on_fail));
    }

    #[test]
    fn dns_merges_field_by_field() {
        let (merged, _) = layers(&[
            (
                &Source::Script,
                r#"{"dns": {"ttl": "1m", "select": "first"}}"#,
            ),
            (
                &Source::Cli,
                r#"{"dns": {"select": "roundRobin", "policy": "any"}}"#,
            ),
        ]);
        let dns = merged.dns.unwrap();
        assert_eq!(dns.ttl.as_deref(), Some("1m"));
        assert_eq!(dns.select.as_deref(), Some("roundRobin"));
        assert_eq!(dns.policy.as_deref(), Some("any"));
        assert_eq!(
            DnsOptions::parse_text("ttl=inf,policy=onlyIPv6")
                .unwrap()
                .policy
                .as_deref(),
            Some("onlyIPv6")
        );
        assert!(DnsOptions::parse_text("ttl=").is_err());
        assert!(DnsOptions::parse_text("order=first").is_err());
    }
}
