//! The test's options as k6 shows them to a script (`exec.test.options` of `k6/execution`):
//! every option k6 has, `null` where nothing set it; the shortcuts (`vus`, `duration`,
//! `iterations`, `stages`) gone, made into the `default` scenario; each scenario with its
//! executor's fields in k6's order and durations in Go's form (`1m30s`); thresholds as strings
//! unless they abort; and the defaults k6 fills in (`summaryTrendStats`, `systemTags`).
//! Options only stampede has follow k6's, when set.

use serde_json::{Map, Value};

use super::{parse_duration, Execution, Options, ThresholdSpec};
use crate::options::format_duration;

/// k6's options, in the order k6 writes them.
const K6_KEYS: &[&str] = &[
    "paused",
    "scenarios",
    "executionSegment",
    "executionSegmentSequence",
    "noSetup",
    "setupTimeout",
    "noTeardown",
    "teardownTimeout",
    "handleSummaryTimeout",
    "rps",
    "dns",
    "maxRedirects",
    "userAgent",
    "batch",
    "batchPerHost",
    "httpDebug",
    "insecureSkipTLSVerify",
    "tlsCipherSuites",
    "tlsVersion",
    "tlsAuth",
    "throw",
    "thresholds",
    "blacklistIPs",
    "blockHostnames",
    "hosts",
    "noConnectionReuse",
    "noVUConnectionReuse",
    "minIterationDuration",
    "ext",
    "summaryTrendStats",
    "summaryTimeUnit",
    "systemTags",
    "tags",
    "metricSamplesBufferSize",
    "noCookiesReset",
    "discardResponseBodies",
    "features",
    "consoleOutput",
    "localIPs",
];

/// The shortcuts, which k6 leaves out once they made the `default` scenario.
const SHORTCUTS: &[&str] = &["vus", "duration", "iterations", "stages"];

/// k6's default `summaryTrendStats`.
const TREND_STATS: &[&str] = &["avg", "min", "med", "max", "p(90)", "p(95)"];

/// Every scenario's fields, first.
const COMMON: &[&str] = &[
    "executor",
    "startTime",
    "gracefulStop",
    "env",
    "exec",
    "tags",
];

/// Fields whose value is a duration.
const DURATIONS: &[&str] = &[
    "startTime",
    "gracefulStop",
    "duration",
    "maxDuration",
    "timeUnit",
    "gracefulRampDown",
];

/// The JSON text of `exec.test.options` for merged options `o`.
pub fn test_options_json(o: &Options) -> String {
    let mut given = match serde_json::to_value(o) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let mut out = String::from("{");
    let mut first = true;
    let mut field = |out: &mut String, key: &str, text: &str| {
        if !std::mem::take(&mut first) {
            out.push(',');
        }
        out.push_str(&Value::String(key.to_owned()).to_string());
        out.push(':');
        out.push_str(text);
    };
    for &key in K6_KEYS {
        // These three keep k6's order of fields: written as text (a `serde_json` map sorts).
        let text = match key {
            "scenarios" => Some(scenarios(o)),
            "thresholds" => Some(thresholds(o)),
            "dns" => Some(dns(given.get("dns"))),
            _ => None,
        };
        if let Some(text) = text {
            field(&mut out, key, &text);
            given.remove(key);
            continue;
        }
        let value = match key {
            "summaryTrendStats" => given
                .get(key)
                .cloned()
                .unwrap_or_else(|| strings(TREND_STATS)),
            "systemTags" => system_tags(given.get(key)),
            _ => given.get(key).cloned().unwrap_or(Value::Null),
        };
        field(&mut out, key, &value.to_string());
        given.remove(key);
    }
    // What only stampede has, when set.
    for (key, value) in &given {
        if !SHORTCUTS.contains(&key.as_str()) && key != "scenarios" {
            field(&mut out, key, &value.to_string());
        }
    }
    out.push('}');
    out
}

fn strings(list: &[&str]) -> Value {
    Value::Array(list.iter().map(|s| Value::String((*s).into())).collect())
}

fn system_tags(given: Option<&Value>) -> Value {
    let Some(Value::Array(list)) = given else {
        // k6's default `systemTags` are the CSV output's tag columns, sorted the same way.
        return strings(&crate::output::csv::COLUMNS);
    };
    let mut names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    names.sort_unstable();
    names.dedup();
    strings(&names)
}

/// `{"a":1,"b":null}` with the fields in the order given.
fn ordered<'a>(fields: impl IntoIterator<Item = (&'a str, Value)>) -> String {
    let parts: Vec<String> = fields
        .into_iter()
        .map(|(k, v)| format!("{}:{v}", Value::String(k.to_owned())))
        .collect();
    format!("{{{}}}", parts.join(","))
}

fn dns(given: Option<&Value>) -> String {
    ordered(["ttl", "select", "policy"].map(|key| {
        let v = given.and_then(|g| g.get(key)).cloned();
        (key, v.unwrap_or(Value::Null))
    }))
}

/// A threshold is its expression, or k6's object when it aborts the test.
fn thresholds(o: &Options) -> String {
    let Some(all) = &o.thresholds else {
        return "null".into();
    };
    let metrics: Vec<String> = all
        .iter()
        .map(|(metric, list)| {
            let items: Vec<String> = list
                .iter()
                .map(|t| match t {
                    ThresholdSpec::Long(l) if l.abort_on_fail => ordered([
                        ("threshold", Value::String(l.threshold.clone())),
                        ("abortOnFail", Value::Bool(true)),
                        (
                            "delayAbortEval",
                            l.delay_abort_eval
                                .map_or(Value::Null, |d| Value::String(format_duration(d.0))),
                        ),
                    ]),
                    other => Value::String(other.expression().to_owned()).to_string(),
                })
                .collect();
            format!("{}:[{}]", Value::String(metric.clone()), items.join(","))
        })
        .collect();
    format!("{{{}}}", metrics.join(","))
}

/// The scenarios, the shortcuts' `default` one included, each as k6 writes it (JSON text: a
/// `serde_json` map would sort the fields).
fn scenarios(o: &Options) -> String {
    let given: Vec<(String, Value)> = match o.execution().map(|e| e.0) {
        Ok(Execution::Scenarios) => o
            .scenarios
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        Ok(shortcut) => vec![("default".into(), shortcut_scenario(o, shortcut))],
        Err(_) => Vec::new(),
    };
    let parts: Vec<String> = given
        .iter()
        .map(|(name, s)| format!("{}:{}", Value::String(name.clone()), scenario(s)))
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// The `default` scenario as k6 makes it from the shortcuts: what they set, and no more.
fn shortcut_scenario(o: &Options, execution: Execution) -> Value {
    let set = |v: Option<Value>| v.unwrap_or(Value::Null);
    let vus = set(o.vus.map(Value::from));
    let duration = set(o.duration.map(|d| Value::String(format_duration(d.0))));
    let mut s = Map::new();
    let mut put = |k: &str, v: Value| {
        s.insert(k.to_owned(), v);
    };
    match execution {
        Execution::ConstantVus => {
            put("executor", "constant-vus".into());
            put("vus", vus);
            put("duration", duration);
        }
        Execution::SharedIterations => {
            put("executor", "shared-iterations".into());
            put("vus", vus);
            put("iterations", set(o.iterations.map(Value::from)));
            put("maxDuration", duration);
        }
        Execution::VusOnly => {
            put("executor", "shared-iterations".into());
            put("iterations", vus.clone());
            put("vus", vus);
        }
        Execution::RampingVus => {
            put("executor", "ramping-vus".into());
            put("startVUs", vus);
            put(
                "stages",
                serde_json::to_value(&o.stages).unwrap_or(Value::Null),
            );
        }
        Execution::OneIteration | Execution::Scenarios => {
            put("executor", "per-vu-iterations".into());
        }
    }
    Value::Object(s)
}

/// One scenario: the common fields, then its executor's, `null` where not set.
fn scenario(s: &Value) -> String {
    let executor = s.get("executor").and_then(Value::as_str).unwrap_or("");
    let own = crate::executor::executor_fields(executor).unwrap_or(&[]);
    ordered(COMMON.iter().chain(own).map(|&key| {
        let v = s.get(key).cloned().unwrap_or(Value::Null);
        let v = match key {
            _ if DURATIONS.contains(&key) => go_duration(v),
            "stages" => stages(v),
            _ => v,
        };
        (key, v)
    }))
}

/// A duration as written (`"90s"`, or milliseconds) in Go's form (`"1m30s"`).
fn go_duration(v: Value) -> Value {
    let parsed = match &v {
        Value::String(s) => parse_duration(s).ok(),
        Value::Number(n) => n
            .as_f64()
            .filter(|ms| *ms >= 0.0 && ms.is_finite())
            .map(|ms| std::time::Duration::from_secs_f64(ms / 1000.0)),
        _ => None,
    };
    parsed.map_or(v, |d| Value::String(format_duration(d)))
}

fn stages(v: Value) -> Value {
    let Value::Array(list) = v else { return v };
    Value::Array(
        list.into_iter()
            .map(|stage| {
                let mut m = Map::new();
                m.insert(
                    "duration".into(),
                    go_duration(stage.get("duration").cloned().unwrap_or(Value::Null)),
                );
                m.insert(
                    "target".into(),
                    stage.get("target").cloned().unwrap_or(Value::Null),
                );
                Value::Object(m)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Source;

    fn view(json: &str) -> String {
        let (o, _) = Options::parse_layer(json, &Source::Script).unwrap();
        test_options_json(&o)
    }

    /// What k6 v2.2 prints for `JSON.stringify(exec.test.options)` with these options (each
    /// text below was copied from k6's output; the whole view was compared for eight option
    /// sets, byte for byte).
    #[test]
    fn the_view_is_k6s() {
        let text =
            view(r#"{"vus": 2, "duration": "1s", "thresholds": {"http_reqs": ["count>=0"]}}"#);
        assert_eq!(
            text,
            r#"{"paused":null,"scenarios":{"default":{"executor":"constant-vus","startTime":null,"gracefulStop":null,"env":null,"exec":null,"tags":null,"vus":2,"duration":"1s"}},"executionSegment":null,"executionSegmentSequence":null,"noSetup":null,"setupTimeout":null,"noTeardown":null,"teardownTimeout":null,"handleSummaryTimeout":null,"rps":null,"dns":{"ttl":null,"select":null,"policy":null},"maxRedirects":null,"userAgent":null,"batch":null,"batchPerHost":null,"httpDebug":null,"insecureSkipTLSVerify":null,"tlsCipherSuites":null,"tlsVersion":null,"tlsAuth":null,"throw":null,"thresholds":{"http_reqs":["count>=0"]},"blacklistIPs":null,"blockHostnames":null,"hosts":null,"noConnectionReuse":null,"noVUConnectionReuse":null,"minIterationDuration":null,"ext":null,"summaryTrendStats":["avg","min","med","max","p(90)","p(95)"],"summaryTimeUnit":null,"systemTags":["check","error","error_code","expected_response","group","method","name","proto","scenario","service","status","subproto","tls_version","url"],"tags":null,"metricSamplesBufferSize":null,"noCookiesReset":null,"discardResponseBodies":null,"features":null,"consoleOutput":null,"localIPs":null}"#
        );
    }

    #[test]
    fn scenarios_thresholds_and_durations_read_as_in_k6() {
        let text = view(
            r#"{"scenarios": {
                "r": {"executor": "ramping-arrival-rate", "stages": [{"duration": "1s", "target": 2}],
                      "preAllocatedVUs": 1, "startTime": "0s", "gracefulStop": "5s",
                      "tags": {"a": "b"}, "env": {"X": "1"}},
                "e": {"executor": "constant-vus", "duration": "90s", "vus": 1, "startTime": "1h"}},
              "thresholds": {"http_reqs": [{"threshold": "count>=0", "abortOnFail": true, "delayAbortEval": "10s"}],
                             "checks": ["rate>=0", {"threshold": "rate>0", "abortOnFail": false}]},
              "setupTimeout": "90s", "systemTags": ["url", "status"]}"#,
        );
        for part in [
            r#""scenarios":{"e":{"executor":"constant-vus","startTime":"1h0m0s","gracefulStop":null,"env":null,"exec":null,"tags":null,"vus":1,"duration":"1m30s"},"r":{"executor":"ramping-arrival-rate","startTime":"0s","gracefulStop":"5s","env":{"X":"1"},"exec":null,"tags":{"a":"b"},"startRate":null,"timeUnit":null,"stages":[{"duration":"1s","target":2}],"preAllocatedVUs":1,"maxVUs":null}}"#,
            r#""thresholds":{"checks":["rate>=0","rate>0"],"http_reqs":[{"threshold":"count>=0","abortOnFail":true,"delayAbortEval":"10s"}]}"#,
            r#""setupTimeout":"1m30s""#,
            r#""systemTags":["status","url"]"#,
        ] {
            assert!(text.contains(part), "{part}\n  not in\n{text}");
        }
    }

    #[test]
    fn shortcuts_become_the_default_scenario_with_what_they_set() {
        let default = |json: &str| {
            let text = view(json);
            let at = text.find(r#""default":"#).unwrap() + 10;
            let end = at + text[at..].find('}').unwrap() + 1;
            text[at..end].to_owned()
        };
        let common = r#""startTime":null,"gracefulStop":null,"env":null,"exec":null,"tags":null"#;
        assert_eq!(
            default(r#"{"vus": 2}"#),
            format!(
                r#"{{"executor":"shared-iterations",{common},"vus":2,"iterations":2,"maxDuration":null}}"#
            )
        );
        assert_eq!(
            default(r#"{"iterations": 2}"#),
            format!(
                r#"{{"executor":"shared-iterations",{common},"vus":null,"iterations":2,"maxDuration":null}}"#
            )
        );
        assert_eq!(
            default("{}"),
            format!(
                r#"{{"executor":"per-vu-iterations",{common},"vus":null,"iterations":null,"maxDuration":null}}"#
            )
        );
        let text =
            view(r#"{"vus": 3, "stages": [{"duration": "1m", "target": 2}], "maxSeries": 50}"#);
        assert!(
            text.contains(
                r#""startVUs":3,"stages":[{"duration":"1m0s","target":2}],"gracefulRampDown":null"#
            ),
            "{text}"
        );
        assert!(!text.contains(r#""vus""#), "{text}");
        assert!(
            text.ends_with(r#""localIPs":null,"maxSeries":50}"#),
            "{text}"
        );
    }
}
