//! Test options, as k6 spells them: the script's defaults, which a `--config` file,
//! `STAMPEDE_*` environment variables and command-line flags can override.

use serde_json::{Map, Value};

/// The script's options, serialized to the same JSON schema as a `--config` file.
///
/// ```
/// use stampede::Options;
/// let options = Options::new()
///     .vus(10)
///     .duration("30s")
///     .threshold("http_req_duration", "p(95)<250")
///     .threshold("checks", "rate>0.99");
/// assert!(options.to_json().contains("p(95)<250"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options(Map<String, Value>);

impl Options {
    /// No options: stampede's defaults (1 VU, 1 iteration).
    pub fn new() -> Self {
        Self::default()
    }

    /// Options from a JSON object such as `{"vus": 10, "duration": "30s"}`.
    ///
    /// Panics if `json` is not a JSON object: options are part of the script, and a mistake
    /// in them is a bug to fix before the test can run.
    pub fn from_json(json: &str) -> Self {
        match serde_json::from_str(json) {
            Ok(Value::Object(map)) => Self(map),
            Ok(other) => panic!("options must be a JSON object, not {other}"),
            Err(e) => panic!("options are not valid JSON: {e}"),
        }
    }

    /// Sets any option by its k6 name, e.g. `.set("setupTimeout", json!("30s"))`.
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    /// Number of VUs (`vus`).
    pub fn vus(self, vus: u32) -> Self {
        self.set("vus", vus)
    }

    /// How long the test runs (`duration`), e.g. `"30s"`, `"1m30s"`.
    pub fn duration(self, duration: &str) -> Self {
        self.set("duration", duration)
    }

    /// Total iterations shared by the VUs (`iterations`).
    pub fn iterations(self, iterations: u64) -> Self {
        self.set("iterations", iterations)
    }

    /// Adds a threshold expression such as `p(95)<250` on `metric` (which may be a sub-metric
    /// like `http_req_duration{status:200}`).
    pub fn threshold(mut self, metric: &str, expression: &str) -> Self {
        let thresholds = self
            .0
            .entry("thresholds")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = thresholds {
            let list = map
                .entry(metric.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = list {
                list.push(Value::String(expression.to_owned()));
            }
        }
        self
    }

    /// Adds a tag to every sample of the test.
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        let tags = self
            .0
            .entry("tags")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = tags {
            map.insert(key.to_owned(), Value::String(value.to_owned()));
        }
        self
    }

    /// The options as a JSON string.
    pub fn to_json(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }
}
