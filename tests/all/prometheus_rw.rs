//! `--out experimental-prometheus-rw` against a real Prometheus (Debian's `prometheus`,
//! started here with its remote-write receiver on a free port): PromQL over the pushed series
//! gives the summary's counts. Also: a receiver that never answers does not stall the test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::guests::guest;
use crate::support::{run_command, runtime, stampede, target, RunResult, TempDir};

/// A Prometheus server of our own, stopped on drop.
pub struct Prometheus {
    child: Child,
    pub port: u16,
    _dir: TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Prometheus {
    pub fn start(features: &[&str]) -> Prometheus {
        let dir = TempDir::new("prometheus");
        let config = dir.path("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 1h\n").unwrap();
        let port = free_port();
        let mut cmd = Command::new("prometheus");
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for f in features {
            cmd.arg(format!("--enable-feature={f}"));
        }
        let child = cmd.spawn().expect(
            "starting prometheus (Debian's `prometheus` package; tests/run.sh installs it)",
        );
        let p = Prometheus {
            child,
            port,
            _dir: dir,
        };
        let started = Instant::now();
        while get(port, "/-/ready").map(|(s, _)| s) != Some(200) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "prometheus did not get ready"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        p
    }

    pub fn write_url(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1/write", self.port)
    }

    /// The value of a PromQL query returning one sample (`None` for an empty result).
    pub fn scalar(&self, query: &str) -> Option<f64> {
        let path = format!("/api/v1/query?query={}", encode(query));
        let (status, body) = get(self.port, &path).expect("querying prometheus");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(status, 200, "{query}: {body}");
        let result = v["data"]["result"].as_array().unwrap();
        let first = result.first()?;
        let value = &first["value"][1];
        Some(value.as_str().unwrap().parse().unwrap())
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A plain HTTP/1.0 GET on 127.0.0.1: status and body.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

fn run_probe(args: &[&str], env: &[(&str, &str)]) -> RunResult {
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("rw-run");
    let export = dir.path("summary.json");
    let mut cmd = stampede();
    cmd.arg("run")
        .arg(guest("probe"))
        .args(["-e", &format!("BASE_URL={}", server.url()), "-q"])
        .args(args)
        .arg("--summary-export")
        .arg(&export);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_command(cmd, Some(&export))
}

#[test]
fn promql_over_pushed_series_gives_the_summarys_counts() {
    let prom = Prometheus::start(&[]);
    let url = prom.write_url();
    let r = run_probe(
        &[
            "-u",
            "4",
            "-d",
            "3s",
            "--out",
            "experimental-prometheus-rw",
            "--tag",
            "testid=rw-1",
        ],
        &[
            ("STAMPEDE_PROMETHEUS_RW_SERVER_URL", &url),
            ("STAMPEDE_PROMETHEUS_RW_PUSH_INTERVAL", "1s"),
            (
                "STAMPEDE_PROMETHEUS_RW_TREND_STATS",
                "p(99),p(95),min,max,avg,med,count,sum",
            ),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    let reqs = r.metric("http_reqs", "count");
    assert!(reqs > 10.0, "{reqs}");
    let q = |query: &str| {
        prom.scalar(query)
            .unwrap_or_else(|| panic!("no result for {query}"))
    };
    assert_eq!(q("sum(k6_http_reqs_total{testid=\"rw-1\"})"), reqs);
    assert_eq!(
        q("sum(k6_checks_total{condition=\"nonzero\"})"),
        r.metric("checks", "passes")
    );
    assert_eq!(
        q("sum(k6_iterations_total)"),
        r.metric("iterations", "count")
    );
    assert_eq!(q("sum(k6_http_req_duration_count)"), reqs);
    assert_eq!(q("max(k6_checks_rate)"), 1.0);
    // Times are in seconds; p(99) lies between min and max.
    let (min, p99, max) = (
        q("min(k6_http_req_duration_min)"),
        q("max(k6_http_req_duration_p99)"),
        q("max(k6_http_req_duration_max)"),
    );
    assert!(min <= p99 && p99 <= max && max < 5.0, "{min} {p99} {max}");
    assert!((max * 1000.0 - r.metric("http_req_duration", "max")).abs() < 0.01);
    // k6's labels; the URL only when asked for.
    assert_eq!(
        q("sum(k6_http_reqs_total{method=\"GET\",status=\"200\",scenario=\"default\",expected_response=\"true\"})"),
        reqs
    );
    assert_eq!(prom.scalar("count(k6_http_reqs_total{url!=\"\"})"), None);
    assert_eq!(q("max(k6_vus)"), 4.0);
}

#[test]
fn trends_as_native_histograms_count_every_request() {
    let prom = Prometheus::start(&["native-histograms"]);
    let url = prom.write_url();
    let r = run_probe(
        &[
            "-u",
            "2",
            "-i",
            "40",
            "--out",
            &format!(
                "experimental-prometheus-rw=url={url},trendAsNativeHistogram=true,urlLabel=true"
            ),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    let reqs = r.metric("http_reqs", "count");
    let count = prom
        .scalar("sum(histogram_count(k6_http_req_duration_seconds))")
        .expect("a native histogram series");
    assert_eq!(count, reqs);
    let sum = prom
        .scalar("sum(histogram_sum(k6_http_req_duration_seconds))")
        .unwrap();
    let avg_ms = r.metric("http_req_duration", "avg");
    assert!(
        (sum / reqs * 1000.0 - avg_ms).abs() < 0.01,
        "{sum} {avg_ms}"
    );
    let p50 = prom
        .scalar("histogram_quantile(0.5, sum(k6_http_req_duration_seconds))")
        .unwrap();
    let med = r.metric("http_req_duration", "med") / 1000.0;
    // Buckets grow by 9%: the estimate lies within a bucket of the exact median.
    assert!(p50 / med < 1.1 && med / p50 < 1.1, "{p50} vs {med}");
    assert!(prom
        .scalar("count(k6_http_reqs_total{url!=\"\"})")
        .is_some());
}

/// Accepts connections and never answers.
fn black_hole() -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut held = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let until = Instant::now() + Duration::from_secs(90);
        while Instant::now() < until {
            match listener.accept() {
                Ok((s, _)) => held.push(s),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    });
    (port, handle)
}

#[test]
fn a_receiver_that_never_answers_does_not_stall_the_test() {
    let (port, _hole) = black_hole();
    let started = Instant::now();
    let r = run_probe(
        &[
            "-u",
            "4",
            "-d",
            "4s",
            "--out",
            "experimental-prometheus-rw=pushInterval=1s",
        ],
        &[(
            "STAMPEDE_PROMETHEUS_RW_SERVER_URL",
            &format!("http://127.0.0.1:{port}/api/v1/write"),
        )],
    );
    assert_eq!(
        r.code,
        0,
        "an output's failure is not the test's: {}",
        r.output()
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let outputs = &r.summary.as_ref().unwrap()["generator"]["outputs"];
    let rw = &outputs[0];
    assert!(
        rw["errors"].as_u64().unwrap() > 0 || rw["unfinished"] == true,
        "{outputs}"
    );
    assert!(
        r.stdout.contains("output"),
        "the summary names the output: {}",
        r.stdout
    );
    assert!(r.metric("http_reqs", "count") > 10.0);
}
