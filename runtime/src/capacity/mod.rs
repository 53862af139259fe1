//! `stampede capacity`: the highest load a service carries within its objectives (SLOs),
//! found by a search over steps of constant load, each judged on its own samples — and never
//! mistaking the load generator's limit for the service's.
//!
//! - [`search`]: which load to try next (geometric growth, then bisection), as a pure state
//!   machine;
//! - [`window`]: a step's own samples, after its warm-up;
//! - [`judge`]: a step's verdict — objectives, throughput, and the generator's health;
//! - [`chart`] and [`report`]: the answer as a table, a text chart and JSON;
//! - [`driver`]: the steps run on the test's VUs, made once and reused;
//! - [`command`]: the whole command, from the script to the exit code.

pub mod chart;
pub mod command;
pub mod driver;
pub mod judge;
pub mod report;
pub mod search;
pub mod window;

use std::time::Duration;

pub use judge::Step;
pub use search::{Answer, Limit};

/// Exit code when the generator saturated before the service broke an objective (and
/// `--min-capacity`, if given, was not reached): the answer is only a lower bound. Outside k6's
/// range of codes (97–110).
pub const EXIT_GENERATOR_LIMIT: i32 = 120;

/// How load is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// Iterations start at a rate, whatever happened to earlier ones (arrival rate): queueing
    /// in the service shows in the latencies.
    Open,
    /// A number of VUs loop: each waits for its previous iteration, so a slower service gets
    /// less load.
    Closed,
}

impl Model {
    /// Its name (`open`, `closed`).
    pub fn name(self) -> &'static str {
        match self {
            Model::Open => "open",
            Model::Closed => "closed",
        }
    }

    /// The unit of its load.
    pub fn unit(self) -> &'static str {
        match self {
            Model::Open => "iterations/s",
            Model::Closed => "VUs",
        }
    }

    /// A load in this model, as shown: `212.5/s`, `40 VUs`.
    pub fn load(self, load: f64) -> String {
        match self {
            Model::Open => format!("{}/s", number(load)),
            Model::Closed => format!("{} VU{}", number(load), if load == 1.0 { "" } else { "s" }),
        }
    }
}

/// At most two decimals, without trailing zeros.
pub fn number(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// How the search runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Open or closed model.
    pub model: Model,
    /// Where the search starts and how exact it must be.
    pub search: search::Config,
    /// The measured part of each step.
    pub step_duration: Duration,
    /// The part of each step before it, whose samples are not judged.
    pub warm_up: Duration,
    /// How long a step's iterations may run on after it before they are interrupted.
    pub graceful_stop: Duration,
    /// Most VUs a step may use (open model).
    pub max_vus: u64,
    /// The capacity a CI gate requires.
    pub min_capacity: Option<f64>,
    /// The script's entry point the iterations call.
    pub exec: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            model: Model::Open,
            search: search::Config::default(),
            step_duration: Duration::from_secs(10),
            warm_up: Duration::from_secs(2),
            graceful_stop: Duration::from_secs(10),
            max_vus: 1000,
            min_capacity: None,
            exec: "default".into(),
        }
    }
}

/// What a search found.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// How it ran.
    pub settings: Settings,
    /// The objectives, as `(metric, threshold)`.
    pub slos: Vec<(String, String)>,
    /// Every step, in the order run.
    pub steps: Vec<Step>,
    /// The answer (provisional when the search was stopped before its end).
    pub answer: Answer,
    /// Whether the search ran to its end.
    pub complete: bool,
    /// How long it took, steps and pauses included.
    pub elapsed: Duration,
    /// Why it stopped early, if it did.
    pub stopped: Option<String>,
}

impl Found {
    /// The step run at `load`, the latest if several were.
    pub fn step_at(&self, load: f64) -> Option<&Step> {
        self.steps.iter().rev().find(|s| s.load == load)
    }

    /// Whether `--min-capacity` was met (`None` without one).
    pub fn gate_met(&self) -> Option<bool> {
        let min = self.settings.min_capacity?;
        Some(self.answer.capacity.is_some_and(|c| c >= min))
    }

    /// The exit code: 0; 99 when `--min-capacity` was not met; [`EXIT_GENERATOR_LIMIT`] when
    /// the generator saturated first and the gate, if any, was not already met below it.
    pub fn exit_code(&self) -> i32 {
        match (self.gate_met(), self.answer.limit) {
            (Some(true), _) => 0,
            (_, Limit::Generator) => EXIT_GENERATOR_LIMIT,
            (Some(false), _) => crate::run::exit::THRESHOLDS_FAILED,
            (None, _) => 0,
        }
    }
}
