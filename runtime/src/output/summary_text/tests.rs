//! The summary's text against what k6 v2.2 prints for the same values.

use std::time::Duration;

use super::{render, SummaryMode};
use crate::metrics::{CheckStats, MetricType, ValueType};
use crate::output::{MetricReport, Report, ThresholdReport, Values};

const BUILTIN: [&str; 9] = [
    "checks",
    "data_received",
    "data_sent",
    "group_duration",
    "http_reqs",
    "iteration_duration",
    "iterations",
    "vus",
    "vus_max",
];

fn metric(name: &str, kind: MetricType, contains: ValueType, values: Values) -> MetricReport {
    let (parent, filter) = match name.split_once('{') {
        Some((p, tags)) => {
            let (k, v) = tags.trim_end_matches('}').split_once(':').unwrap();
            (Some(p.to_string()), vec![(k.to_string(), v.to_string())])
        }
        None => (None, Vec::new()),
    };
    let base = parent.as_deref().unwrap_or(name);
    MetricReport {
        name: name.into(),
        breakdown: parent.is_some() && name != "http_req_duration{expected_response:true}",
        builtin: BUILTIN.contains(&base) || base.starts_with("http_req"),
        parent,
        kind,
        contains,
        values,
        filter,
    }
}

fn trend(name: &str, v: f64, contains: ValueType) -> MetricReport {
    let stats = ["avg", "min", "med", "max", "p(90)", "p(95)"]
        .iter()
        .map(|s| (s.to_string(), v))
        .collect();
    let values = Values::Trend { stats, count: 1 };
    metric(name, MetricType::Trend, contains, values)
}

fn counter(name: &str, count: f64, rate: f64, contains: ValueType) -> MetricReport {
    metric(
        name,
        MetricType::Counter,
        contains,
        Values::Counter { count, rate },
    )
}

fn rate(name: &str, trues: u64, total: u64) -> MetricReport {
    let values = Values::Rate { trues, total };
    metric(name, MetricType::Rate, ValueType::Default, values)
}

fn check(group: &str, name: &str, passes: u64, fails: u64) -> CheckStats {
    CheckStats {
        group: group.into(),
        name: name.into(),
        passes,
        fails,
    }
}

fn report(mut metrics: Vec<MetricReport>, secs: f64) -> Report {
    metrics.sort_by(|a, b| a.name.cmp(&b.name));
    Report {
        duration: Duration::from_secs_f64(secs),
        metrics,
        checks: Vec::new(),
        groups: Vec::new(),
        thresholds: Vec::new(),
        generator: Default::default(),
        stopped: None,
        test: Default::default(),
        ending: Default::default(),
    }
}

/// The summary up to stampede's LOAD GENERATOR block, which must follow.
fn k6_part(report: &Report, mode: SummaryMode) -> String {
    let text = render(report, mode);
    let at = text
        .find("    LOAD GENERATOR\n")
        .expect("the generator block");
    text[..at].to_string()
}

fn execution(secs_rate: f64) -> Vec<MetricReport> {
    vec![
        trend("iteration_duration", 0.110695, ValueType::Time),
        counter("iterations", 1.0, secs_rate, ValueType::Default),
        counter("data_received", 0.0, 0.0, ValueType::Data),
        counter("data_sent", 0.0, 0.0, ValueType::Data),
    ]
}

#[test]
fn rates_are_cut_custom_metrics_come_first_and_vus_wait_for_a_second() {
    // rate-percent.js: a Rate with 1 true of 6, one iteration well under a second.
    let mut metrics = execution(4021.830496);
    metrics.push(rate("my_rate", 1, 6));
    metrics.push(metric(
        "vus",
        MetricType::Gauge,
        ValueType::Default,
        Values::Gauge {
            value: 1.0,
            min: 1.0,
            max: 1.0,
        },
    ));
    let r = report(metrics, 0.25);
    let expected = "\n\n  █ TOTAL RESULTS \n\n    CUSTOM
    my_rate..............: 16.66% 1 out of 6

    EXECUTION
    iteration_duration...: avg=110.69µs min=110.69µs med=110.69µs max=110.69µs p(90)=110.69µs p(95)=110.69µs
    iterations...........: 1      4021.830496/s

    NETWORK
    data_received........: 0 B    0 B/s
    data_sent............: 0 B    0 B/s

";
    assert_eq!(k6_part(&r, SummaryMode::Compact), expected);
}

#[test]
fn times_are_cut_and_trend_columns_padded_like_k6() {
    // trend-format.js, k6 v2.2's output line for line.
    let mut metrics = vec![
        trend("iteration_duration", 0.0715, ValueType::Time),
        counter("iterations", 1.0, 2161.718134, ValueType::Default),
        counter("data_received", 0.0, 0.0, ValueType::Data),
        counter("data_sent", 0.0, 0.0, ValueType::Data),
    ];
    for (name, v) in [
        ("t_a", 223.5),
        ("t_b", 1234.567),
        ("t_c", 12.3456),
        ("t_d", 0.5),
        ("t_e", 65432.1),
    ] {
        metrics.push(trend(name, v, ValueType::Time));
    }
    metrics.push(trend("t_f", 123.456789, ValueType::Default));
    let r = report(metrics, 0.25);
    let expected = "\n\n  █ TOTAL RESULTS \n\n    CUSTOM
    t_a..................: avg=223.5ms    min=223.5ms    med=223.5ms    max=223.5ms    p(90)=223.5ms    p(95)=223.5ms   
    t_b..................: avg=1.23s      min=1.23s      med=1.23s      max=1.23s      p(90)=1.23s      p(95)=1.23s     
    t_c..................: avg=12.34ms    min=12.34ms    med=12.34ms    max=12.34ms    p(90)=12.34ms    p(95)=12.34ms   
    t_d..................: avg=500µs      min=500µs      med=500µs      max=500µs      p(90)=500µs      p(95)=500µs     
    t_e..................: avg=1m5s       min=1m5s       med=1m5s       max=1m5s       p(90)=1m5s       p(95)=1m5s      
    t_f..................: avg=123.456789 min=123.456789 med=123.456789 max=123.456789 p(90)=123.456789 p(95)=123.456789

    EXECUTION
    iteration_duration...: avg=71.5µs     min=71.5µs     med=71.5µs     max=71.5µs     p(90)=71.5µs     p(95)=71.5µs    
    iterations...........: 1   2161.718134/s

    NETWORK
    data_received........: 0 B 0 B/s
    data_sent............: 0 B 0 B/s

";
    assert_eq!(k6_part(&r, SummaryMode::Compact), expected);
}

/// 06_groups_summary.js: a check at the top, one in `g1`, one failing in `g1::inner`; a
/// request in `g1`.
fn grouped(breakdown_scenario: &str) -> Report {
    let s = |m: &str| format!("{m}{{scenario:{breakdown_scenario}}}");
    let mut metrics = vec![
        rate("checks", 4, 6),
        rate("checks{group:::g1}", 2, 2),
        rate("checks{group:::g1::inner}", 0, 2),
        rate(&s("checks"), 4, 6),
        trend("group_duration", 0.5, ValueType::Time),
        trend("group_duration{group:::g1}", 0.5, ValueType::Time),
        counter("http_reqs", 2.0, 4.0, ValueType::Default),
        counter("http_reqs{group:::g1}", 2.0, 4.0, ValueType::Default),
        counter(&s("http_reqs"), 2.0, 4.0, ValueType::Default),
        counter("iterations", 2.0, 4.0, ValueType::Default),
        counter(&s("iterations"), 2.0, 4.0, ValueType::Default),
    ];
    metrics.retain(|m| breakdown_scenario != "default" || !m.name.contains("scenario"));
    let mut r = report(metrics, 0.5);
    r.checks = vec![
        check("", "top", 2, 0),
        check("::g1", "ok", 2, 0),
        check("::g1::inner", "deep", 0, 2),
    ];
    r.groups = vec!["::g1".into(), "::g1::inner".into()];
    r
}

const GROUPED_TOTAL: &str = "\n\n  █ TOTAL RESULTS 

    checks_total.......: 6      12/s
    checks_succeeded...: 66.66% 4 out of 6
    checks_failed......: 33.33% 2 out of 6

    ✓ top
    ✓ ok
    ✗ deep
      ↳  0% — ✓ 0 / ✗ 2

    HTTP
    http_reqs....: 2 4/s

    EXECUTION
    iterations...: 2 4/s

";

#[test]
fn the_compact_summary_lists_checks_flat_and_never_group_duration() {
    let text = k6_part(&grouped("default"), SummaryMode::Compact);
    assert_eq!(text, GROUPED_TOTAL);
}

const G1: &str = "
    checks_total.......: 2       4/s
    checks_succeeded...: 100.00% 2 out of 2
    checks_failed......: 0.00%   0 out of 2

    ✓ ok

    HTTP
    http_reqs...: 2 4/s

    ↳ GROUP: inner 

      checks_total.......: 2       4/s
      checks_succeeded...: 0.00%   0 out of 2
      checks_failed......: 100.00% 2 out of 2

      ✗ deep
          ↳  0% — ✓ 0 / ✗ 2

";

#[test]
fn full_mode_nests_the_default_scenarios_groups_without_a_scenario_section() {
    let text = k6_part(&grouped("default"), SummaryMode::Full);
    let expected = format!("{GROUPED_TOTAL}\n  █ GROUP: g1 \n{G1}");
    assert_eq!(text, expected);
    assert!(!text.contains("SCENARIO"), "{text}");
}

#[test]
fn full_mode_puts_a_named_scenarios_groups_in_its_section() {
    let text = k6_part(&grouped("api"), SummaryMode::Full);
    // The scenario's checks and metrics, then its groups one level down.
    let expected = format!(
        "{GROUPED_TOTAL}\n  █ SCENARIO: api \n
    checks_total.......: 6      12/s
    checks_succeeded...: 66.66% 4 out of 6
    checks_failed......: 33.33% 2 out of 6

    ✓ top
    ✓ ok
    ✗ deep
      ↳  0% — ✓ 0 / ✗ 2

    HTTP
    http_reqs....: 2 4/s

    EXECUTION
    iterations...: 2 4/s

    ↳ GROUP: g1 

      checks_total.......: 2       4/s
      checks_succeeded...: 100.00% 2 out of 2
      checks_failed......: 0.00%   0 out of 2

      ✓ ok

      HTTP
      http_reqs...: 2 4/s

      ↳ GROUP: inner 

        checks_total.......: 2       4/s
        checks_succeeded...: 0.00%   0 out of 2
        checks_failed......: 100.00% 2 out of 2

        ✗ deep
              ↳  0% — ✓ 0 / ✗ 2

"
    );
    assert_eq!(text, expected);
    assert!(!text.contains("█ GROUP"), "{text}");
}

#[test]
fn threshold_rates_are_cut_too() {
    let mut r = report(execution(4.0), 2.0);
    r.metrics.push(rate("my_rate", 1, 6));
    r.thresholds.push(ThresholdReport {
        metric: "my_rate".into(),
        source: "rate>0.1".into(),
        ok: true,
        aggregation: "rate".into(),
        observed: 1.0 / 6.0,
        kind: MetricType::Rate,
        contains: ValueType::Default,
        windows: None,
    });
    let text = render(&r, SummaryMode::Compact);
    assert!(
        text.starts_with("\n\n  █ THRESHOLDS \n\n    my_rate\n    ✓ 'rate>0.1' rate=16.66%\n\n\n"),
        "{text}"
    );
}
