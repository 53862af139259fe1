//! `--out opentelemetry` against a receiver in the test that decodes OTLP/HTTP requests with
//! the official protobuf definitions (`opentelemetry-proto`): the exported totals are the
//! summary's. (No registry reachable here ships a runnable OpenTelemetry Collector with an
//! OTLP receiver.)

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point::Value, Metric};
use prost::Message;

use crate::guests::guest;
use crate::support::{run_command, runtime, stampede, target, TempDir};

type Received = Arc<Mutex<Vec<(String, ExportMetricsServiceRequest)>>>;

/// An OTLP/HTTP receiver on a free port: every request decoded, with its content type.
fn receiver(rt: &tokio::runtime::Runtime) -> (u16, Received) {
    let got: Received = Arc::default();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let store = got.clone();
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let store = store.clone();
                        async move {
                            let path = req.uri().path().to_owned();
                            let ctype = req
                                .headers()
                                .get("content-type")
                                .map(|v| v.to_str().unwrap_or("").to_owned())
                                .unwrap_or_default();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let decoded = ExportMetricsServiceRequest::decode(body)
                                .expect("a valid OTLP request");
                            assert_eq!(path, "/v1/metrics");
                            store.lock().unwrap().push((ctype, decoded));
                            let answer = ExportMetricsServiceResponse::default().encode_to_vec();
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(answer))))
                        }
                    });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    (port, got)
}

fn metric<'a>(req: &'a ExportMetricsServiceRequest, name: &str) -> Option<&'a Metric> {
    req.resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .find(|m| m.name == name)
}

fn sum_points(m: &Metric, attr: Option<(&str, &str)>) -> f64 {
    let Some(Data::Sum(sum)) = &m.data else {
        panic!("{} is not a sum", m.name)
    };
    assert!(sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, 2, "cumulative");
    sum.data_points
        .iter()
        .filter(|p| {
            attr.is_none_or(|(k, v)| {
                p.attributes.iter().any(|a| {
                    a.key == k
                        && matches!(&a.value.as_ref().and_then(|v| v.value.clone()), Some(AnyValue::StringValue(s)) if s == v)
                })
            })
        })
        .map(|p| match p.value {
            Some(Value::AsDouble(d)) => d,
            Some(Value::AsInt(i)) => i as f64,
            None => 0.0,
        })
        .sum()
}

#[test]
fn exported_totals_are_the_summarys() {
    let rt = runtime();
    let server = target(&rt);
    let (port, got) = receiver(&rt);
    let dir = TempDir::new("otlp");
    let export = dir.path("summary.json");
    let mut cmd = stampede();
    cmd.arg("run")
        .arg(guest("probe"))
        .args(["-e", &format!("BASE_URL={}", server.url()), "-q"])
        .args([
            "-u",
            "3",
            "-d",
            "3s",
            "--out",
            "opentelemetry=exportInterval=1s",
        ])
        .arg("--summary-export")
        .arg(&export)
        .env("STAMPEDE_OTEL_HTTP_EXPORTER_INSECURE", "true")
        .env(
            "STAMPEDE_OTEL_HTTP_EXPORTER_ENDPOINT",
            format!("127.0.0.1:{port}"),
        )
        .env("STAMPEDE_OTEL_SERVICE_NAME", "checkout-load");
    let r = run_command(cmd, Some(&export));
    assert_eq!(r.code, 0, "{}", r.output());
    let got = got.lock().unwrap();
    assert!(
        got.len() >= 2,
        "periodic exports and a last one: {}",
        got.len()
    );
    assert!(got.iter().all(|(ct, _)| ct == "application/x-protobuf"));
    let last = &got.last().unwrap().1;
    let resource = last.resource_metrics[0].resource.as_ref().unwrap();
    assert!(resource.attributes.iter().any(|a| a.key == "service.name"
        && matches!(&a.value.as_ref().unwrap().value, Some(AnyValue::StringValue(s)) if s == "checkout-load")));

    let reqs = r.metric("http_reqs", "count");
    assert_eq!(sum_points(metric(last, "http_reqs").unwrap(), None), reqs);
    assert_eq!(
        sum_points(
            metric(last, "checks.total").unwrap(),
            Some(("condition", "nonzero"))
        ),
        r.metric("checks", "passes")
    );
    assert_eq!(
        sum_points(metric(last, "iterations").unwrap(), None),
        r.metric("iterations", "count")
    );
    let duration = metric(last, "http_req_duration").unwrap();
    assert_eq!(duration.unit, "ms");
    let Some(Data::Histogram(h)) = &duration.data else {
        panic!("a histogram")
    };
    let count: u64 = h.data_points.iter().map(|p| p.count).sum();
    assert_eq!(count as f64, reqs);
    for p in &h.data_points {
        assert_eq!(p.bucket_counts.iter().sum::<u64>(), p.count);
        assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1);
    }
    let max = h
        .data_points
        .iter()
        .filter_map(|p| p.max)
        .fold(0.0, f64::max);
    assert!((max - r.metric("http_req_duration", "max")).abs() < 1e-9);
    assert_eq!(metric(last, "data_sent").unwrap().unit, "By");
}
