//! Scenarios from options, with k6's option names, defaults and validation; the shortcut
//! options (`vus`, `duration`, `iterations`, `stages`) mapped to a `default` scenario exactly
//! as k6 maps them; and the execution segment every scenario runs its share of.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::config::{ExecutorKind, ScenarioConfig, DEFAULT_GRACEFUL_STOP, DEFAULT_MAX_DURATION};
use super::segment::ExecutionTuple;
use crate::options::{Dur, Execution, Options, Stage};

/// This instance's segment, from `executionSegment`, `executionSegmentSequence` and
/// `executionSegmentIndex`.
pub fn execution_tuple(options: &Options) -> Result<ExecutionTuple, String> {
    let sequence = options.execution_segment_sequence.as_ref();
    match (options.execution_segment_index, sequence) {
        (Some(_), None) => Err(
            "`executionSegmentIndex` needs `executionSegmentSequence` (e.g. --execution-segment-sequence 0,1/2,1)"
                .into(),
        ),
        (Some(index), Some(seq)) => {
            let index = usize::try_from(index).unwrap_or(usize::MAX);
            let tuple = ExecutionTuple::of_index(seq, index)?;
            match &options.execution_segment {
                Some(seg) if *seg != tuple.segment() => Err(format!(
                    "`executionSegment` {seg} is not segment {index} of the sequence {seq} ({}): set one or the other",
                    tuple.segment()
                )),
                _ => Ok(tuple),
            }
        }
        (None, seq) => ExecutionTuple::new(options.execution_segment.as_ref(), seq),
    }
}

/// The scenarios of a test, from merged options, each with this instance's segment.
pub fn scenarios(options: &Options) -> Result<Vec<ScenarioConfig>, String> {
    let tuple = execution_tuple(options)?;
    let mut list = unsegmented(options)?;
    for s in &mut list {
        s.tuple = tuple.clone();
    }
    Ok(list)
}

fn unsegmented(options: &Options) -> Result<Vec<ScenarioConfig>, String> {
    let list = match options.execution()?.0 {
        Execution::Scenarios => options
            .scenarios
            .iter()
            .flatten()
            .map(|(name, v)| parse_scenario(name, v))
            .collect::<Result<Vec<_>, _>>()?,
        shortcut => vec![shortcut_scenario(options, shortcut)?],
    };
    Ok(list)
}

/// The one scenario the execution shortcuts make, as k6 v2 consolidates them (see
/// [`Options::execution`]).
fn shortcut_scenario(o: &Options, execution: Execution) -> Result<ScenarioConfig, String> {
    let vus = o.vus.unwrap_or(1);
    let executor = match execution {
        Execution::RampingVus => ExecutorKind::RampingVus {
            start_vus: vus,
            stages: o.stages.clone().unwrap_or_default(),
            graceful_ramp_down: DEFAULT_GRACEFUL_STOP,
        },
        Execution::SharedIterations => ExecutorKind::SharedIterations {
            vus,
            iterations: o.iterations.unwrap_or(1),
            max_duration: o.duration.map(|d| d.0).unwrap_or(DEFAULT_MAX_DURATION),
        },
        Execution::ConstantVus => ExecutorKind::ConstantVus {
            vus,
            duration: o.duration.map(|d| d.0).unwrap_or_default(),
        },
        Execution::VusOnly => ExecutorKind::SharedIterations {
            vus,
            iterations: vus,
            max_duration: DEFAULT_MAX_DURATION,
        },
        Execution::OneIteration | Execution::Scenarios => ExecutorKind::PerVuIterations {
            vus: 1,
            iterations: 1,
            max_duration: DEFAULT_MAX_DURATION,
        },
    };
    let s = ScenarioConfig {
        name: "default".into(),
        executor,
        start_time: Duration::ZERO,
        graceful_stop: DEFAULT_GRACEFUL_STOP,
        exec: "default".into(),
        env: Vec::new(),
        tags: Vec::new(),
        tuple: ExecutionTuple::full(),
    };
    validate(&s)?;
    Ok(s)
}

/// Every executor's options; `options` (k6's browser settings) is taken and not used.
const COMMON: [&str; 7] = [
    "executor",
    "startTime",
    "gracefulStop",
    "exec",
    "env",
    "tags",
    "options",
];

/// An executor's own options, in k6's order; `None` for an executor stampede does not run.
pub fn executor_fields(executor: &str) -> Option<&'static [&'static str]> {
    Some(match executor {
        "shared-iterations" | "per-vu-iterations" => &["vus", "iterations", "maxDuration"],
        "constant-vus" => &["vus", "duration"],
        "ramping-vus" => &["startVUs", "stages", "gracefulRampDown"],
        "constant-arrival-rate" => &["rate", "timeUnit", "duration", "preAllocatedVUs", "maxVUs"],
        "ramping-arrival-rate" => &[
            "startRate",
            "timeUnit",
            "stages",
            "preAllocatedVUs",
            "maxVUs",
        ],
        _ => return None,
    })
}

fn parse_scenario(name: &str, v: &Value) -> Result<ScenarioConfig, String> {
    let here = format!("scenario `{name}`");
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "{here}: scenario names may only have letters, digits, `_` and `-`"
        ));
    }
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{here}: expected an object with an `executor`"))?;
    let executor = obj
        .get("executor")
        .ok_or_else(|| {
            format!(
                "{here}: `executor` is missing (one of {})",
                EXECUTORS.join(", ")
            )
        })?
        .as_str()
        .ok_or_else(|| format!("{here}: `executor` must be a string"))?;
    let fields = executor_fields(executor).ok_or_else(|| {
        format!(
            "{here}: unknown executor `{executor}` (one of {})",
            EXECUTORS.join(", ")
        )
    })?;
    for key in obj.keys() {
        if !COMMON.contains(&key.as_str()) && !fields.contains(&key.as_str()) {
            return Err(format!(
                "{here}: unknown option `{key}` for executor {executor} (it takes {}, and {})",
                fields.join(", "),
                COMMON[1..].join(", ")
            ));
        }
    }
    let get = Getter { obj, here: &here };
    let executor = match executor {
        "shared-iterations" => ExecutorKind::SharedIterations {
            vus: get.u64("vus")?.unwrap_or(1),
            iterations: get.u64("iterations")?.unwrap_or(1),
            max_duration: get.dur("maxDuration")?.unwrap_or(DEFAULT_MAX_DURATION),
        },
        "per-vu-iterations" => ExecutorKind::PerVuIterations {
            vus: get.u64("vus")?.unwrap_or(1),
            iterations: get.u64("iterations")?.unwrap_or(1),
            max_duration: get.dur("maxDuration")?.unwrap_or(DEFAULT_MAX_DURATION),
        },
        "constant-vus" => ExecutorKind::ConstantVus {
            vus: get.u64("vus")?.unwrap_or(1),
            duration: get
                .dur("duration")?
                .ok_or_else(|| format!("{here}: `duration` is required for constant-vus"))?,
        },
        "ramping-vus" => ExecutorKind::RampingVus {
            start_vus: get.u64("startVUs")?.unwrap_or(1),
            stages: get.stages()?,
            graceful_ramp_down: get
                .dur("gracefulRampDown")?
                .unwrap_or(DEFAULT_GRACEFUL_STOP),
        },
        "constant-arrival-rate" => {
            let pre = get
                .u64("preAllocatedVUs")?
                .ok_or_else(|| format!("{here}: `preAllocatedVUs` is required"))?;
            ExecutorKind::ConstantArrivalRate {
                rate: get
                    .u64("rate")?
                    .ok_or_else(|| format!("{here}: `rate` is required"))?,
                time_unit: get.dur("timeUnit")?.unwrap_or(Duration::from_secs(1)),
                duration: get
                    .dur("duration")?
                    .ok_or_else(|| format!("{here}: `duration` is required"))?,
                pre_allocated_vus: pre,
                max_vus: get.u64("maxVUs")?.unwrap_or(pre),
            }
        }
        _ => {
            let pre = get
                .u64("preAllocatedVUs")?
                .ok_or_else(|| format!("{here}: `preAllocatedVUs` is required"))?;
            ExecutorKind::RampingArrivalRate {
                start_rate: get.u64("startRate")?.unwrap_or(0),
                time_unit: get.dur("timeUnit")?.unwrap_or(Duration::from_secs(1)),
                stages: get.stages()?,
                pre_allocated_vus: pre,
                max_vus: get.u64("maxVUs")?.unwrap_or(pre),
            }
        }
    };
    let exec = match obj.get("exec") {
        None => "default".to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => return Err(format!("{here}: `exec` must be the name of an entry point")),
    };
    let s = ScenarioConfig {
        name: name.to_owned(),
        executor,
        start_time: get.dur("startTime")?.unwrap_or_default(),
        graceful_stop: get.dur("gracefulStop")?.unwrap_or(DEFAULT_GRACEFUL_STOP),
        exec,
        env: get.string_map("env")?,
        tags: get.string_map("tags")?,
        tuple: ExecutionTuple::full(),
    };
    validate(&s)?;
    Ok(s)
}

const EXECUTORS: [&str; 6] = [
    "shared-iterations",
    "per-vu-iterations",
    "constant-vus",
    "ramping-vus",
    "constant-arrival-rate",
    "ramping-arrival-rate",
];

struct Getter<'a> {
    obj: &'a Map<String, Value>,
    here: &'a str,
}

impl Getter<'_> {
    fn u64(&self, key: &str) -> Result<Option<u64>, String> {
        match self.obj.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("{}: `{key}` must be a whole number, not {v}", self.here)),
        }
    }

    fn dur(&self, key: &str) -> Result<Option<Duration>, String> {
        match self.obj.get(key) {
            None => Ok(None),
            Some(v) => serde_json::from_value::<Dur>(v.clone())
                .map(|d| Some(d.0))
                .map_err(|e| format!("{}: `{key}`: {e}", self.here)),
        }
    }

    fn stages(&self) -> Result<Vec<Stage>, String> {
        let v = self
            .obj
            .get("stages")
            .ok_or_else(|| format!("{}: `stages` is required", self.here))?;
        serde_json::from_value(v.clone()).map_err(|e| format!("{}: `stages`: {e}", self.here))
    }

    fn string_map(&self, key: &str) -> Result<Vec<(String, String)>, String> {
        match self.obj.get(key) {
            None => Ok(Vec::new()),
            Some(v) => serde_json::from_value::<BTreeMap<String, String>>(v.clone())
                .map(|m| m.into_iter().collect())
                .map_err(|e| format!("{}: `{key}` must map names to strings: {e}", self.here)),
        }
    }
}

/// k6's validation rules for each executor.
fn validate(s: &ScenarioConfig) -> Result<(), String> {
    let here = format!("scenario `{}` ({})", s.name, s.executor.name());
    match &s.executor {
        ExecutorKind::SharedIterations {
            vus,
            iterations,
            max_duration,
        } => {
            if *vus == 0 {
                return Err(format!("{here}: `vus` must be more than 0"));
            }
            if iterations < vus {
                return Err(format!(
                    "{here}: the number of iterations ({iterations}) can't be less than the number of VUs ({vus})"
                ));
            }
            if max_duration.is_zero() {
                return Err(format!("{here}: `maxDuration` must be more than 0"));
            }
        }
        ExecutorKind::PerVuIterations {
            vus,
            iterations,
            max_duration,
        } => {
            if *vus == 0 || *iterations == 0 {
                return Err(format!(
                    "{here}: `vus` and `iterations` must be more than 0"
                ));
            }
            if max_duration.is_zero() {
                return Err(format!("{here}: `maxDuration` must be more than 0"));
            }
        }
        ExecutorKind::ConstantVus { vus, duration } => {
            if *vus == 0 {
                return Err(format!("{here}: `vus` must be more than 0"));
            }
            if duration.is_zero() {
                return Err(format!("{here}: `duration` must be more than 0"));
            }
        }
        ExecutorKind::RampingVus { stages, .. } => {
            if stages.is_empty() {
                return Err(format!("{here}: `stages` needs at least one stage"));
            }
            if stages.iter().all(|st| st.duration.0.is_zero()) {
                return Err(format!("{here}: the stages must last more than 0 in total"));
            }
        }
        ExecutorKind::ConstantArrivalRate {
            rate,
            time_unit,
            duration,
            max_vus,
            pre_allocated_vus,
        } => {
            if *rate == 0 {
                return Err(format!("{here}: `rate` must be more than 0"));
            }
            if time_unit.is_zero() || duration.is_zero() {
                return Err(format!(
                    "{here}: `timeUnit` and `duration` must be more than 0"
                ));
            }
            if max_vus < pre_allocated_vus {
                return Err(format!("{here}: `maxVUs` ({max_vus}) can't be less than `preAllocatedVUs` ({pre_allocated_vus})"));
            }
            if *max_vus == 0 {
                return Err(format!(
                    "{here}: `preAllocatedVUs` or `maxVUs` must be more than 0"
                ));
            }
        }
        ExecutorKind::RampingArrivalRate {
            time_unit,
            stages,
            max_vus,
            pre_allocated_vus,
            ..
        } => {
            if stages.is_empty() {
                return Err(format!("{here}: `stages` needs at least one stage"));
            }
            if time_unit.is_zero() {
                return Err(format!("{here}: `timeUnit` must be more than 0"));
            }
            if max_vus < pre_allocated_vus {
                return Err(format!("{here}: `maxVUs` ({max_vus}) can't be less than `preAllocatedVUs` ({pre_allocated_vus})"));
            }
            if *max_vus == 0 {
                return Err(format!(
                    "{here}: `preAllocatedVUs` or `maxVUs` must be more than 0"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Source;

    fn opts(json: &str) -> Options {
        Options::from_json(json, &Source::Cli).unwrap()
    }

    #[test]
    fn shortcuts_map_like_k6() {
        let s = &scenarios(&opts("{}")).unwrap()[0];
        assert_eq!(
            s.executor,
            ExecutorKind::PerVuIterations {
                vus: 1,
                iterations: 1,
                max_duration: DEFAULT_MAX_DURATION
            }
        );
        let s = &scenarios(&opts(r#"{"vus": 5, "duration": "10s"}"#)).unwrap()[0];
        assert_eq!(
            s.executor,
            ExecutorKind::ConstantVus {
                vus: 5,
                duration: Duration::from_secs(10)
            }
        );
        let s = &scenarios(&opts(r#"{"vus": 2, "iterations": 10}"#)).unwrap()[0];
        assert_eq!(
            s.executor,
            ExecutorKind::SharedIterations {
                vus: 2,
                iterations: 10,
                max_duration: DEFAULT_MAX_DURATION
            }
        );
        let s = &scenarios(&opts(r#"{"iterations": 10, "duration": "5s"}"#)).unwrap()[0];
        assert_eq!(
            s.executor,
            ExecutorKind::SharedIterations {
                vus: 1,
                iterations: 10,
                max_duration: Duration::from_secs(5)
            }
        );
        let s = &scenarios(&opts(
            r#"{"vus": 3, "stages": [{"duration": "5s", "target": 10}]}"#,
        ))
        .unwrap()[0];
        assert!(matches!(
            s.executor,
            ExecutorKind::RampingVus { start_vus: 3, .. }
        ));
        assert_eq!(s.name, "default");
    }

    #[test]
    fn shortcut_conflicts_are_errors() {
        assert!(scenarios(&opts(
            r#"{"stages": [{"duration": "5s", "target": 1}], "duration": "5s"}"#
        ))
        .is_err());
        // `vus` alone is that many iterations shared by that many VUs, as in k6 v2.
        let s = &scenarios(&opts(r#"{"vus": 10}"#)).unwrap()[0];
        assert_eq!(
            s.executor,
            ExecutorKind::SharedIterations {
                vus: 10,
                iterations: 10,
                max_duration: DEFAULT_MAX_DURATION
            }
        );
        let err = scenarios(&opts(r#"{"vus": 10, "iterations": 5}"#)).unwrap_err();
        assert!(
            err.contains("can't be less than the number of VUs"),
            "{err}"
        );
    }

    #[test]
    fn scenarios_parse_with_defaults_and_name_bad_keys() {
        let o = opts(
            r#"{"scenarios": {"api": {"executor": "constant-arrival-rate", "rate": 100, "duration": "1m",
                 "preAllocatedVUs": 10, "exec": "api", "tags": {"kind": "api"}, "startTime": "10s"}}}"#,
        );
        let s = &scenarios(&o).unwrap()[0];
        assert_eq!(s.max_vus(), 10);
        assert_eq!(s.exec, "api");
        assert_eq!(s.start_time, Duration::from_secs(10));
        assert_eq!(s.tags, vec![("kind".into(), "api".into())]);
        let err = scenarios(&opts(
            r#"{"scenarios": {"x": {"executor": "constant-vus", "duration": "1s", "rate": 5}}}"#,
        ))
        .unwrap_err();
        assert!(
            err.contains("scenario `x`") && err.contains("unknown option `rate`"),
            "{err}"
        );
        let err =
            scenarios(&opts(r#"{"scenarios": {"x": {"executor": "warp-speed"}}}"#)).unwrap_err();
        assert!(err.contains("unknown executor `warp-speed`"), "{err}");
        let err = scenarios(&opts(
            r#"{"scenarios": {"x": {"executor": "constant-vus"}}}"#,
        ))
        .unwrap_err();
        assert!(err.contains("`duration` is required"), "{err}");
        let err = scenarios(&opts(
            r#"{"scenarios": {"x": {"executor": "constant-vus", "duration": "1x"}}}"#,
        ))
        .unwrap_err();
        assert!(err.contains("invalid duration"), "{err}");
    }

    #[test]
    fn scenarios_are_described_in_k6s_words() {
        // The lines k6 v2.2's banner printed for the same scenarios.
        let o = opts(
            r#"{"scenarios": {
              "si": {"executor": "shared-iterations", "vus": 2, "iterations": 6, "maxDuration": "5s"},
              "cv": {"executor": "constant-vus", "vus": 2, "duration": "1s", "gracefulStop": "0s", "exec": "slow"},
              "rv": {"executor": "ramping-vus", "stages": [{"duration": "1s", "target": 2}, {"duration": "1s", "target": 0}],
                     "gracefulRampDown": "0s", "exec": "slow"},
              "car": {"executor": "constant-arrival-rate", "rate": 10, "duration": "2s", "preAllocatedVUs": 2,
                      "maxVUs": 3, "exec": "slow"},
              "rar": {"executor": "ramping-arrival-rate", "startRate": 5, "timeUnit": "500ms", "preAllocatedVUs": 2,
                      "stages": [{"duration": "1s", "target": 10}, {"duration": "1s", "target": 0}], "exec": "slow"},
              "pvi": {"executor": "per-vu-iterations", "vus": 2, "iterations": 3, "startTime": "100ms"}}}"#,
        );
        let mut lines: Vec<String> = scenarios(&o)
            .unwrap()
            .iter()
            .map(|s| s.describe())
            .collect();
        lines.sort();
        assert_eq!(
            lines,
            [
                "car: 10.00 iterations/s for 2s (maxVUs: 2-3, exec: slow, gracefulStop: 30s)",
                "cv: 2 looping VUs for 1s (exec: slow)",
                "pvi: 3 iterations for each of 2 VUs (maxDuration: 10m0s, startTime: 100ms, gracefulStop: 30s)",
                "rar: Up to 20.00 iterations/s for 2s over 2 stages (maxVUs: 2, exec: slow, gracefulStop: 30s)",
                "rv: Up to 2 looping VUs for 2s over 2 stages (gracefulRampDown: 0s, exec: slow, gracefulStop: 30s)",
                "si: 6 iterations shared among 2 VUs (maxDuration: 5s, gracefulStop: 30s)",
            ]
        );
    }
}
