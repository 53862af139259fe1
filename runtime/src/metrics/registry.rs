//! The metrics of a test: the built-in ones, with k6's names and types, and the custom ones
//! scripts declare.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

/// How a metric aggregates its samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// A sum: `count` and `rate` (per second of the test).
    Counter,
    /// The last value, with `min` and `max`.
    Gauge,
    /// The share of non-zero samples: `rate`.
    Rate,
    /// A distribution: `avg`, `min`, `med`, `max`, `p(N)`.
    Trend,
}

impl MetricType {
    /// k6's name for the type.
    pub fn name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Rate => "rate",
            MetricType::Trend => "trend",
        }
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a metric's values are, which decides how they are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// Plain numbers.
    Default,
    /// Milliseconds.
    Time,
    /// Bytes.
    Data,
}

impl ValueType {
    /// k6's name (`contains` in JSON outputs).
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Default => "default",
            ValueType::Time => "time",
            ValueType::Data => "data",
        }
    }
}

/// A metric's index in the [`Registry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricId(pub u16);

/// A metric's definition.
#[derive(Debug, Clone)]
pub struct MetricDef {
    /// Name, e.g. `http_req_duration`.
    pub name: Arc<str>,
    /// Type.
    pub kind: MetricType,
    /// What the values are.
    pub contains: ValueType,
    /// Whether stampede defines it (rather than a script).
    pub builtin: bool,
}

macro_rules! builtins {
    ($($id:ident = $n:expr, $name:literal, $kind:ident, $contains:ident;)*) => {
        /// The built-in metrics, registered first and in this order in every [`Registry`].
        pub mod builtin {
            use super::MetricId;
            $(
                #[doc = concat!("`", $name, "`")]
                pub const $id: MetricId = MetricId($n);
            )*
        }
        const BUILTINS: &[(&str, MetricType, ValueType)] = &[
            $( ($name, MetricType::$kind, ValueType::$contains), )*
        ];
    };
}

builtins! {
    VUS = 0, "vus", Gauge, Default;
    VUS_MAX = 1, "vus_max", Gauge, Default;
    ITERATIONS = 2, "iterations", Counter, Default;
    ITERATION_DURATION = 3, "iteration_duration", Trend, Time;
    DROPPED_ITERATIONS = 4, "dropped_iterations", Counter, Default;
    DATA_SENT = 5, "data_sent", Counter, Data;
    DATA_RECEIVED = 6, "data_received", Counter, Data;
    CHECKS = 7, "checks", Rate, Default;
    HTTP_REQS = 8, "http_reqs", Counter, Default;
    HTTP_REQ_FAILED = 9, "http_req_failed", Rate, Default;
    HTTP_REQ_DURATION = 10, "http_req_duration", Trend, Time;
    HTTP_REQ_BLOCKED = 11, "http_req_blocked", Trend, Time;
    HTTP_REQ_CONNECTING = 12, "http_req_connecting", Trend, Time;
    HTTP_REQ_TLS_HANDSHAKING = 13, "http_req_tls_handshaking", Trend, Time;
    HTTP_REQ_SENDING = 14, "http_req_sending", Trend, Time;
    HTTP_REQ_WAITING = 15, "http_req_waiting", Trend, Time;
    HTTP_REQ_RECEIVING = 16, "http_req_receiving", Trend, Time;
    GROUP_DURATION = 17, "group_duration", Trend, Time;
    ITERATION_ERRORS = 18, "iteration_errors", Counter, Default;
    ITERATION_START_DELAY = 19, "iteration_start_delay", Trend, Time;
    ITERATION_DURATION_FROM_SCHEDULE = 20, "iteration_duration_from_schedule", Trend, Time;
    GENERATOR_CPU = 21, "generator_cpu", Gauge, Default;
    GENERATOR_TIMER_LAG = 22, "generator_timer_lag", Trend, Time;
}

/// All metrics of a test.
#[derive(Debug)]
pub struct Registry {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    defs: Vec<Arc<MetricDef>>,
    by_name: HashMap<Arc<str>, MetricId>,
}

/// Whether `name` is a valid metric name: k6's rule, letters, digits and `_`, not starting
/// with a digit, at most 128 characters.
pub fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 128
}

impl Registry {
    /// A registry with the built-in metrics.
    pub fn new() -> Self {
        let mut inner = Inner::default();
        for (name, kind, contains) in BUILTINS {
            let id = MetricId(inner.defs.len() as u16);
            let name: Arc<str> = Arc::from(*name);
            inner.defs.push(Arc::new(MetricDef {
                name: name.clone(),
                kind: *kind,
                contains: *contains,
                builtin: true,
            }));
            inner.by_name.insert(name, id);
        }
        Self {
            inner: RwLock::new(inner),
        }
    }

    /// Declares a custom metric, or returns the one of the same name, type and value type — a
    /// built-in one too, as in k6 (k6's jslib `check` adds to `checks` through its own `Rate`).
    pub fn register(
        &self,
        name: &str,
        kind: MetricType,
        contains: ValueType,
    ) -> Result<MetricId, String> {
        if let Some(id) = self.id(name) {
            let def = self.def(id);
            if def.kind != kind {
                return Err(format!(
                    "metric `{name}` already exists as a {}, not a {kind}",
                    def.kind
                ));
            }
            if def.contains != contains {
                return Err(format!(
                    "metric `{name}` already exists with {} values, not {}",
                    def.contains.name(),
                    contains.name()
                ));
            }
            return Ok(id);
        }
        if !valid_metric_name(name) {
            return Err(format!(
                "invalid metric name `{name}`: use letters, digits and `_`, not starting with a digit, at most 128 characters"
            ));
        }
        let mut inner = self.inner.write().expect("metric registry lock");
        if let Some(id) = inner.by_name.get(name) {
            return Ok(*id);
        }
        if inner.defs.len() >= usize::from(u16::MAX) {
            return Err("too many metrics".into());
        }
        let id = MetricId(inner.defs.len() as u16);
        let name: Arc<str> = Arc::from(name);
        inner.defs.push(Arc::new(MetricDef {
            name: name.clone(),
            kind,
            contains,
            builtin: false,
        }));
        inner.by_name.insert(name, id);
        Ok(id)
    }

    /// The metric named `name`.
    pub fn id(&self, name: &str) -> Option<MetricId> {
        self.inner
            .read()
            .expect("metric registry lock")
            .by_name
            .get(name)
            .copied()
    }

    /// The definition of `id`.
    pub fn def(&self, id: MetricId) -> Arc<MetricDef> {
        self.inner.read().expect("metric registry lock").defs[usize::from(id.0)].clone()
    }

    /// Every metric, in id order.
    pub fn all(&self) -> Vec<Arc<MetricDef>> {
        self.inner
            .read()
            .expect("metric registry lock")
            .defs
            .clone()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_have_k6_names_and_fixed_ids() {
        let r = Registry::new();
        assert_eq!(r.id("http_req_duration"), Some(builtin::HTTP_REQ_DURATION));
        assert_eq!(r.def(builtin::HTTP_REQS).kind, MetricType::Counter);
        assert_eq!(r.def(builtin::CHECKS).kind, MetricType::Rate);
        assert_eq!(r.def(builtin::DATA_SENT).contains, ValueType::Data);
    }

    #[test]
    fn custom_metrics_are_registered_once_and_typed() {
        let r = Registry::new();
        let a = r
            .register("login_time", MetricType::Trend, ValueType::Time)
            .unwrap();
        assert_eq!(
            r.register("login_time", MetricType::Trend, ValueType::Time)
                .unwrap(),
            a
        );
        assert!(r
            .register("login_time", MetricType::Counter, ValueType::Default)
            .is_err());
        assert!(r
            .register("login_time", MetricType::Trend, ValueType::Default)
            .is_err());
        assert_eq!(
            r.register("http_reqs", MetricType::Counter, ValueType::Default),
            Ok(builtin::HTTP_REQS)
        );
        assert_eq!(
            r.register("checks", MetricType::Rate, ValueType::Default),
            Ok(builtin::CHECKS)
        );
        assert!(r
            .register("http_reqs", MetricType::Trend, ValueType::Default)
            .is_err());
        assert!(r
            .register("http_req_duration", MetricType::Trend, ValueType::Default)
            .is_err());
        assert!(r
            .register("data_sent", MetricType::Counter, ValueType::Default)
            .is_err());
        assert!(r
            .register("9lives", MetricType::Counter, ValueType::Default)
            .is_err());
        assert!(r
            .register("has-dash", MetricType::Counter, ValueType::Default)
            .is_err());
    }
}
