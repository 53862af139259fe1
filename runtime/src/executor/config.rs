//! Scenarios as options describe them, with k6's executor names, settings and defaults, and
//! each executor's share of a test split with execution segments (see [`segment`]): how many
//! VUs this instance makes, and how its iterations are numbered in the whole test.
//!
//! [`segment`]: super::segment

use std::time::Duration;

use super::segment::ExecutionTuple;
use crate::options::Stage;

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
    /// This instance's segment of the test (the whole test, unless split).
    pub tuple: ExecutionTuple,
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
    /// Most VUs the scenario can use at once, on all instances together.
    pub fn unscaled_max_vus(&self) -> u64 {
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

    /// Most VUs the scenario can use at once on this instance: its share of
    /// [`unscaled_max_vus`](Self::unscaled_max_vus).
    pub fn max_vus(&self) -> u64 {
        self.tuple.scale(self.unscaled_max_vus())
    }

    /// VUs made before the test starts, on this instance.
    pub fn initial_vus(&self) -> u64 {
        match &self.executor {
            ExecutorKind::ConstantArrivalRate {
                pre_allocated_vus, ..
            }
            | ExecutorKind::RampingArrivalRate {
                pre_allocated_vus, ..
            } => self.tuple.scale(*pre_allocated_vus),
            _ => self.max_vus(),
        }
    }

    /// How this instance's iterations are numbered in the whole test: by its segment, dealt
    /// again over the VUs for shared-iterations and over maxVUs for the arrival-rate
    /// executors, as k6 does. `None` when this instance runs none of the scenario's
    /// iterations (k6's `HasWork` is false).
    pub fn iteration_tuple(&self) -> Option<ExecutionTuple> {
        match &self.executor {
            ExecutorKind::SharedIterations { vus, .. } => self.tuple.rescaled(*vus),
            ExecutorKind::ConstantArrivalRate { max_vus, .. }
            | ExecutorKind::RampingArrivalRate { max_vus, .. } => self.tuple.rescaled(*max_vus),
            _ => (self.max_vus() > 0).then(|| self.tuple.clone()),
        }
    }

    /// Iterations this instance runs of a shared-iterations scenario (its share of the
    /// scenario's, dealt over its share of the VUs).
    pub fn shared_iterations(&self) -> u64 {
        match (&self.executor, self.iteration_tuple()) {
            (ExecutorKind::SharedIterations { iterations, .. }, Some(t)) => t.scale(*iterations),
            _ => 0,
        }
    }

    /// Whether this instance has anything to do in the scenario.
    pub fn has_work(&self) -> bool {
        match &self.executor {
            ExecutorKind::SharedIterations { .. } => self.shared_iterations() > 0,
            _ => self.iteration_tuple().is_some(),
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

    /// One line describing this instance's share of it, in the words of k6's start-up banner
    /// (`2 looping VUs for 30s (gracefulStop: 30s)`, `10.00 iterations/s for 1m0s (maxVUs:
    /// 5-20, gracefulStop: 30s)`).
    pub fn describe(&self) -> String {
        let d = crate::options::format_duration;
        let t = &self.tuple;
        let vus_range = || match (self.initial_vus(), self.max_vus()) {
            (pre, max) if max > pre => format!("maxVUs: {pre}-{max}"),
            (pre, _) => format!("maxVUs: {pre}"),
        };
        // Iterations a second, of this instance's share.
        let per_sec = |rate: u64, unit: &Duration| {
            rate as f64 / unit.as_secs_f64().max(1e-9) * t.segment().length().as_f64()
        };
        let (body, first_fact) = match &self.executor {
            ExecutorKind::SharedIterations {
                vus, max_duration, ..
            } => (
                format!(
                    "{} iterations shared among {} VUs",
                    self.shared_iterations(),
                    t.scale(*vus)
                ),
                Some(format!("maxDuration: {}", d(*max_duration))),
            ),
            ExecutorKind::PerVuIterations {
                vus,
                iterations,
                max_duration,
            } => (
                format!("{iterations} iterations for each of {} VUs", t.scale(*vus)),
                Some(format!("maxDuration: {}", d(*max_duration))),
            ),
            ExecutorKind::ConstantVus { vus, duration } => (
                format!("{} looping VUs for {}", t.scale(*vus), d(*duration)),
                None,
            ),
            ExecutorKind::RampingVus {
                stages,
                graceful_ramp_down,
                ..
            } => (
                format!(
                    "Up to {} looping VUs for {} over {} stages",
                    self.max_vus(),
                    d(self.max_run_time()),
                    stages.len()
                ),
                Some(format!("gracefulRampDown: {}", d(*graceful_ramp_down))),
            ),
            ExecutorKind::ConstantArrivalRate {
                rate,
                time_unit,
                duration,
                ..
            } => (
                format!(
                    "{:.2} iterations/s for {}",
                    per_sec(*rate, time_unit),
                    d(*duration)
                ),
                Some(vus_range()),
            ),
            ExecutorKind::RampingArrivalRate {
                start_rate,
                time_unit,
                stages,
                ..
            } => (
                format!(
                    "Up to {:.2} iterations/s for {} over {} stages",
                    per_sec(
                        stages.iter().map(|s| s.target).fold(*start_rate, u64::max),
                        time_unit
                    ),
                    d(stages.iter().map(|s| s.duration.0).sum()),
                    stages.len()
                ),
                Some(vus_range()),
            ),
        };
        format!("{}: {body}{}", self.name, self.facts(first_fact))
    }

    /// The banner's facts after an executor's own: `exec`, `startTime`, `gracefulStop` (when
    /// not 0), in parentheses, or nothing.
    fn facts(&self, first: Option<String>) -> String {
        let d = crate::options::format_duration;
        let mut facts: Vec<String> = first.into_iter().collect();
        if self.exec != "default" {
            facts.push(format!("exec: {}", self.exec));
        }
        if !self.start_time.is_zero() {
            facts.push(format!("startTime: {}", d(self.start_time)));
        }
        if !self.graceful_stop.is_zero() {
            facts.push(format!("gracefulStop: {}", d(self.graceful_stop)));
        }
        if facts.is_empty() {
            String::new()
        } else {
            format!(" ({})", facts.join(", "))
        }
    }
}
