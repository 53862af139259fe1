//! `stampede capacity` from start to end: the script loaded and its options merged (its
//! scenarios set aside: the search sets the load), the objectives parsed, the VUs made,
//! `setup()`, the search, `teardown()`, and the answer printed and exported.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::driver::{Driver, Scenario, SystemGauge};
use super::judge::Judge;
use super::{report, Found, Model, Settings};
use crate::engine::{EngineLimits, ScriptEngine};
use crate::log::Level;
use crate::metrics::{Metrics, Sample, SampleTap};
use crate::options::{format_duration, Options, ThresholdSpec};
use crate::run::lifecycle::{self, Lifecycle, RunConfig};
use crate::run::reporting::{self, Ending};
use crate::run::{exit, plan, Failure, TestSpec};
use crate::thresholds::{split_flag, Thresholds};
use crate::vu::Vu;

/// Iterations an open step must expect in its measured part to be judged: below this, a step
/// is too short for its rate (a p95 of a handful of samples says little).
pub const MIN_STEP_ITERATIONS: f64 = 10.0;

/// What `stampede capacity` asks for, besides the test's script and options.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// How the search runs.
    pub settings: Settings,
    /// Objectives given as `METRIC: EXPRESSION`.
    pub slos: Vec<String>,
    /// Take the script's (and config's) thresholds as objectives too.
    pub slo_from_thresholds: bool,
    /// Where to write the answer as JSON.
    pub export: Option<PathBuf>,
    /// No banner and no line per step.
    pub quiet: bool,
}

impl Request {
    /// Refuses settings that cannot make a search.
    pub fn validate(&self) -> Result<(), String> {
        let s = &self.settings;
        let c = &s.search;
        if !(c.start.is_finite() && c.start > 0.0) {
            return Err(format!(
                "--start-rate must be a positive number, not {}",
                c.start
            ));
        }
        if c.max.is_nan() || c.max <= 0.0 {
            return Err(format!(
                "--max-rate must be a positive number, not {}",
                c.max
            ));
        }
        if !(c.precision > 0.0 && c.precision < 1.0) {
            return Err(format!(
                "--precision must be between 0% and 100%, not {}%",
                super::number(c.precision * 100.0)
            ));
        }
        if s.step_duration < Duration::from_millis(100) {
            return Err(format!(
                "--step-duration must be at least 100ms, not {}",
                format_duration(s.step_duration)
            ));
        }
        if s.max_vus == 0 {
            return Err("--max-vus must be at least 1".into());
        }
        let step_secs = s.step_duration.as_secs_f64();
        if s.model == Model::Open && c.start * step_secs < MIN_STEP_ITERATIONS {
            return Err(format!(
                "--start-rate {}/s gives steps of {} iterations in {}; a step needs at least {} to be judged: \
                 raise --start-rate or --step-duration",
                super::number(c.start),
                super::number(c.start * step_secs),
                format_duration(s.step_duration),
                MIN_STEP_ITERATIONS
            ));
        }
        if s.model == Model::Closed && c.start.fract() != 0.0 {
            return Err(format!(
                "with --model closed the load is a number of VUs: --start-rate {} is not a whole number",
                c.start
            ));
        }
        match s.min_capacity {
            Some(min) if !(min.is_finite() && min > 0.0) => Err(format!(
                "--min-capacity must be a positive number, not {min}"
            )),
            Some(min) if min > c.max => Err(format!(
                "--min-capacity {} is above --max-rate {}: the search would never reach it",
                super::number(min),
                super::number(c.max)
            )),
            _ => Ok(()),
        }
    }
}

/// How a search ended.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code.
    pub exit_code: i32,
    /// What it found (absent when no search ran: setup failed, or the test was stopped).
    pub found: Option<Found>,
}

/// The objectives: `--slo` flags, and the thresholds of the options with
/// `--slo-from-thresholds`. In the open model, `iteration_duration` is judged from each
/// iteration's scheduled start (`iteration_duration_from_schedule`), so that queueing counts.
fn objectives(
    request: &Request,
    options: &Options,
    metrics: &Metrics,
) -> Result<Thresholds, Failure> {
    let specs = objective_specs(request, options).map_err(Failure::config)?;
    let defs = Thresholds::parse(&specs, &metrics.registry).map_err(Failure::config)?;
    if let Some(d) = defs.iter().find(|d| d.window.is_some()) {
        return Err(Failure::config(format!(
            "`{}`: each step of a capacity search is judged as one window; give the objective without \
             `window:`",
            d.selector.name
        )));
    }
    Ok(Thresholds::attach(defs, &mut metrics.store()))
}

/// The objectives as threshold specs, per selector.
fn objective_specs(
    request: &Request,
    options: &Options,
) -> Result<BTreeMap<String, Vec<ThresholdSpec>>, String> {
    let mut map: BTreeMap<String, Vec<ThresholdSpec>> = BTreeMap::new();
    let open = request.settings.model == Model::Open;
    let mut add = |selector: &str, expr: String| {
        let selector = match selector.strip_prefix("iteration_duration") {
            Some(rest) if open && (rest.is_empty() || rest.starts_with('{')) => {
                format!("iteration_duration_from_schedule{rest}")
            }
            _ => selector.to_owned(),
        };
        map.entry(selector)
            .or_default()
            .push(ThresholdSpec::Short(expr));
    };
    if request.slo_from_thresholds {
        for (selector, specs) in options.thresholds.iter().flatten() {
            for spec in specs {
                // abortOnFail has no meaning here: every step is judged on its own.
                add(selector, spec.expression().to_owned());
            }
        }
    }
    for flag in &request.slos {
        let (selector, expr) = split_flag(flag).map_err(|e| e.replace("--threshold", "--slo"))?;
        add(&selector, expr);
    }
    if map.is_empty() {
        return Err(if request.slo_from_thresholds {
            "--slo-from-thresholds: the script and its options have no thresholds; give objectives with \
             --slo 'METRIC: EXPRESSION', e.g. --slo 'http_req_duration: p(95)<250'"
                .into()
        } else {
            "a capacity search needs objectives: --slo 'METRIC: EXPRESSION' (repeatable), e.g. \
             --slo 'http_req_duration: p(95)<250' --slo 'http_req_failed: rate<0.01', or \
             --slo-from-thresholds to take the script's thresholds"
                .into()
        });
    }
    Ok(map)
}

fn banner(script: &str, request: &Request, slos: &Thresholds) {
    let s = &request.settings;
    let model = s.model;
    let max = if s.search.max.is_finite() {
        format!(" up to {}", model.load(s.search.max))
    } else {
        String::new()
    };
    eprintln!("\n     execution: local");
    eprintln!("        script: {script}");
    eprintln!(
        "      capacity: {} model from {}{max}; steps of {} after a {} warm-up; precision {}%{}",
        model.name(),
        model.load(s.search.start),
        format_duration(s.step_duration),
        format_duration(s.warm_up),
        super::number(s.search.precision * 100.0),
        if model == Model::Open {
            format!("; at most {} VUs", s.max_vus)
        } else {
            String::new()
        }
    );
    let list: Vec<String> = slos
        .list
        .iter()
        .map(|t| format!("{}: {}", t.selector.name, t.expression.source))
        .collect();
    eprintln!("          SLOs: {}\n", list.join(", "));
}

/// Runs a capacity search.
pub async fn run(spec: TestSpec, mut request: Request) -> Result<Outcome, Failure> {
    request.validate().map_err(Failure::config)?;
    let log = spec.log.clone();
    let metrics = Metrics::new();
    let probe = Arc::new(ScriptEngine::compile_cached(
        &spec.wasm,
        EngineLimits {
            memory_limit: spec.vu_memory_limit,
            pool_size: None,
            engine_script: spec.files.is_some(),
        },
        spec.cache_dir.as_deref(),
    )?);
    let info = lifecycle::inspect(probe.clone(), &metrics, &spec.env, &spec.files, &log).await?;
    let layers = plan::layers(
        spec.config.as_ref(),
        info.options,
        spec.env_options.clone(),
        spec.cli_options.clone(),
    );
    // The script's scenarios are set aside: the search sets the load.
    let options = Options::merge(layers).map_err(Failure::config)?;
    let exec = &request.settings.exec;
    if !info.entry_points.contains(exec) {
        return Err(Failure::config(format!(
            "--exec `{exec}`: the script does not export it (it has: {})",
            info.entry_points.join(", ")
        )));
    }
    let mut settings = plan::settings(&options)?;
    settings.entry_points = info.entry_points.clone().into();
    let slos = objectives(&request, &options, &metrics)?;
    let search = &mut request.settings;
    match search.model {
        Model::Closed => {
            search.search.max = search.search.max.min(search.max_vus as f64);
            search.search.whole = true;
        }
        // Going down, the search stops where steps would become too short to judge.
        Model::Open => {
            let floor = MIN_STEP_ITERATIONS / search.step_duration.as_secs_f64();
            search.search.floor = search.search.floor.max(floor);
        }
    }
    if !request.quiet {
        banner(&spec.script, &request, &slos);
    }
    let config = RunConfig {
        vu_threads: spec.vu_threads,
        progress: false,
        handle_signals: spec.handle_signals,
    };
    // VUs are made step by step, as the load needs them.
    let mut test = Lifecycle::start(
        &probe,
        spec.vu_memory_limit,
        request.settings.max_vus,
        0,
        settings,
        &metrics,
        &spec.env,
        &spec.files,
        &log,
        config,
    )
    .await?;
    drop(probe);
    test.setup().await;
    let found = if test.may_run() {
        Some(steps(&test, spec.vu_threads, &request, slos).await?)
    } else {
        None
    };
    test.teardown().await;

    if let Some(found) = &found {
        print!("{}", report::render(found));
        if let Some(path) = &request.export {
            let json =
                serde_json::to_string_pretty(&report::to_json(found)).expect("JSON serializes");
            if let Err(e) = std::fs::write(path, json + "\n") {
                log.log(
                    Level::Error,
                    &format!("cannot write --export file {}: {e}", path.display()),
                    &[],
                );
            }
        }
    }
    // A signal, the script's abort, setup's and teardown's own codes come first (as in
    // `stampede run`); then the search's; then the script's fail_test.
    let ending = Ending {
        stopped: test.control().stopped(),
        lifecycle_code: test.exit_code(),
        thresholds_failed: false,
        marked_failed: false,
    };
    let code = match (reporting::exit_code(&ending), &found) {
        (exit::OK, Some(found)) if found.exit_code() != exit::OK => found.exit_code(),
        (exit::OK, _) if test.control().failed().is_some() => exit::MARKED_FAILED,
        (code, _) => code,
    };
    Ok(Outcome {
        exit_code: code,
        found,
    })
}

/// Hands every batch of samples to the search, which folds them into the step's window.
struct ChannelTap(std::sync::mpsc::Sender<Arc<[Sample]>>);

impl SampleTap for ChannelTap {
    fn offer(&mut self, batch: &Arc<[Sample]>) -> bool {
        self.0.send(batch.clone()).is_ok()
    }
}

/// The search's steps, on VU threads of their own.
async fn steps(
    test: &Lifecycle,
    vu_threads: usize,
    request: &Request,
    slos: Thresholds,
) -> Result<Found, Failure> {
    let threads = match vu_threads {
        0 => crate::cpu::cores(),
        n => n,
    };
    let workers = Arc::new(
        crate::workers::Workers::start(threads)
            .map_err(|e| Failure::config(format!("cannot start the VU threads: {e}")))?,
    );
    let metrics = test.metrics();
    workers.probe_timer_lag(metrics);
    let (tx, rx) = std::sync::mpsc::channel();
    metrics.store().add_tap(Box::new(ChannelTap(tx)));
    let settings = request.settings.clone();
    let model = settings.model;
    let judge = Judge::new(slos, model == Model::Open, settings.search.precision);
    let driver = Driver {
        run: test.run_on(workers.spawner()),
        metrics: metrics.clone(),
        samples: rx,
        flush: Vu::flush,
        gauge: Box::new(SystemGauge::new(Some(workers.clone()))),
        settings,
        judge,
        scenario: Scenario::default(),
    };
    let quiet = request.quiet;
    let found = driver
        .search(|i, step| {
            if !quiet {
                eprintln!("{}", report::step_line(model, i, step));
            }
        })
        .await;
    metrics.store().clear_taps();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(slos: &[&str]) -> Request {
        Request {
            slos: slos.iter().map(|s| s.to_string()).collect(),
            ..Request::default()
        }
    }

    #[test]
    fn objectives_come_from_flags_and_optionally_from_thresholds() {
        let mut options = Options::default();
        let mut t = BTreeMap::new();
        t.insert(
            "checks".to_string(),
            vec![ThresholdSpec::Short("rate>0.99".into())],
        );
        options.thresholds = Some(t);
        let r = request(&["http_req_duration{status:200}: p(95)<250"]);
        let got = objective_specs(&r, &options).unwrap();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            ["http_req_duration{status:200}"]
        );
        let r = Request {
            slo_from_thresholds: true,
            ..r
        };
        let got = objective_specs(&r, &options).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got["checks"],
            vec![ThresholdSpec::Short("rate>0.99".into())]
        );
    }

    #[test]
    fn iteration_duration_is_judged_from_the_schedule_in_the_open_model() {
        let o = Options::default();
        let r = request(&[
            "iteration_duration: p(99)<500",
            "iteration_duration{scenario:capacity}: max<900",
        ]);
        let got = objective_specs(&r, &o).unwrap();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            [
                "iteration_duration_from_schedule",
                "iteration_duration_from_schedule{scenario:capacity}"
            ]
        );
        let mut closed = r.clone();
        closed.settings.model = Model::Closed;
        assert!(objective_specs(&closed, &o)
            .unwrap()
            .contains_key("iteration_duration"));
    }

    #[test]
    fn no_objective_or_a_malformed_one_is_a_config_error() {
        let o = Options::default();
        let err = objective_specs(&request(&[]), &o).unwrap_err();
        assert!(err.contains("needs objectives: --slo"), "{err}");
        let err = objective_specs(&request(&["p(95)<250"]), &o).unwrap_err();
        assert!(err.contains("invalid --slo `p(95)<250`"), "{err}");
        let err = objective_specs(
            &Request {
                slo_from_thresholds: true,
                ..request(&[])
            },
            &o,
        )
        .unwrap_err();
        assert!(err.contains("have no thresholds"), "{err}");
    }

    #[test]
    fn impossible_settings_are_refused() {
        let with = |f: fn(&mut Settings)| {
            let mut r = request(&["http_reqs: count>0"]);
            f(&mut r.settings);
            r.validate()
        };
        assert!(with(|_| {}).is_ok());
        assert!(with(|s| s.search.start = 0.0)
            .unwrap_err()
            .contains("--start-rate"));
        assert!(with(|s| s.search.start = f64::NAN).is_err());
        assert!(with(|s| s.search.max = -1.0)
            .unwrap_err()
            .contains("--max-rate"));
        assert!(with(|s| s.search.precision = 0.0)
            .unwrap_err()
            .contains("--precision"));
        assert!(with(|s| s.search.precision = 1.5).is_err());
        assert!(with(|s| s.step_duration = Duration::from_millis(10))
            .unwrap_err()
            .contains("--step-duration"));
        assert!(with(|s| s.max_vus = 0).is_err());
        let err = with(|s| {
            s.search.start = 4.0;
            s.step_duration = Duration::from_millis(500);
        })
        .unwrap_err();
        assert!(err.contains("steps of 2 iterations in 500ms"), "{err}");
        assert!(with(|s| {
            s.model = Model::Closed;
            s.search.start = 2.5;
        })
        .unwrap_err()
        .contains("whole number"));
        let err = with(|s| {
            s.search.max = 100.0;
            s.min_capacity = Some(150.0);
        })
        .unwrap_err();
        assert!(err.contains("above --max-rate"), "{err}");
    }
}
