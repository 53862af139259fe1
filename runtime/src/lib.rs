//! stampede's engine: scripts as WebAssembly components, one instance per virtual user,
//! executors that schedule their iterations, metrics folded into HDR histograms, thresholds,
//! and the summary.
//!
//! The command-line tool is a thin layer over [`run::run`] and [`serve`].

pub mod capacity;
pub mod cpu;
pub mod engine;
pub mod executor;
pub mod fuzzing;
pub mod instance;
pub mod kubernetes;
pub mod limits;
pub mod log;
pub mod merge;
pub mod metrics;
pub mod options;
pub mod output;
pub mod partial;
pub mod preinit;
pub mod progress;
pub mod run;
pub mod serve;
pub mod settings;
pub mod thresholds;
pub mod vu;
pub mod workers;
