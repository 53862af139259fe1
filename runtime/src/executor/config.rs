//! Scenarios as options describe them, with k6's executor names, option names, defaults and
//! validation; and the shortcut options (`vus`, `duration`, `iterations`, `stages`) mapped to a
//! `default` scenario exactly as k6 maps them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::options::{Dur, Execution, Options, Stage};

/// k6's default gracefulStop and gracefulRampDown.
pub const DEFAULT_GRACEFUL_STOP: Duration = Duration::from_secs(30);
/// k6's default maxDuration for the iteration-count executors.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(600);

/// What an executor does, with its own settings.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecutorKind {
    /// `iterations` shared by `vus` VUs, within `maxDuration`.
    SharedIterations {
        /// VUs.
        vus: u64,
        /// Iterations in all.
        iterations: u64,
        /// Longest the scenario may run.
        max_duration: Duration,
    },
    /// `iterations` for each of `vus` VUs, within `maxDuration`.
    PerVuIterations {
        /// VUs.
        vus: u64,
        /// Iterations per VU.
        iterations: u64,
        /// Longest the scenario may run.
        max_duration: Duration,
    },
    /// `vus` VUs looping for `duration`.
    ConstantVus {
        /// VUs.
        vus: u64,
        /// How long.
        duration: Duration,
    },
    /// A number of looping VUs that follows `stages`.
    RampingVus {
        /// VUs at the start.
        start_vus: u64,
        /// The VU targets over time.
        stages: Vec<Stage>,
        /// How long VUs above the target may finish their iteration.
        graceful_ramp_down: Duration,
    },
    /// `rate` iterations per `timeUnit`, started on schedule, for `duration`.
    ConstantArrivalRate {
        /// Iterations per time unit.
        rate: u64,
        /// The time unit.
        time_unit: Duration,
        /// How long.
        duration: Duration,
        /// VUs made before the start.
        pre_allocated_vus: u64,
        /// Most VUs it may use.
        max_vus: u64,
    },
    /// An iteration rate that follows `stages`.
    RampingArrivalRate {
        /// Iterations per time unit at the start.
        start_rate: u64,
        /// The time unit.
        time_unit: Duration,
        /// The rate targets over time.
        stages: Vec<Stage>,
        /// VUs made before the start.
        pre_allocated_vus: u64,
        /// Most VUs it may use.
        max_vus: u64,
    },
}

/// One scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioConfig {
    /// Its name (`default` for the shortcuts).
    pub name: String,
    /// What it does.
    pub executor: ExecutorKind,
    /// When it starts, after the test starts.
    pub start_time: Duration,
    /// How long running iterations may finish after it ends.
    pub graceful_stop: Duration,
    /// The entry point its iterations call.
    pub exec: String,
    /// Variables its VUs see on top of `-e` ones.
    pub env: Vec<(String, String)>,
    /// Tags on its samples.
    pub tags: Vec<(String, String)>,
}

impl ExecutorKind {
    /// k6's name of the executor.
    pub fn name(&self) -> &'static str {
        match self {
            ExecutorKind::SharedIterations { .. } => "shared-iterations",
            ExecutorKind::PerVuIterations { .. } => "per-vu-iterations",
            ExecutorKind::ConstantVus { .. } => "constant-vus",
            ExecutorKind::RampingVus { .. } => "ramping-vus",
            ExecutorKind::ConstantArrivalRate { .. } => "constant-arrival-rate",
            ExecutorKind::RampingArrivalRate { .. } => "ramping-arrival-rate",
        }
    }
}

impl ScenarioConfig {
    /// Most VUs the scenario can use at once.
    pub fn max_vus(&self) -> u64 {
        match &self.executor {
            ExecutorKind::SharedIterations { vus, .. }
            | ExecutorKind::PerVuIterations { vus, .. }
            | ExecutorKind::ConstantVus { vus, .. } => *vus,
            ExecutorKind::RampingVus {
                start_vus, stages, ..
            } => stages.iter().map(|s| s.target).fold(*start_vus, u64::max),
            ExecutorKind::ConstantArrivalRate { max_vus, .. }
            | ExecutorKind::RampingArrivalRate { max_vus, .. } => *max_vus,
        }
    }

    /// VUs made before the test starts.
    pub fn initial_vus(&self) -> u64 {
        match &self.executor {
            ExecutorKind::ConstantArrivalRate {
                pre_allocated_vus, ..
            }
            | ExecutorKind::RampingArrivalRate {
                pre_allocated_vus, ..
            } => *pre_allocated_vus,
            _ => self.max_vus(),
        }
    }

    /// How long the scenario runs at most, from its start time, without its gracefulStop.
    pub fn max_run_time(&self) -> Duration {
        match &self.executor {
            ExecutorKind::SharedIterations { max_duration, .. }
            | ExecutorKind::PerVuIterations { max_duration, .. } => *max_duration,
            ExecutorKind::ConstantVus { duration, .. }
            | ExecutorKind::ConstantArrivalRate { duration, .. } => *duration,
            ExecutorKind::RampingVus { stages, .. }
            | ExecutorKind::RampingArrivalRate { stages, .. } => {
                stages.iter().map(|s| s.duration.0).sum()
            }
        }
    }

    /// One line describing it, as k6's start-up banner does.
    pub fn describe(&self) -> String {
        let d = crate::options::format_duration;
        let body = match &self.executor {
            ExecutorKind::SharedIterations {
                vus,
                iterations,
                max_duration,
            } => {
                format!(
                    "{iterations} iterations shared among {vus} VUs (maxDuration: {})",
                    d(*max_duration)
                )
            }
            ExecutorKind::PerVuIterations {
                vus,
                iterations,
                max_duration,
            } => {
                format!(
                    "{iterations} iterations for each of {vus} VUs (maxDuration: {})",
                    d(*max_duration)
                )
            }
            ExecutorKind::ConstantVus { vus, duration } => {
                format!("{vus} looping VUs for {}", d(*duration))
            }
            ExecutorKind::RampingVus {
                start_vus, stages, ..
            } => format!(
                "Up to {} looping VUs for {} over {} stages",
                self.max_vus().max(*start_vus),
                d(self.max_run_time()),
                stages.len()
            ),
            ExecutorKind::ConstantArrivalRate {
                rate,
                time_unit,
                duration,
                pre_allocated_vus,
                max_vus,
            } => format!(
                "{rate} iterations/{} for {} (maxVUs: {pre_allocated_vus}-{max_vus})",
                d(*time_unit),
                d(*duration)
            ),
            ExecutorKind::RampingArrivalRate {
                start_rate,
                time_unit,
                stages,
                pre_allocated_vus,
                max_vus,
            } => format!(
                "Up to {} iterations/{} over {} stages (maxVUs: {pre_allocated_vus}-{max_vus})",
                stages.iter().map(|s| s.target).fold(*start_rate, u64::max),
                d(*time_unit),
                stages.len()
            ),
        };
        let mut extra = format!("gracefulStop: {}", d(self.graceful_stop));
        if self.exec != "default" {
            extra.push_str(&format!(", exec: {}", self.exec));
        }
        if !self.start_time.is_zero() {
            extra.push_str(&format!(", startTime: {}", d(self.start_time)));
        }
        format!("{}: {body} ({extra})", self.name)
    }
}

/// The scenarios of a test, from merged options: the `scenarios`, or the one the shortcut
/// options make (see [`Options::execution`]).
pub fn scenarios(options: &Options) -> Result<Vec<ScenarioConfig>, String> {
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
    let fields: &[&str] = match executor {
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
        other => {
            return Err(format!(
                "{here}: unknown executor `{other}` (one of {})",
                EXECUTORS.join(", ")
            ));
        }
    };
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
}
