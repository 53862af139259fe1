//! k6's threshold grammar: `aggregation operator number` on a metric or a sub-metric
//! `name{tag:value,…}`.

use std::fmt;

/// What a threshold measures of a metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregation {
    /// Trend mean.
    Avg,
    /// Trend minimum.
    Min,
    /// Trend maximum.
    Max,
    /// Trend median.
    Med,
    /// Trend percentile, 0–100.
    Percentile(f64),
    /// Counter total.
    Count,
    /// Counter per second, or rate of non-zero samples.
    Rate,
    /// Gauge's last value.
    Value,
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Aggregation::Avg => f.write_str("avg"),
            Aggregation::Min => f.write_str("min"),
            Aggregation::Max => f.write_str("max"),
            Aggregation::Med => f.write_str("med"),
            Aggregation::Percentile(p) => write!(f, "p({p})"),
            Aggregation::Count => f.write_str("count"),
            Aggregation::Rate => f.write_str("rate"),
            Aggregation::Value => f.write_str("value"),
        }
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `===` (same as `==` for numbers)
    StrictEq,
    /// `!=`
    Ne,
}

impl Op {
    /// Whether `lhs op rhs` holds.
    pub fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            Op::Lt => lhs < rhs,
            Op::Le => lhs <= rhs,
            Op::Gt => lhs > rhs,
            Op::Ge => lhs >= rhs,
            Op::Eq | Op::StrictEq => lhs == rhs,
            Op::Ne => lhs != rhs,
        }
    }
}

/// A parsed threshold expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    /// What is measured.
    pub aggregation: Aggregation,
    /// How it is compared.
    pub op: Op,
    /// With what.
    pub value: f64,
    /// The expression as written.
    pub source: String,
}

/// Parses `p(95)<250`, `avg <= 100`, `rate>0.99`, …
pub fn parse_expression(s: &str) -> Result<Expression, String> {
    let bad = |why: String| format!("invalid threshold `{s}`: {why}");
    let text = s.trim();
    let op_at = text.find(['<', '>', '=', '!']).ok_or_else(|| {
        bad("no comparison (use <, <=, >, >=, ==, === or !=), e.g. `p(95)<250`".into())
    })?;
    let (lhs, rest) = text.split_at(op_at);
    let (op, rhs) = [
        ("===", Op::StrictEq),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
    ]
    .iter()
    .find_map(|(tok, op)| rest.strip_prefix(tok).map(|r| (*op, r)))
    .ok_or_else(|| bad(format!("unknown operator at `{rest}`")))?;
    let lhs = lhs.trim();
    let aggregation = match lhs {
        "avg" => Aggregation::Avg,
        "min" => Aggregation::Min,
        "max" => Aggregation::Max,
        "med" => Aggregation::Med,
        "count" => Aggregation::Count,
        "rate" => Aggregation::Rate,
        "value" => Aggregation::Value,
        "" => return Err(bad("missing aggregation before the operator (avg, min, max, med, p(N), count, rate or value)".into())),
        other => {
            let inner = other
                .strip_prefix("p(")
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| bad(format!("unknown aggregation `{other}` (use avg, min, max, med, p(N), count, rate or value)")))?;
            let p: f64 = inner
                .trim()
                .parse()
                .map_err(|_| bad(format!("`{other}`: the percentile must be a number, like p(95) or p(99.9)")))?;
            if !(0.0..=100.0).contains(&p) {
                return Err(bad(format!("`{other}`: the percentile must be between 0 and 100")));
            }
            Aggregation::Percentile(p)
        }
    };
    let rhs = rhs.trim();
    let value: f64 = rhs
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| bad(format!("`{rhs}` is not a number")))?;
    Ok(Expression {
        aggregation,
        op,
        value,
        source: text.to_owned(),
    })
}

/// A metric, possibly narrowed to samples with some tags: `http_req_duration{status:200}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// The metric's name.
    pub metric: String,
    /// Tags the samples must have (empty for the whole metric).
    pub filter: Vec<(String, String)>,
    /// The selector as written, normalized (`name{k:v,k2:v2}`).
    pub name: String,
}

/// Parses `metric` or `metric{tag:value,…}`. Values may be quoted.
pub fn parse_selector(s: &str) -> Result<Selector, String> {
    let text = s.trim();
    let bad = |why: &str| format!("invalid metric `{s}` in thresholds: {why}");
    let Some(open) = text.find('{') else {
        if text.is_empty() {
            return Err(bad("empty name"));
        }
        if text.contains('}') {
            return Err(bad("`}` without `{`"));
        }
        return Ok(Selector {
            metric: text.to_owned(),
            filter: Vec::new(),
            name: text.to_owned(),
        });
    };
    let metric = text[..open].trim();
    if metric.is_empty() {
        return Err(bad("empty name before `{`"));
    }
    let inner = text[open + 1..]
        .strip_suffix('}')
        .ok_or_else(|| bad("missing closing `}`"))?;
    let mut filter = Vec::new();
    for part in inner.split(',') {
        if part.trim().is_empty() {
            return Err(bad("empty tag filter (write `name{tag:value}`)"));
        }
        let (k, v) = part
            .split_once(':')
            .ok_or_else(|| bad(&format!("`{}` is not `tag:value`", part.trim())))?;
        let k = k.trim();
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(v);
        if k.is_empty() {
            return Err(bad("empty tag name"));
        }
        filter.push((k.to_owned(), v.to_owned()));
    }
    let name = format!(
        "{metric}{{{}}}",
        filter
            .iter()
            .map(|(k, v)| format!("{k}:{}", render_value(v)))
            .collect::<Vec<_>>()
            .join(",")
    );
    Ok(Selector {
        metric: metric.to_owned(),
        filter,
        name,
    })
}

/// A tag value as written in a normalized selector: quoted when it would not read back the
/// same bare (empty, or with spaces or quotes at its ends).
fn render_value(v: &str) -> String {
    let bare =
        !v.is_empty() && v.trim() == v && !v.starts_with(['"', '\'']) && !v.ends_with(['"', '\'']);
    if bare {
        v.to_owned()
    } else if v.contains('"') {
        format!("'{v}'")
    } else {
        format!("\"{v}\"")
    }
}

/// Splits a `--threshold` flag, `METRIC: EXPRESSION`, where METRIC may hold `{tag:value}`.
pub fn split_flag(s: &str) -> Result<(String, String), String> {
    let bad = || {
        format!("invalid --threshold `{s}`: expected `METRIC: EXPRESSION`, like `http_req_duration: p(95)<250`")
    };
    let search_from = match (s.find('{'), s.find(':')) {
        (Some(open), Some(colon)) if open < colon => {
            s[open..].find('}').map(|c| open + c).ok_or_else(bad)?
        }
        _ => 0,
    };
    let colon = s[search_from..]
        .find(':')
        .map(|c| search_from + c)
        .ok_or_else(bad)?;
    let (metric, expr) = (s[..colon].trim(), s[colon + 1..].trim());
    if metric.is_empty() || expr.is_empty() {
        return Err(bad());
    }
    Ok((metric.to_owned(), expr.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_aggregation_and_operator() {
        let e = parse_expression("p(95)<250").unwrap();
        assert_eq!(
            (e.aggregation, e.op, e.value),
            (Aggregation::Percentile(95.0), Op::Lt, 250.0)
        );
        let e = parse_expression(" p(99.9) <= 1.5 ").unwrap();
        assert_eq!(
            (e.aggregation, e.op, e.value),
            (Aggregation::Percentile(99.9), Op::Le, 1.5)
        );
        for (s, agg, op) in [
            ("avg>1", Aggregation::Avg, Op::Gt),
            ("min>=0", Aggregation::Min, Op::Ge),
            ("max<9", Aggregation::Max, Op::Lt),
            ("med==3", Aggregation::Med, Op::Eq),
            ("count===3", Aggregation::Count, Op::StrictEq),
            ("rate!=0", Aggregation::Rate, Op::Ne),
            ("value<1e3", Aggregation::Value, Op::Lt),
        ] {
            let e = parse_expression(s).unwrap();
            assert_eq!((e.aggregation, e.op), (agg, op), "{s}");
        }
    }

    #[test]
    fn rejects_malformed_expressions() {
        for s in [
            "", "p95<1", "p(95)", "p(101)<1", "p(x)<1", "avg<", "avg<abc", "foo<1", "<5", "avg=>1",
            "avg<NaN",
        ] {
            let err = parse_expression(s).unwrap_err();
            assert!(err.starts_with("invalid threshold"), "{s}: {err}");
        }
    }

    #[test]
    fn operators_compare() {
        assert!(Op::Lt.holds(1.0, 2.0));
        assert!(!Op::Lt.holds(2.0, 2.0));
        assert!(Op::Le.holds(2.0, 2.0));
        assert!(Op::Ne.holds(1.0, 2.0));
        assert!(Op::StrictEq.holds(2.0, 2.0));
    }

    #[test]
    fn parses_selectors_with_tag_filters() {
        let s = parse_selector("http_req_duration{status:200, method:\"GET\"}").unwrap();
        assert_eq!(s.metric, "http_req_duration");
        assert_eq!(
            s.filter,
            vec![
                ("status".into(), "200".into()),
                ("method".into(), "GET".into())
            ]
        );
        assert_eq!(s.name, "http_req_duration{status:200,method:GET}");
        let s = parse_selector("checks{group:::login}").unwrap();
        assert_eq!(s.filter, vec![("group".into(), "::login".into())]);
        for bad in ["", "{a:b}", "m{a:b", "m{}", "m{ab}", "m}"] {
            assert!(parse_selector(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn splits_threshold_flags() {
        assert_eq!(
            split_flag("http_req_duration: p(95)<250").unwrap(),
            ("http_req_duration".into(), "p(95)<250".into())
        );
        assert_eq!(
            split_flag("http_req_duration{status:200}:avg<5").unwrap(),
            ("http_req_duration{status:200}".into(), "avg<5".into())
        );
        assert!(split_flag("p(95)<250").is_err());
        assert!(split_flag("metric:").is_err());
    }
}
