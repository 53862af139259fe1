//! Custom metrics: counters, gauges, rates and trends, merged with the built-in metrics,
//! shown in the summary and usable in thresholds.
//!
//! Declare them as `static`s; each registers itself on first use. To put a threshold on a
//! custom metric, also list it in [`script!`](crate::script)'s `metrics: [...]`, so stampede
//! knows it before the test starts.
//!
//! ```no_run
//! use stampede::{Counter, Trend};
//!
//! static LOGIN_TIME: Trend = Trend::time("login_time");
//! static ORDERS: Counter = Counter::new("orders_placed");
//!
//! fn iteration() {
//!     LOGIN_TIME.add(12.5);
//!     ORDERS.add_tagged(1.0, &[("shop", "eu")]);
//! }
//! stampede::script! { metrics: [&LOGIN_TIME, &ORDERS], default: iteration }
//! ```

use std::sync::OnceLock;

use crate::bindings::stampede::script::metrics::{self as wit, MetricType};

struct Metric {
    name: &'static str,
    kind: MetricType,
    is_time: bool,
    id: OnceLock<u32>,
}

impl Metric {
    const fn new(name: &'static str, kind: MetricType, is_time: bool) -> Self {
        Self {
            name,
            kind,
            is_time,
            id: OnceLock::new(),
        }
    }

    fn id(&self) -> u32 {
        *self
            .id
            .get_or_init(|| match wit::register(self.name, self.kind, self.is_time) {
                Ok(id) => id,
                // A misdeclared metric is a bug in the script: stop the iteration and say why.
                Err(e) => panic!("custom metric `{}` could not be registered: {e}", self.name),
            })
    }

    fn add(&self, value: f64, tags: &[(&str, &str)]) {
        let tags: Vec<(String, String)> = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        wit::add(self.id(), value, &tags);
    }
}

/// Something that can be declared to stampede before the test starts.
pub trait Declare {
    /// Registers the metric now rather than on first use.
    fn declare(&self);
}

impl<T: Declare + ?Sized> Declare for &T {
    fn declare(&self) {
        (**self).declare();
    }
}

macro_rules! metric_type {
    ($(#[$doc:meta])* $ty:ident, $kind:ident, $add:ident, $value:ty, $conv:expr) => {
        $(#[$doc])*
        pub struct $ty(Metric);

        impl $ty {
            /// Declares the metric `name` (letters, digits and `_`, starting with a letter or `_`).
            pub const fn new(name: &'static str) -> Self {
                Self(Metric::new(name, MetricType::$kind, false))
            }

            /// Adds a sample.
            pub fn $add(&self, value: $value) {
                self.0.add($conv(value), &[]);
            }

            /// Adds a sample with extra tags.
            pub fn add_tagged(&self, value: $value, tags: &[(&str, &str)]) {
                self.0.add($conv(value), tags);
            }

            /// The metric's name.
            pub fn name(&self) -> &'static str {
                self.0.name
            }
        }

        impl Declare for $ty {
            fn declare(&self) {
                self.0.id();
            }
        }
    };
}

metric_type!(
    /// A cumulative sum; the summary shows its total and rate per second.
    Counter, Counter, add, f64, |v| v
);
metric_type!(
    /// The latest value; the summary shows it with its min and max.
    Gauge, Gauge, set, f64, |v| v
);
metric_type!(
    /// The share of `true` samples; the summary shows it as a percentage.
    Rate, Rate, add, bool, |v: bool| if v { 1.0 } else { 0.0 }
);
metric_type!(
    /// A distribution; the summary shows avg, min, med, max, p(90) and p(95).
    Trend, Trend, add, f64, |v| v
);

impl Trend {
    /// Declares a trend whose values are milliseconds: shown as durations (`12.5ms`).
    pub const fn time(name: &'static str) -> Self {
        Self(Metric::new(name, MetricType::Trend, true))
    }
}
