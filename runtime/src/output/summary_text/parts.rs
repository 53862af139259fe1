//! What each part of the summary holds — the total results, and in full mode each group and
//! scenario — read from the report as k6 v2.2 splits it.
//!
//! k6 keeps a group's own samples (not its sub-groups') and a scenario's samples; stampede
//! has the per-group and per-scenario breakdown sub-metrics (`http_reqs{group:::g1}`,
//! `iterations{scenario:api}`), each filtered on that one tag, and each check's group.

use super::metrics::{hidden, locale_cmp, Shown};
use crate::metrics::CheckStats;
use crate::output::{MetricReport, Report, Values};

/// The checks a part shows.
#[derive(Debug, Clone, Default)]
pub(super) struct Checks {
    /// Checks that passed.
    pub passes: u64,
    /// Checks run.
    pub total: u64,
    /// Each check, in the order first seen (empty when only the counts are known).
    pub list: Vec<CheckStats>,
}

impl Checks {
    /// `checks`, those of the same name taken as one (as k6 keys them).
    fn merged<'a>(checks: impl Iterator<Item = &'a CheckStats>) -> Option<Checks> {
        let mut out = Checks::default();
        for c in checks {
            out.passes += c.passes;
            out.total += c.passes + c.fails;
            match out.list.iter_mut().find(|m| m.name == c.name) {
                Some(m) => {
                    m.passes += c.passes;
                    m.fails += c.fails;
                }
                None => out.list.push(c.clone()),
            }
        }
        (out.total > 0).then_some(out)
    }
}

/// Parts by name, in the order shown.
pub(super) type Named<'a> = Vec<(String, Part<'a>)>;

/// One part of the summary.
#[derive(Debug, Default)]
pub(super) struct Part<'a> {
    /// Its checks, if any ran in it.
    pub checks: Option<Checks>,
    /// Its metrics.
    pub metrics: Vec<Shown<'a>>,
    /// Its groups, by name, in the order first seen.
    pub groups: Named<'a>,
}

/// The total results: every check and every metric.
pub(super) fn total(report: &Report, full: bool) -> Part<'_> {
    // k6 lists vus and vus_max once its one-second tick sampled them.
    let short = report.duration.as_secs_f64() < 1.0;
    let gated = |name: &str| report.thresholds.iter().any(|t| t.metric == name);
    let metrics = report
        .metrics
        .iter()
        .filter(|m| !m.breakdown && !hidden(&m.name, m.builtin, full))
        .filter(|m| !(short && (m.name == "vus" || m.name == "vus_max") && !gated(&m.name)))
        .map(|m| Shown {
            name: m.name.clone(),
            metric: m,
        })
        .collect();
    Part {
        checks: Checks::merged(report.checks.iter()),
        metrics,
        groups: Vec::new(),
    }
}

/// Whether `m` is a sub-metric filtered on `key` = `value` alone: one of the breakdown, or
/// one a threshold asked for (the same samples).
fn only_on(m: &MetricReport, key: &str, value: &str) -> bool {
    matches!(m.filter.as_slice(), [(k, v)] if k == key && v == value)
}

/// The sub-metrics filtered on `key` = `value`, shown by their metric's name.
fn broken_down<'a>(report: &'a Report, key: &str, value: &str) -> Vec<Shown<'a>> {
    report
        .metrics
        .iter()
        .filter(|m| m.parent.is_some() && only_on(m, key, value))
        .filter_map(|m| {
            let name = m.parent.clone()?;
            (!hidden(&name, m.builtin, true)).then_some(Shown { name, metric: m })
        })
        .collect()
}

/// The counts of the `checks{key:value}` sub-metric.
fn check_counts(report: &Report, key: &str, value: &str) -> Option<Checks> {
    let m = report
        .metrics
        .iter()
        .find(|m| m.parent.as_deref() == Some("checks") && only_on(m, key, value))?;
    match m.values {
        Values::Rate { trues, total } if total > 0 => Some(Checks {
            passes: trues,
            total,
            list: Vec::new(),
        }),
        _ => None,
    }
}

/// k6 leaves out what `setup()` and `teardown()` do in their groups.
fn lifecycle(path: &str) -> bool {
    path == "::setup" || path == "::teardown"
}

/// The group at `path` and the groups in it.
fn group<'a>(report: &'a Report, path: &str) -> Part<'a> {
    let (checks, metrics) = if lifecycle(path) {
        (None, Vec::new())
    } else {
        let own = report.checks.iter().filter(|c| c.group == path);
        (Checks::merged(own), broken_down(report, "group", path))
    };
    Part {
        checks,
        metrics,
        groups: children(report, path),
    }
}

/// The groups directly in `path` (`""` for the top), in the order first seen.
fn children<'a>(report: &'a Report, path: &str) -> Named<'a> {
    report
        .groups
        .iter()
        .filter_map(|g| {
            let name = g.strip_prefix(path)?.strip_prefix("::")?;
            if name.contains("::") {
                return None;
            }
            let part = group(report, g);
            // k6 takes no sample of `setup()`'s or `teardown()`'s own group.
            let empty = lifecycle(g) && part.groups.is_empty();
            (!empty).then(|| (name.to_string(), part))
        })
        .collect()
}

/// The scenarios the sub-metrics saw, in k6's order.
fn scenarios(report: &Report) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for m in report.metrics.iter().filter(|m| m.parent.is_some()) {
        if let [(key, value)] = m.filter.as_slice() {
            if key == "scenario" && !names.contains(&value.as_str()) {
                names.push(value);
            }
        }
    }
    names.sort_by(|a, b| locale_cmp(a, b));
    names
}

/// Full mode's parts after the total: `GROUP` sections (the groups of the `default`
/// scenario) and `SCENARIO` sections (the others, each with its groups).
///
/// A group's breakdown covers every scenario, so the groups go in a scenario's section only
/// when it is the only one that ran; with several, they are listed at the top, as if in
/// `default`.
pub(super) fn full(report: &Report) -> (Named<'_>, Named<'_>) {
    let names: Vec<&str> = scenarios(report)
        .into_iter()
        .filter(|s| *s != "default")
        .collect();
    let only = names.len() == 1 && !scenarios(report).contains(&"default");
    let mut groups = children(report, "");
    let sections = names
        .iter()
        .map(|&name| {
            let checks = check_counts(report, "scenario", name).map(|mut c| {
                if only {
                    let run = report.checks.iter().filter(|c| {
                        !lifecycle(&c.group)
                            && !c.group.starts_with("::setup::")
                            && !c.group.starts_with("::teardown::")
                    });
                    c.list = Checks::merged(run).map(|m| m.list).unwrap_or_default();
                }
                c
            });
            let part = Part {
                checks,
                metrics: broken_down(report, "scenario", name),
                groups: if only {
                    std::mem::take(&mut groups)
                } else {
                    Vec::new()
                },
            };
            (name.to_string(), part)
        })
        .collect();
    (groups, sections)
}
