//! The answer of a search, for people (a table of every step, a chart and the capacity in
//! words) and for machines (JSON, `--export FILE`).

use std::fmt::Write;

use serde_json::{json, Value};

use super::chart::{self, Row};
use super::judge::{SloResult, Step, Verdict};
use super::{number, Found, Limit, Model};
use crate::output::format_time;

fn percent(v: Option<f64>) -> String {
    v.map(|v| format!("{:.2}%", v * 100.0))
        .unwrap_or_else(|| "-".into())
}

fn ms(v: Option<f64>) -> String {
    v.map(format_time).unwrap_or_else(|| "-".into())
}

fn mark(v: &Verdict) -> String {
    match v {
        Verdict::Good => "✓".into(),
        Verdict::Slo(_) => format!("✗ {}", v.reasons().join("; ")),
        Verdict::Generator(_) => format!("! generator: {}", v.reasons().join("; ")),
    }
}

/// One line on a step as soon as it is judged (the live progress of a search).
pub fn step_line(model: Model, index: usize, s: &Step) -> String {
    let latency = s
        .latency
        .map(|l| format!(", p95 {}", format_time(l.p95)))
        .unwrap_or_default();
    format!(
        "  step {}: {} → {}/s achieved{latency}, errors {}  {}",
        index + 1,
        model.load(s.load),
        number((s.achieved * 10.0).round() / 10.0),
        percent(s.error_rate),
        mark(&s.verdict)
    )
}

/// The table of every step, in the order run.
pub fn table(found: &Found) -> String {
    let model = found.settings.model;
    let header = [
        "step", "load", "achieved", "p50", "p95", "p99", "errors", "checks", "cpu", "lag p99",
    ];
    let rows: Vec<[String; 10]> = found
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let l = s.latency;
            [
                (i + 1).to_string(),
                model.load(s.load),
                format!("{}/s", number((s.achieved * 10.0).round() / 10.0)),
                ms(l.map(|l| l.p50)),
                ms(l.map(|l| l.p95)),
                ms(l.map(|l| l.p99)),
                percent(s.error_rate),
                percent(s.checks),
                format!("{:.0}%", s.generator.cpu * 100.0),
                ms(s.generator.timer_lag_p99),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], verdict: &str, out: &mut String| {
        let mut l = String::from(" ");
        for (cell, w) in cells.iter().zip(widths) {
            let pad = w - cell.chars().count();
            let _ = write!(l, " {}{cell}", " ".repeat(pad));
        }
        let _ = writeln!(out, "{l}  {verdict}");
    };
    line(&header.map(|h| h.to_uppercase()), "VERDICT", &mut out);
    for (r, s) in rows.iter().zip(&found.steps) {
        line(r, &mark(&s.verdict), &mut out);
    }
    out
}

/// The latency objective to draw on the chart: the first on the chart's metric with an upper
/// bound, as `(bound in ms, expression)`.
fn latency_bound<'a>(found: &'a Found, metric: &str) -> Option<(f64, &'a str)> {
    found.slos.iter().find_map(|(m, t)| {
        if m != metric {
            return None;
        }
        let at = t.find('<')?;
        let bound: f64 = t[at + 1..].trim_start_matches('=').trim().parse().ok()?;
        Some((bound, t.as_str()))
    })
}

/// The chart of every load tried.
pub fn chart(found: &Found) -> String {
    let Some(metric) = found.steps.iter().find_map(|s| s.latency.map(|l| l.metric)) else {
        return String::new();
    };
    let (capacity, bad) = (found.answer.capacity, found.answer.bad);
    let rows: Vec<Row> = found
        .steps
        .iter()
        .enumerate()
        // One row per load: the last step run at it.
        .filter(|(i, s)| !found.steps[i + 1..].iter().any(|t| t.load == s.load))
        .map(|(_, s)| Row {
            label: found.settings.model.load(s.load),
            load: s.load,
            latency: s.latency.filter(|l| l.metric == metric),
            errors: s.error_rate,
            mark: if Some(s.load) == capacity {
                "◀ capacity"
            } else if Some(s.load) == bad {
                match s.verdict {
                    Verdict::Generator(_) => "◀ generator limit",
                    _ => "◀ first bad",
                }
            } else {
                ""
            },
        })
        .collect();
    chart::render(&rows, metric, latency_bound(found, metric))
}

/// The answer in words.
pub fn answer(found: &Found) -> String {
    let model = found.settings.model;
    let a = &found.answer;
    let load = |l: f64| model.load(l);
    let achieved = |l: f64| match (model, found.step_at(l)) {
        (Model::Closed, Some(s)) => format!(" ({}/s)", number((s.achieved * 10.0).round() / 10.0)),
        _ => String::new(),
    };
    let bad_step = a.bad.and_then(|b| found.step_at(b));
    let reasons = bad_step.map(|s| s.verdict.reasons()).unwrap_or_default();
    let mut out = String::new();
    if !found.complete {
        let _ = writeln!(
            out,
            "  the search was stopped before its end{}; so far: {}, {}",
            found
                .stopped
                .as_ref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default(),
            a.capacity
                .map_or("no load met every SLO".into(), |c| format!(
                    "every SLO held at {}",
                    load(c)
                )),
            a.bad.map_or("no load broke them".into(), |b| format!(
                "the lowest bad load was {}",
                load(b)
            )),
        );
        return out;
    }
    match (a.limit, a.capacity, a.bad) {
        (Limit::MaxRate, Some(c), _) => {
            let _ = writeln!(
                out,
                "  capacity: at least {}{} — every SLO held up to the maximum load",
                load(c),
                achieved(c)
            );
        }
        (Limit::Generator, Some(c), bad) => {
            let _ = writeln!(
                out,
                "  capacity: at least {}{} — generator limit reached at {}; the service held its SLOs up to there; \
                 run more instances (see `execution segments`)",
                load(c),
                achieved(c),
                bad.map(load).unwrap_or_default()
            );
            let _ = writeln!(out, "  generator: {}", reasons.join("; "));
        }
        (Limit::Generator, None, bad) => {
            let _ = writeln!(
                out,
                "  capacity: unknown — the generator was saturated at every load tried, down to {}; run more \
                 instances (see `execution segments`) or give the script more CPU",
                bad.map(load).unwrap_or_default()
            );
            let _ = writeln!(out, "  generator: {}", reasons.join("; "));
        }
        (_, Some(c), Some(b)) => {
            let _ = writeln!(
                out,
                "  capacity: {}{} — the highest load that met every SLO; the next, {}, broke them",
                load(c),
                achieved(c),
                load(b)
            );
            let _ = writeln!(out, "  broke first: {}", reasons.join("; "));
        }
        (_, _, b) => {
            let _ = writeln!(
                out,
                "  capacity: none — the service broke its SLOs at every load tried, down to {}",
                b.map(load).unwrap_or_default()
            );
            let _ = writeln!(out, "  broke first: {}", reasons.join("; "));
        }
    }
    let s = &found.settings;
    let _ = writeln!(
        out,
        "  search: {} steps in {} ({} model; steps of {} after a {} warm-up; precision {}%)",
        found.steps.len(),
        format_time(found.elapsed.as_secs_f64() * 1000.0),
        model.name(),
        format_time(s.step_duration.as_secs_f64() * 1000.0),
        format_time(s.warm_up.as_secs_f64() * 1000.0),
        number(s.search.precision * 100.0)
    );
    if let (Some(min), Some(met)) = (s.min_capacity, found.gate_met()) {
        let _ = writeln!(
            out,
            "  {} --min-capacity {}",
            if met { "✓ met" } else { "✗ not met:" },
            load(min)
        );
    }
    out
}

/// Everything, as printed at the end.
pub fn render(found: &Found) -> String {
    let slos: Vec<String> = found
        .slos
        .iter()
        .map(|(m, t)| format!("{m}: {t}"))
        .collect();
    let mut out = format!("\n  SLOs: {}\n\n", slos.join(", "));
    out.push_str(&table(found));
    let chart = chart(found);
    if !chart.is_empty() {
        out.push('\n');
        out.push_str(&chart);
    }
    out.push('\n');
    out.push_str(&answer(found));
    out
}

fn slo_json(s: &SloResult) -> Value {
    let mut v = json!({
        "metric": s.metric,
        "threshold": s.threshold,
        "observed": s.observed,
        "ok": s.ok,
    });
    if s.implicit {
        v["implicit"] = json!(true);
    }
    if !s.sampled {
        v["observed"] = Value::Null;
    }
    v
}

fn step_json(model: Model, s: &Step) -> Value {
    let g = &s.generator;
    let verdict = match s.verdict {
        Verdict::Good => "good",
        Verdict::Slo(_) => "slo",
        Verdict::Generator(_) => "generator",
    };
    json!({
        (if model == Model::Open { "rate" } else { "vus" }): s.load,
        "achieved_rate": s.achieved,
        "measured_s": s.measured.as_secs_f64(),
        "requests": s.requests,
        "latency": s.latency.map(|l| json!({
            "metric": l.metric,
            "p(50)": l.p50,
            "p(95)": l.p95,
            "p(99)": l.p99,
        })),
        "http_req_failed": s.error_rate,
        "checks": s.checks,
        "interrupted_iterations": s.interrupted,
        "generator": {
            "cpu": g.cpu,
            "cores": g.cores,
            "vu_threads_busy": g.vu_threads_busy,
            "timer_lag_p99": g.timer_lag_p99,
            "iteration_start_delay_p95": g.start_delay_p95,
            "dropped_iterations": g.dropped,
        },
        "slos": s.slos.iter().map(slo_json).collect::<Vec<_>>(),
        "verdict": verdict,
        "reasons": s.verdict.reasons(),
    })
}

/// The JSON export.
pub fn to_json(found: &Found) -> Value {
    let model = found.settings.model;
    let a = &found.answer;
    let bad_step = a.bad.and_then(|b| found.step_at(b));
    let broken: Vec<Value> = match bad_step.map(|s| &s.verdict) {
        Some(Verdict::Slo(broken)) => broken.iter().map(slo_json).collect(),
        _ => Vec::new(),
    };
    let mut capacity = json!({
        "bracket": [a.capacity, a.bad],
    });
    match model {
        Model::Open => capacity["rate"] = json!(a.capacity),
        Model::Closed => {
            capacity["vus"] = json!(a.capacity);
            capacity["rate"] = json!(a
                .capacity
                .and_then(|c| found.step_at(c))
                .map(|s| s.achieved));
        }
    }
    let s = &found.settings;
    let max = s.search.max;
    json!({
        "model": model.name(),
        "unit": model.unit(),
        "slos": found.slos.iter().map(|(m, t)| json!({"metric": m, "threshold": t})).collect::<Vec<_>>(),
        "capacity": capacity,
        "limit": a.limit.name(),
        "broken": broken,
        "reasons": bad_step.map(|s| s.verdict.reasons()).unwrap_or_default(),
        "complete": found.complete,
        "stopped": found.stopped,
        "min_capacity": s.min_capacity,
        "gate_met": found.gate_met(),
        "search": {
            "start": s.search.start,
            "max": max.is_finite().then_some(max),
            "precision": s.search.precision,
            "growth": s.search.growth,
            "step_duration_s": s.step_duration.as_secs_f64(),
            "warm_up_s": s.warm_up.as_secs_f64(),
            "elapsed_s": found.elapsed.as_secs_f64(),
        },
        "steps": found.steps.iter().map(|st| step_json(model, st)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::judge::{GeneratorHealth, Latency};
    use super::super::{search, Answer, Settings};
    use super::*;

    fn step(load: f64, p95: f64, verdict: Verdict) -> Step {
        Step {
            load,
            measured: Duration::from_secs(2),
            achieved: load.min(200.0),
            requests: (load * 2.0) as u64,
            latency: Some(Latency {
                metric: "http_req_duration",
                p50: p95 * 0.9,
                p95,
                p99: p95 * 1.1,
            }),
            error_rate: Some(0.0),
            checks: Some(1.0),
            interrupted: 0,
            generator: GeneratorHealth {
                cpu: 0.1,
                cores: 2,
                timer_lag_p99: Some(1.2),
                ..GeneratorHealth::default()
            },
            slos: Vec::new(),
            verdict,
        }
    }

    fn broken(observed: f64) -> Verdict {
        Verdict::Slo(vec![SloResult {
            metric: "http_req_duration".into(),
            threshold: "p(95)<100".into(),
            observed,
            time: true,
            ok: false,
            implicit: false,
            sampled: true,
        }])
    }

    fn found() -> Found {
        Found {
            settings: Settings {
                step_duration: Duration::from_secs(2),
                warm_up: Duration::from_millis(500),
                min_capacity: Some(150.0),
                ..Settings::default()
            },
            slos: vec![("http_req_duration".into(), "p(95)<100".into())],
            steps: vec![
                step(100.0, 21.0, Verdict::Good),
                step(200.0, 22.0, Verdict::Good),
                step(400.0, 1800.0, broken(1800.0)),
                step(300.0, 900.0, broken(900.0)),
                step(206.25, 130.0, broken(130.0)),
            ],
            answer: Answer {
                capacity: Some(200.0),
                bad: Some(206.25),
                limit: Limit::Slo,
            },
            complete: true,
            elapsed: Duration::from_secs(14),
            stopped: None,
        }
    }

    #[test]
    fn the_text_has_every_step_the_chart_and_the_answer() {
        let f = found();
        let text = render(&f);
        assert!(
            text.contains("SLOs: http_req_duration: p(95)<100"),
            "{text}"
        );
        let table = table(&f);
        assert_eq!(table.lines().count(), 6, "{table}");
        assert!(table.lines().nth(1).unwrap().contains("✓"), "{table}");
        assert!(
            table
                .lines()
                .nth(5)
                .unwrap()
                .contains("✗ http_req_duration p(95)=130ms (<100)"),
            "{table}"
        );
        assert!(
            text.contains("◀ capacity") && text.contains("◀ first bad"),
            "{text}"
        );
        assert!(
            text.contains("capacity: 200/s — the highest load that met every SLO; the next, 206.25/s, broke them"),
            "{text}"
        );
        assert!(text.contains("broke first: http_req_duration p(95)=130ms (<100)"));
        assert!(text.contains("search: 5 steps in 14s"), "{text}");
        assert!(text.contains("✓ met --min-capacity 150/s"), "{text}");
        assert_eq!(f.exit_code(), 0);
    }

    #[test]
    fn the_json_has_the_capacity_the_bracket_the_limit_and_every_step() {
        let f = found();
        let j = to_json(&f);
        assert_eq!(j["capacity"]["rate"], 200.0);
        assert_eq!(j["capacity"]["bracket"], json!([200.0, 206.25]));
        assert_eq!(j["limit"], "slo");
        assert_eq!(j["broken"][0]["metric"], "http_req_duration");
        assert_eq!(j["broken"][0]["observed"], 130.0);
        assert_eq!(j["steps"].as_array().unwrap().len(), 5);
        assert_eq!(j["steps"][2]["rate"], 400.0);
        assert_eq!(j["steps"][2]["verdict"], "slo");
        assert_eq!(j["steps"][0]["latency"]["p(95)"], 21.0);
        assert_eq!(j["gate_met"], true);
        assert_eq!(j["search"]["max"], Value::Null);
    }

    #[test]
    fn a_generator_limit_says_so_and_has_its_own_exit_code() {
        let mut f = found();
        f.steps[4].verdict =
            Verdict::Generator(vec!["its 10 ms timers fired 40ms late (p99)".into()]);
        f.answer.limit = Limit::Generator;
        f.settings.min_capacity = None;
        let text = answer(&f);
        assert!(
            text.contains(
                "generator limit reached at 206.25/s; the service held its SLOs up to there; run more instances \
                 (see `execution segments`)"
            ),
            "{text}"
        );
        assert!(text.contains("timers fired 40ms late"), "{text}");
        assert_eq!(f.exit_code(), super::super::EXIT_GENERATOR_LIMIT);
        assert_eq!(to_json(&f)["limit"], "generator");
        // A gate met below the generator's limit is met.
        f.settings.min_capacity = Some(100.0);
        assert_eq!(f.exit_code(), 0);
        f.settings.min_capacity = Some(300.0);
        assert_eq!(f.exit_code(), super::super::EXIT_GENERATOR_LIMIT);
    }

    #[test]
    fn each_step_gets_a_line_as_it_ends() {
        let f = found();
        assert_eq!(
            step_line(Model::Open, 4, &f.steps[4]),
            "  step 5: 206.25/s → 200/s achieved, p95 130ms, errors 0.00%  ✗ http_req_duration p(95)=130ms (<100)"
        );
    }

    #[test]
    fn a_gate_not_met_exits_99() {
        let mut f = found();
        f.settings.min_capacity = Some(250.0);
        assert_eq!(f.exit_code(), 99);
        assert!(answer(&f).contains("✗ not met: --min-capacity 250/s"));
        assert_eq!(to_json(&f)["gate_met"], false);
    }

    #[test]
    fn the_closed_model_speaks_of_vus() {
        let mut f = found();
        f.settings.model = Model::Closed;
        f.settings.search = search::Config {
            whole: true,
            ..search::Config::default()
        };
        for s in &mut f.steps {
            s.load = (s.load / 10.0).round();
        }
        f.answer = Answer {
            capacity: Some(20.0),
            bad: Some(21.0),
            limit: Limit::Slo,
        };
        let text = answer(&f);
        assert!(text.contains("capacity: 20 VUs (200/s)"), "{text}");
        let j = to_json(&f);
        assert_eq!(j["capacity"]["vus"], 20.0);
        assert_eq!(j["capacity"]["rate"], 200.0);
        assert_eq!(j["unit"], "VUs");
        assert_eq!(j["steps"][0]["vus"], 10.0);
    }

    #[test]
    fn a_search_stopped_early_says_what_it_knew() {
        let mut f = found();
        f.complete = false;
        f.stopped = Some("stopped by SIGINT".into());
        let text = answer(&f);
        assert!(
            text.contains(
                "the search was stopped before its end (stopped by SIGINT); so far: every SLO held at 200/s, \
                 the lowest bad load was 206.25/s"
            ),
            "{text}"
        );
        assert_eq!(to_json(&f)["complete"], false);
    }
}
