//! `--out experimental-prometheus-rw`: the test's metrics pushed to a Prometheus remote-write
//! endpoint (remote-write 1.0: protobuf, snappy), named and labelled as k6 does.
//!
//! Every push interval, each series (a metric and a tag set) updated since the last push is
//! sent with its value since the start of the test: a counter as `k6_NAME_total`, a gauge as
//! `k6_NAME`, a rate as `k6_NAME_rate` (the share of non-zero samples) and as counts,
//! `k6_NAME_total{condition="nonzero"|"zero"}` (stampede's addition), a trend as one gauge
//! per trend statistic (`k6_NAME_p99`, `_min`, `_max`, `_avg`, `_med`, `_count`, `_sum`; times
//! in seconds) or, with `trendAsNativeHistogram`, as one native histogram `k6_NAME_seconds`.
//! Tags become labels; `url` only when asked (`urlLabel`), since a URL per request makes a
//! series per request.

pub mod proto;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use prost::Message;

use super::push::{PushConfig, Pusher};
use super::series::{Agg, Aggregator, Series, TrendAgg, TrendNeeds, ZERO_THRESHOLD};
use super::settings::{Key, Settings};
use super::{Output, OutputContext, OutputError, TrendStat};
use crate::metrics::{MetricId, Sample, TagSetId, ValueType};
use proto::{Histogram, Label, TimeSeries, WriteRequest};

/// The `--out` name, as k6 spells it.
pub const NAME: &str = "experimental-prometheus-rw";

/// Series per request: a very large test's push is split rather than sent as one huge body.
const SERIES_PER_REQUEST: usize = 2000;
/// Native histograms' schema: buckets grow by a factor of 2^(1/8) ≈ 1.09 (k6 asks
/// client_golang for a factor of 1.1, which gives this schema).
pub const NATIVE_SCHEMA: i32 = 3;
/// Prometheus' staleness marker, a NaN with this bit pattern.
const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

macro_rules! keys {
    ($($id:ident = $arg:literal, $env:literal;)*) => {
        $(const $id: Key = Key { arg: $arg, env: $env };)*
        const KEYS: &[Key] = &[$($id),*];
    };
}

keys! {
    URL = "url", "STAMPEDE_PROMETHEUS_RW_SERVER_URL";
    PUSH_INTERVAL = "pushInterval", "STAMPEDE_PROMETHEUS_RW_PUSH_INTERVAL";
    TREND_STATS = "trendStats", "STAMPEDE_PROMETHEUS_RW_TREND_STATS";
    NATIVE = "trendAsNativeHistogram", "STAMPEDE_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM";
    INSECURE = "insecureSkipTLSVerify", "STAMPEDE_PROMETHEUS_RW_INSECURE_SKIP_TLS_VERIFY";
    USERNAME = "username", "STAMPEDE_PROMETHEUS_RW_USERNAME";
    PASSWORD = "password", "STAMPEDE_PROMETHEUS_RW_PASSWORD";
    BEARER = "bearerToken", "STAMPEDE_PROMETHEUS_RW_BEARER_TOKEN";
    STALE = "staleMarkers", "STAMPEDE_PROMETHEUS_RW_STALE_MARKERS";
    URL_LABEL = "urlLabel", "STAMPEDE_PROMETHEUS_RW_URL_LABEL";
    PREFIX = "metricPrefix", "STAMPEDE_PROMETHEUS_RW_METRIC_PREFIX";
}

/// A trend statistic as a series name's suffix: `p(99)` → `p99`, `p(99.9)` → `p999`.
fn stat_suffix(stat: &TrendStat) -> String {
    match stat {
        TrendStat::Percentile(_) => stat.label().replace(['(', ')', '.'], ""),
        other => other.label(),
    }
}

/// A trend statistic remote-write can send: the summary's, and `sum`.
#[derive(Debug, Clone, PartialEq)]
pub enum RwStat {
    /// One of the summary's statistics.
    Stat(TrendStat),
    /// The sum of the samples.
    Sum,
}

/// The output's settings.
#[derive(Debug, Clone)]
pub struct RwConfig {
    /// Where to push.
    pub push: PushConfig,
    /// How often.
    pub push_interval: Duration,
    /// Trend statistics sent as gauges.
    pub trend_stats: Vec<RwStat>,
    /// Trends as native histograms instead.
    pub native: bool,
    /// Mark every series stale at the end.
    pub stale_markers: bool,
    /// Send the `url` tag as a label.
    pub url_label: bool,
    /// Prefix of every metric name.
    pub prefix: String,
}

impl RwConfig {
    /// From `STAMPEDE_PROMETHEUS_RW_*` in `env` and the `--out` argument (`key=value,…`).
    pub fn from(
        env: &std::collections::BTreeMap<String, String>,
        arg: Option<&str>,
    ) -> Result<Self, String> {
        let s = Settings::new(NAME, env, arg, KEYS)?;
        let url = s
            .string(&URL)
            .unwrap_or_else(|| "http://localhost:9090/api/v1/write".into());
        let trend_stats = match s.list(&TREND_STATS) {
            None => vec![RwStat::Stat(TrendStat::Percentile(99.0))],
            Some(list) if list.is_empty() => {
                return Err(format!("{}: no trend statistic given", TREND_STATS.env))
            }
            Some(list) => list
                .iter()
                .map(|t| match t.as_str() {
                    "sum" => Ok(RwStat::Sum),
                    other => TrendStat::parse(other)
                        .map(RwStat::Stat)
                        .map_err(|e| format!("{} for --out {NAME}: {e}, or sum", TREND_STATS.arg)),
                })
                .collect::<Result<_, _>>()?,
        };
        let mut headers = s.headers(
            "STAMPEDE_PROMETHEUS_RW_HEADERS_",
            "STAMPEDE_PROMETHEUS_RW_HTTP_HEADERS",
        )?;
        if let Some(user) = s.string(&USERNAME) {
            let pass = s.string(&PASSWORD).unwrap_or_default();
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            headers.push(("Authorization".into(), format!("Basic {token}")));
        }
        if let Some(token) = s.string(&BEARER).filter(|t| !t.is_empty()) {
            headers.push(("Authorization".into(), format!("Bearer {token}")));
        }
        Ok(RwConfig {
            push: PushConfig {
                url: PushConfig::parse_url(&url, NAME)?,
                headers,
                timeout: Duration::from_secs(5),
                insecure_skip_tls_verify: s.bool(&INSECURE)?.unwrap_or(false),
            },
            push_interval: s
                .duration(&PUSH_INTERVAL)?
                .unwrap_or(Duration::from_secs(5)),
            trend_stats,
            native: s.bool(&NATIVE)?.unwrap_or(false),
            stale_markers: s.bool(&STALE)?.unwrap_or(false),
            url_label: s.bool(&URL_LABEL)?.unwrap_or(false),
            prefix: s.string(&PREFIX).unwrap_or_else(|| "k6_".into()),
        })
    }
}

/// A tag's name as a valid label name: `[a-zA-Z_][a-zA-Z0-9_]*`, anything else becomes `_`.
pub fn label_name(tag: &str) -> String {
    let mut out: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The remote-write output.
pub struct RemoteWrite {
    config: RwConfig,
    ctx: OutputContext,
    agg: Aggregator,
    pusher: Pusher,
    labels: HashMap<TagSetId, Vec<Label>>,
    names: HashMap<MetricId, (String, ValueType)>,
    /// The timestamp (ms) last pushed per series: each push must move it forward.
    pushed: HashMap<(MetricId, TagSetId), i64>,
    /// Requests sent, for tests and the debug log.
    pub requests: u64,
    overflow_reported: u64,
}

impl RemoteWrite {
    /// An output with `config` for `ctx`'s test.
    pub fn new(config: RwConfig, ctx: &OutputContext) -> Result<Self, String> {
        let needs = TrendNeeds {
            percentiles: !config.native
                && config
                    .trend_stats
                    .iter()
                    .any(|s| matches!(s, RwStat::Stat(TrendStat::Percentile(_) | TrendStat::Med))),
            native_schema: config.native.then_some(NATIVE_SCHEMA),
            bounds: None,
        };
        Ok(Self {
            pusher: Pusher::new(config.push.clone())?,
            config,
            ctx: ctx.clone(),
            agg: Aggregator::new(needs),
            labels: HashMap::new(),
            names: HashMap::new(),
            pushed: HashMap::new(),
            requests: 0,
            overflow_reported: 0,
        })
    }

    fn tag_labels(&mut self, tags: TagSetId) -> Vec<Label> {
        let url_label = self.config.url_label;
        let metrics = &self.ctx.metrics;
        self.labels
            .entry(tags)
            .or_insert_with(|| {
                let set = metrics.tags.get(tags);
                let mut labels: Vec<Label> = Vec::new();
                for (k, v) in set.iter() {
                    let skip = v.is_empty() || k.starts_with("__") || (k == "url" && !url_label);
                    let name = label_name(k);
                    if !skip && !labels.iter().any(|l| l.name == name) {
                        labels.push(Label {
                            name,
                            value: v.to_owned(),
                        });
                    }
                }
                labels
            })
            .clone()
    }

    fn series_name(&mut self, metric: MetricId) -> (String, ValueType) {
        let metrics = &self.ctx.metrics;
        let prefix = &self.config.prefix;
        self.names
            .entry(metric)
            .or_insert_with(|| {
                let def = metrics.registry.def(metric);
                (format!("{prefix}{}", def.name), def.contains)
            })
            .clone()
    }

    /// The series to send for `s` at `ts` (ms).
    fn map(&mut self, s: &Series, ts: i64) -> Vec<TimeSeries> {
        let (name, contains) = self.series_name(s.metric);
        let tags = self.tag_labels(s.tags);
        let one = |suffix: &str, value: f64| TimeSeries {
            labels: with_name(&tags, &name, suffix),
            samples: vec![proto::Sample {
                value,
                timestamp: ts,
            }],
            histograms: Vec::new(),
        };
        match &s.agg {
            Agg::Counter(sum) => vec![one("total", *sum)],
            Agg::Gauge(v) => vec![one("", *v)],
            Agg::Rate { trues, total } => {
                let rate = if *total == 0 {
                    0.0
                } else {
                    *trues as f64 / *total as f64
                };
                // k6 sends the share only; the counts behind it (as k6's OpenTelemetry output
                // has them) let PromQL sum passes and failures across series.
                let count = |condition: &str, n: u64| {
                    let mut tags = tags.clone();
                    tags.retain(|l| l.name != "condition");
                    tags.push(Label {
                        name: "condition".into(),
                        value: condition.into(),
                    });
                    TimeSeries {
                        labels: with_name(&tags, &name, "total"),
                        samples: vec![proto::Sample {
                            value: n as f64,
                            timestamp: ts,
                        }],
                        histograms: Vec::new(),
                    }
                };
                vec![
                    one("rate", rate),
                    count("nonzero", *trues),
                    count("zero", total - trues),
                ]
            }
            Agg::Trend(t) if self.config.native => {
                let suffix = match contains {
                    ValueType::Time => "seconds",
                    ValueType::Data => "bytes",
                    ValueType::Default => "",
                };
                vec![TimeSeries {
                    labels: with_name(&tags, &name, suffix),
                    samples: Vec::new(),
                    histograms: vec![native(t, contains, ts)],
                }]
            }
            Agg::Trend(t) => self
                .config
                .trend_stats
                .iter()
                .map(|stat| {
                    let (suffix, v) = trend_value(t, stat, contains);
                    one(&suffix, v)
                })
                .collect(),
        }
    }

    fn push(&mut self, series: Vec<TimeSeries>) -> Result<(), String> {
        for chunk in series.chunks(SERIES_PER_REQUEST) {
            let body = WriteRequest {
                timeseries: chunk.to_vec(),
            }
            .encode_to_vec();
            let compressed = snap::raw::Encoder::new()
                .compress_vec(&body)
                .map_err(|e| format!("compressing a push: {e}"))?;
            let headers = [
                (
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-protobuf"),
                ),
                (
                    http::header::CONTENT_ENCODING,
                    HeaderValue::from_static("snappy"),
                ),
                (
                    HeaderName::from_static("x-prometheus-remote-write-version"),
                    HeaderValue::from_static("0.1.0"),
                ),
            ];
            self.requests += 1;
            self.pusher.post(Bytes::from(compressed), &headers)?;
        }
        Ok(())
    }

    fn wall_ms(&self, time: u64) -> i64 {
        self.ctx
            .wall(time)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as i64
    }
}

/// Labels `tags` plus `__name__` = `name[_suffix]`, sorted by name as the spec requires.
fn with_name(tags: &[Label], name: &str, suffix: &str) -> Vec<Label> {
    let mut labels = tags.to_vec();
    let full = if suffix.is_empty() {
        name.to_owned()
    } else {
        format!("{name}_{suffix}")
    };
    labels.push(Label {
        name: "__name__".into(),
        value: full,
    });
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    labels
}

/// A trend statistic's series suffix and value (times in seconds, Prometheus' base unit; a
/// count stays a count).
fn trend_value(t: &TrendAgg, stat: &RwStat, contains: ValueType) -> (String, f64) {
    let unit = |v: f64| {
        if contains == ValueType::Time {
            v / 1000.0
        } else {
            v
        }
    };
    match stat {
        RwStat::Sum => ("sum".into(), unit(t.sum)),
        RwStat::Stat(s) => {
            let v = match s {
                TrendStat::Avg => unit(t.avg()),
                TrendStat::Min => unit(t.min),
                TrendStat::Max => unit(t.max),
                TrendStat::Med => unit(t.percentile(50.0)),
                TrendStat::Count => t.count as f64,
                TrendStat::Percentile(p) => unit(t.percentile(*p)),
            };
            (stat_suffix(s), v)
        }
    }
}

fn native(t: &TrendAgg, contains: ValueType, ts: i64) -> Histogram {
    let (buckets, zero) = t.native.as_ref().map_or((None, 0), |(b, z)| (Some(b), *z));
    let (spans, deltas) = buckets.map_or((Vec::new(), Vec::new()), proto::spans_and_deltas);
    let sum = if contains == ValueType::Time {
        t.sum / 1000.0
    } else {
        t.sum
    };
    Histogram {
        count_int: t.count,
        sum,
        schema: NATIVE_SCHEMA,
        zero_threshold: ZERO_THRESHOLD,
        zero_count_int: zero,
        positive_spans: spans,
        positive_deltas: deltas,
        timestamp: ts,
    }
}

impl Output for RemoteWrite {
    fn description(&self) -> String {
        format!("Prometheus remote write ({})", self.config.push.url)
    }

    fn wants_samples(&self) -> bool {
        true
    }

    fn flush_interval(&self) -> Option<Duration> {
        Some(self.config.push_interval)
    }

    fn samples(&mut self, batch: &[Sample]) -> Result<(), OutputError> {
        if self.config.native {
            // Native buckets are of the base unit: seconds for times.
            for s in batch {
                if !self.names.contains_key(&s.metric) {
                    let (_, contains) = self.series_name(s.metric);
                    if contains == ValueType::Time {
                        self.agg.set_native_scale(s.metric, 1e-3);
                    }
                }
            }
        }
        let registry = self.ctx.metrics.registry.clone();
        self.agg.add_batch(batch, |m| registry.def(m).kind);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        // The aggregator is moved out while its series are mapped (the mapping fills caches
        // of `self`): no series, and no histogram, is copied.
        let mut agg = std::mem::replace(&mut self.agg, Aggregator::new(TrendNeeds::default()));
        let mut out = Vec::new();
        for s in agg.take_updated() {
            let key = (s.metric, s.tags);
            let latest = self.wall_ms(s.latest);
            let ts = match self.pushed.get(&key) {
                Some(&prev) => latest.max(prev + 1),
                None => latest,
            };
            self.pushed.insert(key, ts);
            out.extend(self.map(s, ts));
        }
        self.agg = agg;
        if !out.is_empty() {
            self.push(out)?;
        }
        super::series::overflowed(&self.agg, &mut self.overflow_reported)
    }

    fn report(&mut self, _report: &super::Report) -> Result<(), OutputError> {
        if !self.config.stale_markers {
            return Ok(());
        }
        // Every series ends now: Grafana stops drawing them instead of for 5 more minutes.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as i64;
        let agg = std::mem::replace(&mut self.agg, Aggregator::new(TrendNeeds::default()));
        let mut out = Vec::new();
        for s in agg.all() {
            let ts = now.max(self.pushed.get(&(s.metric, s.tags)).map_or(0, |p| p + 1));
            for mut series in self.map(s, ts) {
                series.histograms.clear();
                series.samples = vec![proto::Sample {
                    value: f64::from_bits(STALE_NAN),
                    timestamp: ts,
                }];
                out.push(series);
            }
        }
        self.agg = agg;
        self.push(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn settings_have_k6s_defaults_and_names() {
        let c = RwConfig::from(&BTreeMap::new(), None).unwrap();
        assert_eq!(c.push.url.to_string(), "http://localhost:9090/api/v1/write");
        assert_eq!(c.push_interval, Duration::from_secs(5));
        assert_eq!(
            c.trend_stats,
            vec![RwStat::Stat(TrendStat::Percentile(99.0))]
        );
        assert_eq!(c.prefix, "k6_");
        let mut env = BTreeMap::new();
        env.insert(
            "STAMPEDE_PROMETHEUS_RW_TREND_STATS".to_string(),
            "p(95),p(99.9),min,max,avg,count,sum".to_string(),
        );
        env.insert(
            "STAMPEDE_PROMETHEUS_RW_USERNAME".to_string(),
            "u".to_string(),
        );
        env.insert(
            "STAMPEDE_PROMETHEUS_RW_PASSWORD".to_string(),
            "p".to_string(),
        );
        let c = RwConfig::from(&env, Some("url=https://x:9/api/v1/write,pushInterval=1s")).unwrap();
        assert_eq!(c.trend_stats.len(), 7);
        assert_eq!(c.push_interval, Duration::from_secs(1));
        assert!(c
            .push
            .headers
            .contains(&("Authorization".into(), "Basic dTpw".into())));
        assert!(RwConfig::from(&BTreeMap::new(), Some("url=ftp://x")).is_err());
        env.insert(
            "STAMPEDE_PROMETHEUS_RW_TREND_STATS".to_string(),
            "p95".to_string(),
        );
        assert!(RwConfig::from(&env, None)
            .unwrap_err()
            .contains("trendStats"));
    }

    #[test]
    fn names_and_labels_follow_k6_and_prometheus_rules() {
        assert_eq!(stat_suffix(&TrendStat::Percentile(99.0)), "p99");
        assert_eq!(stat_suffix(&TrendStat::Percentile(99.9)), "p999");
        assert_eq!(stat_suffix(&TrendStat::Med), "med");
        assert_eq!(label_name("expected_response"), "expected_response");
        assert_eq!(label_name("my-tag.x"), "my_tag_x");
        assert_eq!(label_name("9lives"), "_9lives");
        let labels = with_name(
            &[
                Label {
                    name: "status".into(),
                    value: "200".into(),
                },
                Label {
                    name: "method".into(),
                    value: "GET".into(),
                },
            ],
            "k6_http_reqs",
            "total",
        );
        let names: Vec<&str> = labels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["__name__", "method", "status"]);
        assert_eq!(labels[0].value, "k6_http_reqs_total");
    }
}
