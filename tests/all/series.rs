//! The cap on metric series: a fresh URL per request keeps memory bounded, thresholds still
//! see every sample, and one warning names the tag to set.

use serde_json::Value;

use crate::guests::guest;
use crate::support::{run, runtime, target, TempDir};

const WARNING: &str = "metric series";

/// Points of `metric` in a JSON-lines output.
fn points(jsonl: &std::path::Path, metric: &str) -> Vec<Value> {
    std::fs::read_to_string(jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "Point" && v["metric"] == metric)
        .collect()
}

fn fresh_urls(extra: &[&str], series: &str) -> (crate::support::RunResult, Vec<Value>) {
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("series");
    let config = dir.path("config.json");
    // Thresholds on tags of few values: each must see all 200 requests, folded or not.
    std::fs::write(
        &config,
        r#"{"thresholds": {"http_reqs{status:200}": ["count==200"],
                           "checks{check:status is 200}": ["rate==1"],
                           "http_req_duration{tier:gold}": ["max>=0"]},
            "tags": {"tier": "gold"}}"#,
    )
    .unwrap();
    let jsonl = dir.path("samples.jsonl");
    let base = format!("BASE_URL=http://{}", server.addr());
    let out = format!("json={}", jsonl.display());
    let mut args = vec![
        "-e",
        "MODE=fresh",
        "-e",
        &base,
        "-u",
        "1",
        "-i",
        "200",
        "-c",
    ];
    let config = config.display().to_string();
    args.push(&config);
    args.extend_from_slice(&["--max-series", series, "--out", &out]);
    args.extend_from_slice(extra);
    let r = run(&guest("probe"), &args);
    let reqs = points(&jsonl, "http_reqs");
    (r, reqs)
}

#[test]
fn past_max_series_new_urls_fold_into_an_overflow_series_with_one_warning() {
    let (r, reqs) = fresh_urls(&[], "20");
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("http_reqs", "count"), 200.0);
    assert_eq!(r.metric("checks", "passes"), 200.0);
    assert_eq!(r.stderr.matches(WARNING).count(), 1, "{}", r.output());
    let warning = r.stderr.lines().find(|l| l.contains(WARNING)).unwrap();
    for word in ["more than 20", "`name`", "--max-series", "url"] {
        assert!(warning.contains(word), "{word} not in {warning}");
    }
    // The first URLs have their own series; the rest share the overflow one, which keeps the
    // tags of few values (and those thresholds filter on).
    assert_eq!(reqs.len(), 200);
    let tags = |p: &Value| p["data"]["tags"].clone();
    let own = reqs
        .iter()
        .filter(|p| tags(p)["name"] != "(overflow)")
        .count();
    assert!(
        (1..20).contains(&own),
        "{own} requests kept their own series"
    );
    let folded = reqs
        .iter()
        .find(|p| tags(p)["name"] == "(overflow)")
        .unwrap();
    let t = tags(folded);
    assert_eq!(
        (&t["status"], &t["method"], &t["tier"]),
        (&"200".into(), &"GET".into(), &"gold".into())
    );
    assert!(t["url"].is_null(), "{t}");
}

#[test]
fn named_dynamic_urls_stay_few_series() {
    let (r, reqs) = fresh_urls(&["-e", "NAME=/?id={id}"], "20");
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(!r.stderr.contains(WARNING), "{}", r.output());
    // With `name` set, `url` carries the name too, as with k6's `http.url`.
    assert!(reqs.iter().all(
        |p| p["data"]["tags"]["url"] == "/?id={id}" && p["data"]["tags"]["name"] == "/?id={id}"
    ));
}

#[test]
fn max_series_must_be_positive() {
    let r = run(&guest("probe"), &["--max-series", "0", "-i", "1"]);
    assert_eq!(r.code, 104, "{}", r.output());
    assert!(r.stderr.contains("maxSeries"), "{}", r.output());
}
