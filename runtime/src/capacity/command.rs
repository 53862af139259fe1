//! `stampede capacity` from start to end: the script loaded and its options merged (its
//! scenarios set aside: the search sets the load), the objectives parsed, the VUs made,
//! `setup()`, the search, `teardown()`, and the answer printed and exported.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use stampede_host_api::http::HttpClient;

use super::driver::{Driver, Scenario, SystemGauge};
use super::judge::Judge;
use super::{report, Found, Model, Settings};
use crate::engine::{EngineLimits, ScriptEngine};
use crate::executor::{Run, ScenarioShared, VuPool};
use crate::log::{Level, Logger};
use crate::metrics::{builtin, Metrics, Sample};
use crate::options::{format_duration, Options, Source, ThresholdSpec};
use crate::run::{exit, Failure, TestSpec};
use crate::thresholds::{split_flag, Thresholds};
use crate::vu::{CallError, Control, Stop, TestContext, Vu};

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

/// Records iterations a step dropped, tagged as the step's samples are.
fn dropped_recorder(metrics: &Metrics, tags: &[(String, String)]) -> crate::executor::OnDropped {
    let metrics = metrics.clone();
    let tags = tags.to_vec();
    Arc::new(move |scenario: &ScenarioShared, n: u64| {
        let mut pairs: Vec<(&str, &str)> =
            tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        pairs.extend(scenario.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        pairs.push(("scenario", &scenario.name));
        let tags = metrics.tag_set(&pairs);
        let time = metrics.now();
        metrics.record(&[Sample {
            metric: builtin::DROPPED_ITERATIONS,
            tags,
            value: n as f64,
            time,
        }]);
    })
}

fn banner(spec: &TestSpec, request: &Request, slos: &Thresholds) {
    let s = &request.settings;
    let model = s.model;
    let max = if s.search.max.is_finite() {
        format!(" up to {}", model.load(s.search.max))
    } else {
        String::new()
    };
    eprintln!("\n     execution: local");
    eprintln!("        script: {}", spec.script);
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
        },
        spec.cache_dir.as_deref(),
    )?);
    let info = crate::run::inspect(probe.clone(), &metrics, &spec.env, &log).await?;
    let mut layers = Vec::new();
    if let Some((path, o)) = &spec.config {
        layers.push((Source::ConfigFile(path.clone()), o.clone()));
    }
    layers.push((Source::Script, info.options));
    layers.push((Source::Env, spec.env_options.clone()));
    layers.push((Source::Cli, spec.cli_options.clone()));
    let options = Options::merge(layers).map_err(Failure::config)?;
    let exec = request.settings.exec.clone();
    if !info.entry_points.contains(&exec) {
        return Err(Failure::config(format!(
            "--exec `{exec}`: the script does not export it (it has: {})",
            info.entry_points.join(", ")
        )));
    }
    let test = crate::run::settings(&options)?;
    let specs = objectives(&request, &options).map_err(Failure::config)?;
    let slos = Thresholds::build(&specs, &metrics).map_err(Failure::config)?;
    let settings = &mut request.settings;
    match settings.model {
        Model::Closed => {
            settings.search.max = settings.search.max.min(settings.max_vus as f64);
            settings.search.whole = true;
        }
        // Going down, the search stops where steps would become too short to judge.
        Model::Open => {
            let floor = MIN_STEP_ITERATIONS / settings.step_duration.as_secs_f64();
            settings.search.floor = settings.search.floor.max(floor);
        }
    }
    let max_vus = settings.max_vus;
    let pool_size = u32::try_from(max_vus + 2).map_err(|_| {
        Failure::config(format!("--max-vus {max_vus} is more than stampede can run"))
    })?;
    crate::limits::check_map_count(max_vus + 2).map_err(Failure::config)?;
    let engine = Arc::new(probe.with_limits(EngineLimits {
        memory_limit: spec.vu_memory_limit,
        pool_size: Some(pool_size),
    })?);
    drop(probe);
    let control = Control::new();
    let ctx = Arc::new(TestContext {
        metrics: metrics.clone(),
        http: HttpClient::new(test.http.clone()),
        env: spec.env.clone(),
        tags: test.tags.clone(),
        log: log.clone(),
        control: control.clone(),
    });
    let pool = {
        let (engine, ctx) = (engine.clone(), ctx.clone());
        Arc::new(VuPool::new(move |id| {
            let (engine, ctx) = (engine.clone(), ctx.clone());
            Box::pin(async move { Vu::new(engine, ctx, id).await })
        }))
    };
    let nofile = crate::limits::raise_nofile();
    if nofile > 0 && max_vus + 64 > nofile {
        log.log(
            Level::Warn,
            &format!(
                "up to {max_vus} VUs may each hold a connection, but this process may open only {nofile} files: \
                 raise it with `ulimit -n {}` or lower --max-vus",
                (max_vus * 2).max(65_536)
            ),
            &[],
        );
    }
    if !spec.quiet {
        banner(&spec, &request, &slos);
    }
    if spec.handle_signals {
        crate::run::spawn_signal_handler(control.clone(), log.clone());
    }

    // setup()
    metrics.begin_test();
    let mut lifecycle_vu = Vu::new(engine.clone(), ctx.clone(), pool_size)
        .await
        .map_err(|e| Failure::script(format!("the script failed to start: {e}")))?;
    let (data, mut exit_code) = setup(&mut lifecycle_vu, &test, &log).await;

    let found = match data {
        Some(data) if control.stopped().is_none() => {
            let run = Run {
                spawner: crate::workers::Spawner::Current,
                pool: pool.clone(),
                control: control.clone(),
                data: Arc::from(data.clone()),
                on_dropped: dropped_recorder(&metrics, &test.tags),
            };
            let found = search(&spec, request.clone(), run, slos, &metrics).await?;
            teardown(&mut lifecycle_vu, &test, &data, &log, &mut exit_code).await;
            Some(found)
        }
        _ => None,
    };
    lifecycle_vu.flush();
    for mut vu in pool.drain() {
        vu.flush();
    }
    log.flush_suppressed();

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
    let code = match (control.stopped(), exit_code, &found) {
        (Some(Stop::Signal(_)), _, _) => exit::EXTERNAL_ABORT,
        (Some(Stop::Script(_)), _, _) => exit::SCRIPT_ABORTED,
        (_, Some(code), _) => code,
        (_, None, Some(found)) if found.exit_code() != exit::OK => found.exit_code(),
        _ if control.failed().is_some() => exit::MARKED_FAILED,
        _ => exit::OK,
    };
    Ok(Outcome {
        exit_code: code,
        found,
    })
}

/// The search itself, on VU threads of its own.
async fn search(
    spec: &TestSpec,
    request: Request,
    mut run: Run<Vu>,
    slos: Thresholds,
    metrics: &Metrics,
) -> Result<Found, Failure> {
    let threads = match spec.vu_threads {
        0 => crate::cpu::cores(),
        n => n,
    };
    let workers = Arc::new(
        crate::workers::Workers::start(threads)
            .map_err(|e| Failure::config(format!("cannot start the VU threads: {e}")))?,
    );
    workers.probe_timer_lag(metrics);
    run.spawner = workers.spawner();
    let (tx, rx) = std::sync::mpsc::channel();
    metrics.store().add_tap(tx);
    let settings = request.settings;
    let model = settings.model;
    let judge = Judge::new(slos, model == Model::Open, settings.search.precision);
    let driver = Driver {
        run,
        metrics: metrics.clone(),
        samples: rx,
        flush: Vu::flush,
        gauge: Box::new(SystemGauge::new(Some(workers.clone()))),
        settings,
        judge,
        scenario: Scenario::default(),
    };
    let quiet = spec.quiet;
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

/// Runs `setup()`: its data, or `None` when it failed (with the exit code that says how).
async fn setup(
    vu: &mut Vu,
    test: &crate::run::Settings,
    log: &Logger,
) -> (Option<Vec<u8>>, Option<i32>) {
    vu.hooks()
        .enter_scenario(&Arc::from("setup"), &[], &Arc::new(Vec::new()));
    if test.no_setup {
        return (Some(Vec::new()), None);
    }
    let outcome = match tokio::time::timeout(test.setup_timeout, vu.setup()).await {
        Ok(Ok(d)) => (Some(d), None),
        Ok(Err(CallError::Aborted(_))) => (None, None),
        Ok(Err(e)) => {
            log.log(
                Level::Error,
                &format!("setup() failed: {e}"),
                &[("source", "setup")],
            );
            (None, Some(exit::SCRIPT_EXCEPTION))
        }
        Err(_) => {
            log.log(
                Level::Error,
                &format!(
                    "setup() did not finish within setupTimeout ({})",
                    format_duration(test.setup_timeout)
                ),
                &[("source", "setup")],
            );
            vu.interrupted();
            (None, Some(exit::SETUP_TIMEOUT))
        }
    };
    vu.flush();
    outcome
}

/// Runs `teardown()` unless `noTeardown`.
async fn teardown(
    vu: &mut Vu,
    test: &crate::run::Settings,
    data: &[u8],
    log: &Logger,
    exit_code: &mut Option<i32>,
) {
    if test.no_teardown {
        return;
    }
    vu.hooks()
        .enter_scenario(&Arc::from("teardown"), &[], &Arc::new(Vec::new()));
    match tokio::time::timeout(test.teardown_timeout, vu.teardown(data)).await {
        Ok(Ok(())) | Ok(Err(CallError::Aborted(_))) => {}
        Ok(Err(e)) => {
            log.log(
                Level::Error,
                &format!("teardown() failed: {e}"),
                &[("source", "teardown")],
            );
            exit_code.get_or_insert(exit::SCRIPT_EXCEPTION);
        }
        Err(_) => {
            log.log(
                Level::Error,
                &format!(
                    "teardown() did not finish within teardownTimeout ({})",
                    format_duration(test.teardown_timeout)
                ),
                &[("source", "teardown")],
            );
            vu.interrupted();
            exit_code.get_or_insert(exit::TEARDOWN_TIMEOUT);
        }
    }
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
        let got = objectives(&r, &options).unwrap();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            ["http_req_duration{status:200}"]
        );
        let r = Request {
            slo_from_thresholds: true,
            ..r
        };
        let got = objectives(&r, &options).unwrap();
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
        let got = objectives(&r, &o).unwrap();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            [
                "iteration_duration_from_schedule",
                "iteration_duration_from_schedule{scenario:capacity}"
            ]
        );
        let mut closed = r.clone();
        closed.settings.model = Model::Closed;
        assert!(objectives(&closed, &o)
            .unwrap()
            .contains_key("iteration_duration"));
    }

    #[test]
    fn no_objective_or_a_malformed_one_is_a_config_error() {
        let o = Options::default();
        let err = objectives(&request(&[]), &o).unwrap_err();
        assert!(err.contains("needs objectives: --slo"), "{err}");
        let err = objectives(&request(&["p(95)<250"]), &o).unwrap_err();
        assert!(err.contains("invalid --slo `p(95)<250`"), "{err}");
        let err = objectives(
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
