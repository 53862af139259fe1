//! Test options, with k6's names and JSON schema, and the layers they come from:
//! defaults < `--config` file < the script's `options()` < `STAMPEDE_*` environment variables
//! < command-line flags.

mod duration;
mod env;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

pub use duration::{format_duration, parse_duration, Dur};
pub use env::{from_env, parse_stage};

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

/// The long form of a threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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

fn one_or_many<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, Vec<ThresholdSpec>>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(ThresholdSpec),
        Many(Vec<ThresholdSpec>),
    }
    let map: Option<BTreeMap<String, OneOrMany>> = Option::deserialize(d)?;
    Ok(map.map(|m| {
        m.into_iter()
            .map(|(k, v)| {
                let list = match v {
                    OneOrMany::One(t) => vec![t],
                    OneOrMany::Many(l) => l,
                };
                (k, list)
            })
            .collect()
    }))
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
}

/// The shortcut options, which stand for a scenario of their own.
const SHORTCUTS: [&str; 4] = ["vus", "duration", "iterations", "stages"];

impl Options {
    /// Parses a layer from JSON, naming `source` in errors.
    pub fn from_json(json: &str, source: &Source) -> Result<Options, String> {
        serde_json::from_str(json).map_err(|e| format!("invalid options in {source}: {e}"))
    }

    fn shortcuts_set(&self) -> Vec<&'static str> {
        let set = [
            self.vus.is_some(),
            self.duration.is_some(),
            self.iterations.is_some(),
            self.stages.is_some(),
        ];
        SHORTCUTS
            .iter()
            .zip(set)
            .filter(|(_, s)| *s)
            .map(|(n, _)| *n)
            .collect()
    }

    /// Merges layers, lowest first, as k6 does: a layer that sets `duration`, `iterations` or
    /// `stages` replaces the `scenarios` of the layers below it, and a layer that sets
    /// `scenarios` replaces their shortcuts.
    pub fn merge(layers: Vec<(Source, Options)>) -> Result<Options, String> {
        let mut merged = Options::default();
        for (source, layer) in layers {
            let shortcuts = layer.shortcuts_set();
            let execution = shortcuts.iter().any(|s| *s != "vus");
            if layer.scenarios.is_some() && execution {
                return Err(format!(
                    "{source} set both `scenarios` and {}: use one or the other",
                    shortcuts
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if execution {
                merged.scenarios = None;
            }
            if layer.scenarios.is_some() {
                merged.vus = None;
                merged.duration = None;
                merged.iterations = None;
                merged.stages = None;
            }
            merged.overlay(layer);
        }
        Ok(merged)
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
    fn scenarios_and_shortcuts_in_one_layer_conflict() {
        let both = parse(r#"{"scenarios": {}, "iterations": 5}"#);
        let err = Options::merge(vec![(Source::Script, both)]).unwrap_err();
        assert!(
            err.contains("scenarios") && err.contains("iterations"),
            "{err}"
        );
    }
}
