//! The options stampede took from k6, each shown by its effect on a real run against a real
//! server: connection reuse, `hosts`, `dns`, `rps`, `batch`, `throw`, `minIterationDuration`,
//! `systemTags`, `userAgent`, `httpDebug`, `consoleOutput` and `summaryTimeUnit`.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::guests::guest;
use crate::support::{run, runtime, target, RunResult, TempDir};

/// The probe against the built-in target, with `args`; also the requests and connections the
/// target saw.
fn probe(args: &[&str]) -> (RunResult, u64, u64) {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let mut all = vec!["-e", base.as_str(), "-q"];
    all.extend_from_slice(args);
    let r = run(&guest("probe"), &all);
    assert_eq!(r.code, 0, "{}", r.output());
    (r, server.stats().requests(), server.stats().connections())
}

#[test]
fn no_connection_reuse_opens_a_connection_per_request() {
    let (_, requests, connections) = probe(&["-i", "6"]);
    assert_eq!((requests, connections), (6, 1), "keep-alive by default");
    let (_, requests, connections) = probe(&["-i", "6", "--no-connection-reuse"]);
    assert_eq!((requests, connections), (6, 6));
    let (_, _, connections) = probe(&["-i", "6", "-e", r#"OPTIONS={"noConnectionReuse": true}"#]);
    assert_eq!(connections, 6, "the option does what the flag does");
}

#[test]
fn no_vu_connection_reuse_keeps_connections_within_an_iteration_only() {
    // Two requests per iteration (the probe's groups).
    let (_, requests, connections) = probe(&["-i", "4", "-e", "MODE=group"]);
    assert_eq!((requests, connections), (8, 1));
    let (_, requests, connections) =
        probe(&["-i", "4", "-e", "MODE=group", "--no-vu-connection-reuse"]);
    assert_eq!((requests, connections), (8, 4));
}

#[test]
fn hosts_send_names_to_the_addresses_given() {
    let rt = runtime();
    let server = target(&rt);
    let port = server.addr().port();
    for (hosts, url) in [
        (
            format!(r#"{{"test.k6.io": "127.0.0.1:{port}"}}"#),
            "http://test.k6.io".to_string(),
        ),
        // A host:port entry, and the request's own port kept by a host entry.
        (
            format!(r#"{{"api.test:80": "127.0.0.1:{port}"}}"#),
            "http://api.test".to_string(),
        ),
        (
            r#"{"API.test": "127.0.0.1"}"#.to_string(),
            format!("http://api.test:{port}"),
        ),
        // Wildcards.
        (
            format!(r#"{{"*.svc.test": "127.0.0.1:{port}"}}"#),
            "http://web.svc.test".to_string(),
        ),
    ] {
        let before = server.stats().requests();
        let options = format!(r#"OPTIONS={{"hosts": {hosts}}}"#);
        let base = format!("BASE_URL={url}");
        let r = run(
            &guest("probe"),
            &["-q", "-i", "2", "-e", &options, "-e", &base],
        );
        assert_eq!(r.code, 0, "{}", r.output());
        assert_eq!(r.metric("checks", "passes"), 2.0, "{hosts}: {}", r.output());
        assert_eq!(server.stats().requests() - before, 2, "{hosts}");
    }
    // A name no entry matches is resolved as usual.
    let base = format!("BASE_URL=http://localhost:{port}");
    let r = run(
        &guest("probe"),
        &[
            "-q",
            "-i",
            "1",
            "-e",
            r#"OPTIONS={"hosts": {"*.svc.test": "192.0.2.1"}}"#,
            "-e",
            &base,
        ],
    );
    assert_eq!(r.metric("checks", "passes"), 1.0, "{}", r.output());
    // An address that is not one is a configuration error, before any load.
    let r = run(
        &guest("probe"),
        &["-q", "-e", r#"OPTIONS={"hosts": {"a.test": "somewhere"}}"#],
    );
    assert_eq!(r.code, 104, "{}", r.output());
    assert!(r.stderr.contains("a.test"), "{}", r.output());
}

#[test]
fn dns_policy_decides_the_address_family() {
    // `localhost` has an IPv4 address everywhere; the target listens on IPv4 only.
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL=http://localhost:{}", server.addr().port());
    let failed = |dns: &str| {
        let opts = format!(r#"OPTIONS={{"dns": {dns}}}"#);
        let r = run(
            &guest("probe"),
            &["-q", "-i", "2", "-e", &base, "-e", &opts],
        );
        assert_eq!(r.code, 0, "{}", r.output());
        r.metric("http_req_failed", "value")
    };
    assert_eq!(failed(r#"{"policy": "onlyIPv4", "select": "first"}"#), 0.0);
    assert_eq!(failed(r#"{"policy": "preferIPv4", "ttl": "0"}"#), 0.0);
    // IPv6 only: no address at all, or ::1, where nothing listens.
    assert_eq!(failed(r#"{"policy": "onlyIPv6"}"#), 1.0);
    let r = run(&guest("probe"), &["-q", "--dns", "policy=sideways"]);
    assert_eq!(r.code, 104, "{}", r.output());
}

#[test]
fn rps_caps_the_request_rate_of_the_whole_test() {
    let (r, requests, _) = probe(&["-u", "4", "-d", "2s", "--rps", "10"]);
    // 10/s for 2 s is 20, one more may go at once, and each VU's last iteration may still
    // be waiting for its turn at the end (it gets gracefulStop to finish): at most 25.
    // Unbounded, 4 VUs would send thousands.
    assert!(requests <= 25, "{requests} requests: {}", r.output());
    assert!(requests >= 8, "{requests} requests: {}", r.output());
}

#[test]
fn batch_per_host_and_batch_bound_a_batchs_concurrency() {
    // Ten requests that take 300 ms each, in one batch.
    let batch = |args: &[&str]| {
        let mut all = vec![
            "-i",
            "1",
            "-e",
            "MODE=batch",
            "-e",
            "N=10",
            "-e",
            "PATH=/delay/300",
        ];
        all.extend_from_slice(args);
        let (r, requests, connections) = probe(&all);
        assert_eq!(requests, 10);
        assert_eq!(r.metric("checks", "passes"), 10.0, "{}", r.output());
        (r.metric("iteration_duration", "max"), connections)
    };
    // Two at a time to the one host: five rounds, on two connections.
    let (ms, connections) = batch(&["--batch-per-host", "2"]);
    assert!(ms >= 1_450.0, "{ms} ms");
    assert_eq!(connections, 2);
    // Three at a time in all (none per host): four rounds.
    let (ms, connections) = batch(&["--batch", "3", "--batch-per-host", "0"]);
    assert!(ms >= 1_150.0, "{ms} ms");
    assert_eq!(connections, 3);
    // k6's defaults: 20 in all, 6 per host.
    let (ms, connections) = batch(&[]);
    assert!(ms >= 580.0, "{ms} ms");
    assert_eq!(connections, 6);
}

#[test]
fn throw_turns_a_failed_request_into_an_iteration_error() {
    // A port where nothing listens.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let base = format!("BASE_URL=http://{closed}");
    let r = run(&guest("probe"), &["-q", "-i", "3", "-e", &base]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(!r.has_metric("iteration_errors"), "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 3.0);
    let r = run(&guest("probe"), &["-q", "-i", "3", "-e", &base, "-w"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iteration_errors", "count"), 3.0, "{}", r.output());
    assert_eq!(
        r.metric("http_reqs", "count"),
        3.0,
        "failed requests are still counted"
    );
    assert!(
        !r.has_metric("checks"),
        "the iteration ended at the request"
    );
    assert!(r.stderr.contains("throw is set"), "{}", r.output());
    // A response with an error status is a response: no throw.
    let (r, _, _) = probe(&["-i", "2", "-w", "-e", "PATH=/status/500"]);
    assert!(!r.has_metric("iteration_errors"), "{}", r.output());
}

#[test]
fn min_iteration_duration_paces_iterations() {
    let (r, requests, _) = probe(&[
        "-u",
        "1",
        "-d",
        "1500ms",
        "--min-iteration-duration",
        "400ms",
    ]);
    // Iterations start at 0, 0.4, 0.8 and 1.2 s at the most (a loaded machine may fit fewer).
    assert!((2..=4).contains(&requests), "{requests}: {}", r.output());
    // The pause is not part of the iteration.
    assert!(
        r.metric("iteration_duration", "max") < 350.0,
        "{}",
        r.output()
    );
}

/// The tags of the first `http_reqs` point in a JSON lines file.
fn first_request_tags(path: &std::path::Path) -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["type"] == "Point" && v["metric"] == "http_reqs")
        .and_then(|v| v["data"]["tags"].as_object().cloned())
        .expect("an http_reqs point")
}

#[test]
fn system_tags_choose_the_tags_samples_carry() {
    let dir = TempDir::new("k6-systags");
    let out = dir.path("out.jsonl");
    let out_arg = format!("json={}", out.display());
    let (_, _, _) = probe(&["-i", "1", "--out", &out_arg]);
    let tags = first_request_tags(&out);
    for k in [
        "method",
        "url",
        "name",
        "status",
        "proto",
        "scenario",
        "expected_response",
    ] {
        assert!(tags.contains_key(k), "k6's default has {k}: {tags:?}");
    }
    let (r, _, _) = probe(&[
        "-i",
        "1",
        "--out",
        &out_arg,
        "--system-tags",
        "status,method",
    ]);
    let tags = first_request_tags(&out);
    let mut keys: Vec<&str> = tags.keys().map(String::as_str).collect();
    keys.sort();
    // `group` stays: the summary's groups and checks are made from it.
    assert_eq!(keys, ["group", "method", "status"], "{tags:?}");
    assert!(!r.has_metric("http_req_duration{expected_response:true}"));
    // k6's notice-worthy names: those it has and stampede does not record.
    let (r, _, _) = probe(&[
        "-i",
        "1",
        "-e",
        r#"OPTIONS={"systemTags": ["status", "vu", "colour"]}"#,
    ]);
    assert!(
        r.stderr.contains("`vu`") && r.stderr.contains("`colour`"),
        "{}",
        r.output()
    );
}

#[test]
fn summary_time_unit_fixes_the_unit_of_times() {
    let (r, _, _) = probe(&["-i", "2", "--summary-time-unit", "us"]);
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("http_req_duration"))
        .unwrap_or_else(|| panic!("{}", r.output()));
    for cell in line.split_whitespace().filter(|c| c.contains('=')) {
        let value = cell.split_once('=').unwrap().1;
        let number = value.strip_suffix("µs").unwrap_or_else(|| panic!("{line}"));
        assert!(
            number.split_once('.').is_some_and(|(_, d)| d.len() == 2),
            "{line}"
        );
    }
    let r = run(&guest("probe"), &["-q", "--summary-time-unit", "min"]);
    assert_eq!(r.code, 104, "{}", r.output());
}

#[test]
fn http_debug_logs_requests_and_responses() {
    let (r, _, _) = probe(&["-i", "1", "--http-debug=full"]);
    assert!(
        r.stderr
            .contains(r#"msg="Request:\nGET / HTTP/1.1\nHost: 127.0.0.1:"#),
        "{}",
        r.output()
    );
    assert!(
        r.stderr.contains(r#"msg="Response:\nHTTP/1.1 200 OK\n"#),
        "{}",
        r.output()
    );
    assert!(
        r.stderr.contains("hello from stampede"),
        "the body in full mode"
    );
    assert!(r.stderr.contains("source=http-debug"));
    let (r, _, _) = probe(&["-i", "1", "--http-debug"]);
    assert!(r.stderr.contains("Response:"), "{}", r.output());
    assert!(
        !r.stderr.contains("hello from stampede"),
        "no body with headers only"
    );
}

#[test]
fn console_output_sends_the_scripts_lines_to_a_file() {
    let dir = TempDir::new("k6-console");
    let file = dir.path("console.log");
    let (r, _, _) = probe(&[
        "-i",
        "1",
        "-e",
        "MODE=print",
        "--console-output",
        file.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("line 0 from the probe"), "{text}");
    assert!(!r.stderr.contains("from the probe"), "{}", r.output());
}

/// A bare HTTP/1.1 server that keeps the head of every request it gets, and the address of
/// every connection; it sets the cookie `seen=1` on every response.
struct HeadServer {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
    peers: Arc<Mutex<Vec<SocketAddr>>>,
    stop: Arc<AtomicBool>,
}

impl HeadServer {
    fn start() -> HeadServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let peers = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, p, s) = (heads.clone(), peers.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, peer)) => {
                        p.lock().unwrap().push(peer);
                        let h = h.clone();
                        std::thread::spawn(move || serve_heads(conn, h));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        HeadServer {
            addr,
            heads,
            peers,
            stop,
        }
    }
}

impl Drop for HeadServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve_heads(conn: std::net::TcpStream, heads: Arc<Mutex<Vec<String>>>) {
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => head.push_str(&line),
            }
        }
        heads.lock().unwrap().push(head);
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\nSet-Cookie: seen=1\r\nContent-Length: 2\r\n\r\nok")
            .is_err()
        {
            return;
        }
    }
}

#[test]
fn user_agent_defaults_to_stampedes_and_an_empty_one_sends_none() {
    let server = HeadServer::start();
    let base = format!("BASE_URL=http://{}", server.addr);
    let user_agent = |args: &[&str]| {
        let mut all = vec!["-q", "-i", "1", "-e", base.as_str()];
        all.extend_from_slice(args);
        let r = run(&guest("probe"), &all);
        assert_eq!(r.code, 0, "{}", r.output());
        let head = server.heads.lock().unwrap().pop().expect("a request");
        head.lines()
            .find_map(|l| {
                l.strip_prefix("user-agent: ")
                    .or_else(|| l.strip_prefix("User-Agent: "))
            })
            .map(str::to_owned)
    };
    let default = user_agent(&[]).expect("a default User-Agent");
    assert!(default.starts_with("stampede/"), "{default}");
    assert_eq!(
        user_agent(&["--user-agent", "k6-compat/1"]).as_deref(),
        Some("k6-compat/1")
    );
    assert_eq!(user_agent(&["--user-agent", ""]), None);
    assert_eq!(user_agent(&["-e", r#"OPTIONS={"userAgent": ""}"#]), None);
    assert_eq!(
        user_agent(&["-e", r#"OPTIONS={"userAgent": null}"#]).as_deref(),
        Some(default.as_str())
    );
    // noConnectionReuse says so on the wire, as Go's client does.
    let r = run(
        &guest("probe"),
        &["-q", "-i", "1", "-e", &base, "--no-connection-reuse"],
    );
    assert_eq!(r.code, 0);
    let head = server.heads.lock().unwrap().pop().unwrap();
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
}

#[test]
fn local_ips_send_each_vu_from_its_address() {
    let server = HeadServer::start();
    let base = format!("BASE_URL=http://{}", server.addr);
    // Each of three VUs runs one iteration.
    let r = run(
        &guest("probe"),
        &[
            "-q",
            "-e",
            r#"OPTIONS={"scenarios": {"s": {"executor": "per-vu-iterations", "vus": 3, "iterations": 1}}}"#,
            "-e",
            &base,
            "--local-ips",
            "127.0.0.2-127.0.0.3,127.0.0.4",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 3.0, "{}", r.output());
    let mut from: Vec<String> = server
        .peers
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.ip().to_string())
        .collect();
    from.sort();
    assert_eq!(from, ["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    let r = run(&guest("probe"), &["-q", "--local-ips", "10.0.0.300"]);
    assert_eq!(r.code, 104, "{}", r.output());
}

#[test]
fn no_cookies_reset_keeps_cookies_across_iterations() {
    let server = HeadServer::start();
    let base = format!("BASE_URL=http://{}", server.addr);
    let with_cookie = |args: &[&str]| {
        server.heads.lock().unwrap().clear();
        let mut all = vec!["-q", "-i", "3", "-e", base.as_str()];
        all.extend_from_slice(args);
        let r = run(&guest("probe"), &all);
        assert_eq!(r.code, 0, "{}", r.output());
        let heads = server.heads.lock().unwrap();
        assert_eq!(heads.len(), 3);
        heads
            .iter()
            .filter(|h| h.to_ascii_lowercase().contains("cookie: seen=1"))
            .count()
    };
    // Each iteration starts with an empty jar, as in k6.
    assert_eq!(with_cookie(&[]), 0);
    assert_eq!(
        with_cookie(&["-e", r#"OPTIONS={"noCookiesReset": true}"#]),
        2,
        "the second and third iterations send the cookie the first got"
    );
}
