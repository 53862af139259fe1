//! `--out opentelemetry`: the test's metrics exported as OpenTelemetry metrics over OTLP
//! (HTTP/protobuf), with k6's names and shapes, on the official protobuf definitions
//! (`opentelemetry-proto`).
//!
//! Cumulative temporality, every export interval: a counter is a monotonic sum, a gauge a
//! gauge, a trend a histogram (the SDK's default bucket bounds, in the metric's unit: `ms` for
//! times, `By` for data), and a rate a monotonic integer sum `NAME.total` with a `condition`
//! attribute, `zero` or `nonzero` — so a backend computes the rate as k6's OpenTelemetry
//! output lets it. Tags are attributes.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::HeaderValue;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use super::push::{PushConfig, Pusher};
use super::series::{Agg, Aggregator, Series, TrendNeeds};
use super::settings::{Key, Settings};
use super::{Output, OutputContext, OutputError};
use crate::metrics::{MetricId, Sample, TagSetId, ValueType};

/// The `--out` name, as k6 spells it.
pub const NAME: &str = "opentelemetry";

/// The OpenTelemetry SDKs' default histogram bucket bounds (as k6's output gets them).
pub const DEFAULT_BOUNDS: [f64; 15] = [
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

macro_rules! keys {
    ($($id:ident = $arg:literal, $env:literal;)*) => {
        $(const $id: Key = Key { arg: $arg, env: $env };)*
        const KEYS: &[Key] = &[$($id),*];
    };
}

keys! {
    SERVICE_NAME = "serviceName", "STAMPEDE_OTEL_SERVICE_NAME";
    SERVICE_VERSION = "serviceVersion", "STAMPEDE_OTEL_SERVICE_VERSION";
    PREFIX = "metricPrefix", "STAMPEDE_OTEL_METRIC_PREFIX";
    FLUSH_INTERVAL = "flushInterval", "STAMPEDE_OTEL_FLUSH_INTERVAL";
    EXPORT_INTERVAL = "exportInterval", "STAMPEDE_OTEL_EXPORT_INTERVAL";
    PROTOCOL = "exporterProtocol", "STAMPEDE_OTEL_EXPORTER_PROTOCOL";
    HTTP_INSECURE = "httpExporterInsecure", "STAMPEDE_OTEL_HTTP_EXPORTER_INSECURE";
    HTTP_ENDPOINT = "httpExporterEndpoint", "STAMPEDE_OTEL_HTTP_EXPORTER_ENDPOINT";
    HTTP_PATH = "httpExporterURLPath", "STAMPEDE_OTEL_HTTP_EXPORTER_URL_PATH";
    TLS_SKIP = "tlsInsecureSkipVerify", "STAMPEDE_OTEL_TLS_INSECURE_SKIP_VERIFY";
    USERNAME = "username", "STAMPEDE_OTEL_HTTP_EXPORTER_USERNAME";
    PASSWORD = "password", "STAMPEDE_OTEL_HTTP_EXPORTER_PASSWORD";
}

/// The output's settings.
#[derive(Debug, Clone)]
pub struct OtlpConfig {
    /// Where to export.
    pub push: PushConfig,
    /// How often.
    pub export_interval: Duration,
    /// `service.name` of the resource.
    pub service_name: String,
    /// `service.version` of the resource.
    pub service_version: String,
    /// Prefix of every metric name.
    pub prefix: String,
}

/// k6's `K6_OTEL_HEADERS`: `k1=v1,k2=v2`, keys and values percent-encoded.
fn parse_headers(raw: &str, var: &str) -> Result<Vec<(String, String)>, String> {
    raw.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("{var}: `{pair}` is not key=value"))?;
            let dec = |s: &str| {
                percent_decode(s.trim()).ok_or_else(|| format!("{var}: bad escape in `{pair}`"))
            };
            Ok((dec(k)?, dec(v)?))
        })
        .collect()
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl OtlpConfig {
    /// From `STAMPEDE_OTEL_*` (and `OTEL_SERVICE_NAME`) in `env` and the `--out` argument.
    pub fn from(env: &BTreeMap<String, String>, arg: Option<&str>) -> Result<Self, String> {
        let s = Settings::new(NAME, env, arg, KEYS)?;
        let protocol = s
            .one_of(&PROTOCOL, &["http/protobuf", "grpc"])?
            .unwrap_or_else(|| "http/protobuf".into());
        if protocol == "grpc" {
            return Err(format!(
                "{}=grpc: stampede exports OTLP over HTTP/protobuf only; set it to http/protobuf \
                 and point {} at the collector's OTLP/HTTP port (4318)",
                PROTOCOL.env, HTTP_ENDPOINT.env
            ));
        }
        let endpoint = s
            .string(&HTTP_ENDPOINT)
            .unwrap_or_else(|| "localhost:4318".into());
        if endpoint.contains("://") {
            return Err(format!(
                "{}={endpoint}: give HOST:PORT without a scheme (as k6 does); {} chooses http",
                HTTP_ENDPOINT.env, HTTP_INSECURE.env
            ));
        }
        let path = s.string(&HTTP_PATH).unwrap_or_else(|| "/v1/metrics".into());
        let scheme = if s.bool(&HTTP_INSECURE)?.unwrap_or(false) {
            "http"
        } else {
            "https"
        };
        let url = PushConfig::parse_url(&format!("{scheme}://{endpoint}{path}"), NAME)?;
        let mut headers = match env.get("STAMPEDE_OTEL_HEADERS") {
            Some(raw) => parse_headers(raw, "STAMPEDE_OTEL_HEADERS")?,
            None => Vec::new(),
        };
        headers.extend(s.headers("STAMPEDE_OTEL_HEADERS_", "STAMPEDE_OTEL_HTTP_HEADERS")?);
        if let Some(user) = s.string(&USERNAME) {
            use base64::Engine as _;
            let pass = s.string(&PASSWORD).unwrap_or_default();
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            headers.push(("Authorization".into(), format!("Basic {token}")));
        }
        // Samples are folded as they arrive: k6's flushInterval has nothing to do here, but
        // a bad value is still an error.
        let _ = s.duration(&FLUSH_INTERVAL)?;
        Ok(OtlpConfig {
            push: PushConfig {
                url,
                headers,
                timeout: Duration::from_secs(10),
                insecure_skip_tls_verify: s.bool(&TLS_SKIP)?.unwrap_or(false),
            },
            export_interval: s
                .duration(&EXPORT_INTERVAL)?
                .unwrap_or(Duration::from_secs(10)),
            service_name: s
                .string(&SERVICE_NAME)
                .or_else(|| env.get("OTEL_SERVICE_NAME").cloned())
                .unwrap_or_else(|| "stampede".into()),
            service_version: s
                .string(&SERVICE_VERSION)
                .unwrap_or_else(|| env!("CARGO_PKG_VERSION").into()),
            prefix: s.string(&PREFIX).unwrap_or_default(),
        })
    }
}

fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

/// The OTLP output.
pub struct Otlp {
    config: OtlpConfig,
    ctx: OutputContext,
    agg: Aggregator,
    pusher: Pusher,
    attributes: HashMap<TagSetId, Vec<KeyValue>>,
    start_ns: u64,
    changed: bool,
    /// Exports sent.
    pub exports: u64,
    overflow_reported: u64,
}

impl Otlp {
    /// An output with `config` for `ctx`'s test.
    pub fn new(config: OtlpConfig, ctx: &OutputContext) -> Result<Self, String> {
        Ok(Self {
            pusher: Pusher::new(config.push.clone())?,
            agg: Aggregator::new(TrendNeeds {
                bounds: Some(DEFAULT_BOUNDS.to_vec()),
                ..TrendNeeds::default()
            }),
            config,
            ctx: ctx.clone(),
            attributes: HashMap::new(),
            start_ns: now_ns(),
            changed: false,
            exports: 0,
            overflow_reported: 0,
        })
    }

    fn attrs(&mut self, tags: TagSetId) -> Vec<KeyValue> {
        let metrics = &self.ctx.metrics;
        self.attributes
            .entry(tags)
            .or_insert_with(|| {
                metrics
                    .tags
                    .get(tags)
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| string_kv(k, v))
                    .collect()
            })
            .clone()
    }

    /// Every series as OTLP metrics, one per metric name.
    fn metrics(&mut self) -> Vec<Metric> {
        let now = now_ns();
        // Moved out while mapped (attributes are cached in `self`): nothing is copied.
        let agg = std::mem::replace(&mut self.agg, Aggregator::new(TrendNeeds::default()));
        let mut by_metric: BTreeMap<MetricId, Metric> = BTreeMap::new();
        for s in agg.all() {
            let attributes = self.attrs(s.tags);
            let def = self.ctx.metrics.registry.def(s.metric);
            let unit = match def.contains {
                ValueType::Time => "ms",
                ValueType::Data => "By",
                ValueType::Default => "",
            };
            let name = match &s.agg {
                Agg::Rate { .. } => format!("{}{}.total", self.config.prefix, def.name),
                _ => format!("{}{}", self.config.prefix, def.name),
            };
            let entry = by_metric.entry(s.metric).or_insert_with(|| Metric {
                name,
                unit: if matches!(s.agg, Agg::Rate { .. }) {
                    ""
                } else {
                    unit
                }
                .to_owned(),
                data: Some(empty_data(&s.agg)),
                ..Default::default()
            });
            add_points(entry, s, attributes, self.start_ns, now);
        }
        self.agg = agg;
        by_metric.into_values().collect()
    }

    fn export(&mut self) -> Result<(), String> {
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: vec![
                        string_kv("service.name", &self.config.service_name),
                        string_kv("service.version", &self.config.service_version),
                    ],
                    ..Default::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "stampede".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..Default::default()
                    }),
                    metrics: self.metrics(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let headers = [(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        )];
        self.exports += 1;
        let answer = self
            .pusher
            .post(Bytes::from(request.encode_to_vec()), &headers)?;
        // A receiver may take the request and still reject some points: say so.
        if let Ok(res) = ExportMetricsServiceResponse::decode(answer.body) {
            if let Some(p) = res.partial_success.filter(|p| p.rejected_data_points > 0) {
                return Err(format!(
                    "the receiver rejected {} data points: {}",
                    p.rejected_data_points, p.error_message
                ));
            }
        }
        Ok(())
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64
}

fn empty_data(agg: &Agg) -> metric::Data {
    let cumulative = AggregationTemporality::Cumulative as i32;
    match agg {
        Agg::Counter(_) | Agg::Rate { .. } => metric::Data::Sum(Sum {
            data_points: Vec::new(),
            aggregation_temporality: cumulative,
            is_monotonic: true,
        }),
        Agg::Gauge(_) => metric::Data::Gauge(Gauge {
            data_points: Vec::new(),
        }),
        Agg::Trend(_) => metric::Data::Histogram(Histogram {
            data_points: Vec::new(),
            aggregation_temporality: cumulative,
        }),
    }
}

fn number(
    attributes: Vec<KeyValue>,
    start: u64,
    now: u64,
    value: number_data_point::Value,
) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: now,
        value: Some(value),
        ..Default::default()
    }
}

fn add_points(m: &mut Metric, s: &Series, attributes: Vec<KeyValue>, start: u64, now: u64) {
    use number_data_point::Value;
    match (&mut m.data, &s.agg) {
        (Some(metric::Data::Sum(sum)), Agg::Counter(v)) => {
            sum.data_points
                .push(number(attributes, start, now, Value::AsDouble(*v)));
        }
        (Some(metric::Data::Sum(sum)), Agg::Rate { trues, total }) => {
            for (condition, n) in [("nonzero", *trues), ("zero", total - trues)] {
                let mut attrs = attributes.clone();
                // Attribute keys are unique: a tag called `condition` gives way.
                attrs.retain(|a| a.key != "condition");
                attrs.push(string_kv("condition", condition));
                sum.data_points
                    .push(number(attrs, start, now, Value::AsInt(n as i64)));
            }
        }
        (Some(metric::Data::Gauge(g)), Agg::Gauge(v)) => {
            g.data_points
                .push(number(attributes, start, now, Value::AsDouble(*v)));
        }
        (Some(metric::Data::Histogram(h)), Agg::Trend(t)) => {
            h.data_points.push(HistogramDataPoint {
                attributes,
                start_time_unix_nano: start,
                time_unix_nano: now,
                count: t.count,
                sum: Some(t.sum),
                bucket_counts: t.buckets.clone().unwrap_or_default(),
                explicit_bounds: DEFAULT_BOUNDS.to_vec(),
                min: (t.count > 0).then_some(t.min),
                max: (t.count > 0).then_some(t.max),
                ..Default::default()
            });
        }
        _ => {}
    }
}

impl Output for Otlp {
    fn description(&self) -> String {
        format!("opentelemetry (http/protobuf, {})", self.config.push.url)
    }

    fn wants_samples(&self) -> bool {
        true
    }

    fn flush_interval(&self) -> Option<Duration> {
        Some(self.config.export_interval)
    }

    fn samples(&mut self, batch: &[Sample]) -> Result<(), OutputError> {
        let registry = self.ctx.metrics.registry.clone();
        self.agg.add_batch(batch, |m| registry.def(m).kind);
        self.changed |= !batch.is_empty();
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        if !self.changed {
            return Ok(());
        }
        self.changed = false;
        let _ = self.agg.take_updated();
        self.export()?;
        super::series::overflowed(&self.agg, &mut self.overflow_reported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_follow_k6s_names_and_defaults() {
        let c = OtlpConfig::from(&BTreeMap::new(), None).unwrap();
        assert_eq!(c.push.url.to_string(), "https://localhost:4318/v1/metrics");
        assert_eq!(c.export_interval, Duration::from_secs(10));
        assert_eq!(c.service_name, "stampede");
        let mut env = BTreeMap::new();
        env.insert("STAMPEDE_OTEL_HTTP_EXPORTER_INSECURE".into(), "true".into());
        env.insert(
            "STAMPEDE_OTEL_HTTP_EXPORTER_ENDPOINT".into(),
            "127.0.0.1:9".into(),
        );
        env.insert("STAMPEDE_OTEL_HEADERS".into(), "a=1,b%20c=d%3De".into());
        env.insert("OTEL_SERVICE_NAME".into(), "checkout-load".into());
        let c = OtlpConfig::from(&env, Some("exportInterval=2s")).unwrap();
        assert_eq!(c.push.url.to_string(), "http://127.0.0.1:9/v1/metrics");
        assert_eq!(c.export_interval, Duration::from_secs(2));
        assert_eq!(c.service_name, "checkout-load");
        assert!(c.push.headers.contains(&("b c".into(), "d=e".into())));
        env.insert("STAMPEDE_OTEL_EXPORTER_PROTOCOL".into(), "grpc".into());
        assert!(OtlpConfig::from(&env, None)
            .unwrap_err()
            .contains("http/protobuf"));
        env.insert(
            "STAMPEDE_OTEL_EXPORTER_PROTOCOL".into(),
            "http/protobuf".into(),
        );
        env.insert(
            "STAMPEDE_OTEL_HTTP_EXPORTER_ENDPOINT".into(),
            "http://x:1".into(),
        );
        assert!(OtlpConfig::from(&env, None)
            .unwrap_err()
            .contains("without a scheme"));
    }
}
