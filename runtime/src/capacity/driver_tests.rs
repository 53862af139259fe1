//! The whole search — driver, executor, windows, judge — under virtual time, against simulated
//! services whose capacity is known: VUs whose "request" is a wait the service decides.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

use super::*;
use crate::capacity::search::{self, Limit};
use crate::capacity::Settings;
use crate::executor::segment::ExecutionTuple;
use crate::executor::{IterationStart, VuIds, VuPool};
use crate::metrics::{builtin, MetricId, TagSetId};
use crate::options::ThresholdSpec;
use crate::thresholds::Thresholds;
use crate::vu::Control;
use crate::workers::Spawner;

struct Tap(std::sync::mpsc::Sender<Arc<[Sample]>>);

impl crate::metrics::SampleTap for Tap {
    fn offer(&mut self, batch: &Arc<[Sample]>) -> bool {
        self.0.send(batch.clone()).is_ok()
    }
}

/// A simulated service: when a request arriving now is answered.
trait Service: Send + Sync + 'static {
    fn arrive(&self, now: Instant) -> Instant;
    fn leave(&self) {}
}

/// K workers of S each, excess requests queued in order: capacity K/S.
struct Queue {
    free_at: Mutex<BinaryHeap<Reverse<Instant>>>,
    service: Duration,
}

impl Queue {
    fn new(workers: usize, service: Duration) -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Self {
            free_at: Mutex::new((0..workers).map(|_| Reverse(now)).collect()),
            service,
        })
    }
}

impl Service for Queue {
    fn arrive(&self, now: Instant) -> Instant {
        let mut w = self.free_at.lock().unwrap();
        let Reverse(free) = w.pop().unwrap();
        let done = free.max(now) + self.service;
        w.push(Reverse(done));
        done
    }
}

/// Each request takes S·(1 + n/N), n the requests in flight when it arrives.
struct Degrade {
    in_flight: AtomicU64,
    ms: f64,
    per: f64,
}

impl Service for Degrade {
    fn arrive(&self, now: Instant) -> Instant {
        let n = self.in_flight.fetch_add(1, Ordering::Relaxed) as f64;
        now + Duration::from_secs_f64(self.ms * (1.0 + n / self.per) / 1000.0)
    }
    fn leave(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

struct SimVu {
    id: u32,
    metrics: Metrics,
    service: Arc<dyn Service>,
    tags: TagSetId,
    /// Like a real VU's, an iteration's own samples wait for the next iteration or a flush.
    pending: Vec<Sample>,
}

impl SimVu {
    fn sample(&self, metric: MetricId, value: f64, at: Instant) -> Sample {
        Sample {
            metric,
            tags: self.tags,
            value,
            time: clock(&self.metrics, at),
        }
    }
}

impl ExecVu for SimVu {
    fn id(&self) -> u32 {
        self.id
    }
    fn enter_scenario(&mut self, _: &ScenarioShared) {}
    async fn iteration<'a>(&'a mut self, _exec: &'a str, _data: &'a Arc<[u8]>, at: IterationStart) {
        let scheduled = at.scheduled;
        let start = Instant::now();
        let mut samples = std::mem::take(&mut self.pending);
        if let Some(at) = scheduled {
            let late = start.saturating_duration_since(at).as_secs_f64() * 1000.0;
            samples.push(self.sample(builtin::ITERATION_START_DELAY, late, start));
        }
        let done = self.service.arrive(start);
        tokio::time::sleep_until(done).await;
        self.service.leave();
        let end = Instant::now();
        let ms = (end - start).as_secs_f64() * 1000.0;
        samples.extend([
            self.sample(builtin::HTTP_REQ_DURATION, ms, end),
            self.sample(builtin::HTTP_REQS, 1.0, end),
            self.sample(builtin::HTTP_REQ_FAILED, 0.0, end),
        ]);
        self.metrics.record(&samples);
        self.pending
            .push(self.sample(builtin::ITERATIONS, 1.0, end));
        self.pending
            .push(self.sample(builtin::ITERATION_DURATION, ms, end));
    }
    fn interrupted(&mut self) {}
}

fn flush(vu: &mut SimVu) {
    vu.metrics.record(&vu.pending);
    vu.pending.clear();
}

/// A gauge whose readings the test decides from the load.
struct FakeGauge(fn(f64) -> f64, f64);

impl Gauge for FakeGauge {
    fn start(&mut self, load: f64) {
        self.1 = load;
    }
    fn read(&mut self) -> (CpuUse, Option<f64>) {
        let share = (self.0)(self.1);
        let cpu = CpuUse {
            wall: Duration::from_secs(1),
            user: Duration::from_secs_f64(share * 2.0),
            sys: Duration::ZERO,
            cores: 2,
        };
        (cpu, None)
    }
}

fn settings(model: Model, start: f64) -> Settings {
    Settings {
        model,
        search: search::Config {
            start,
            whole: model == Model::Closed,
            ..search::Config::default()
        },
        step_duration: Duration::from_secs(2),
        warm_up: Duration::from_millis(500),
        graceful_stop: Duration::from_secs(10),
        max_vus: 1000,
        ..Settings::default()
    }
}

async fn search_with(
    service: Arc<dyn Service>,
    settings: Settings,
    slos: &[(&str, &str)],
    gauge: fn(f64) -> f64,
    control: Control,
) -> Found {
    let metrics = Metrics::new();
    let (tx, rx) = std::sync::mpsc::channel();
    metrics.store().add_tap(Box::new(Tap(tx)));
    let mut specs: BTreeMap<String, Vec<ThresholdSpec>> = BTreeMap::new();
    for (m, t) in slos {
        specs
            .entry(m.to_string())
            .or_default()
            .push(ThresholdSpec::Short(t.to_string()));
    }
    let thresholds = Thresholds::build(&specs, &metrics).unwrap();
    let tags = metrics.tag_set(&[("scenario", SCENARIO)]);
    let (m, svc) = (metrics.clone(), service.clone());
    let pool = Arc::new(VuPool::new(&ExecutionTuple::full(), move |ids: VuIds| {
        let id = ids.in_instance;
        let (metrics, service) = (m.clone(), svc.clone());
        Box::pin(async move {
            Ok(SimVu {
                id,
                metrics,
                service,
                tags,
                pending: Vec::new(),
            })
        })
    }));
    let dropped = metrics.clone();
    let run = Run {
        pool,
        control,
        data: Arc::from(Vec::new()),
        min_iteration_duration: Duration::ZERO,
        on_dropped: Arc::new(move |_: &ScenarioShared, n: u64| {
            dropped.record(&[Sample {
                metric: builtin::DROPPED_ITERATIONS,
                tags,
                value: n as f64,
                time: clock(&dropped, Instant::now()),
            }]);
        }),
        spawner: Spawner::Current,
    };
    let open = settings.model == Model::Open;
    let precision = settings.search.precision;
    let driver = Driver {
        run,
        metrics,
        samples: rx,
        flush,
        gauge: Box::new(FakeGauge(gauge, 0.0)),
        settings,
        judge: Judge::new(thresholds, open, precision),
        scenario: Scenario::default(),
    };
    driver.search(|_, _| {}).await
}

fn quiet(_: f64) -> f64 {
    0.1
}

fn loads(found: &Found) -> Vec<f64> {
    found.steps.iter().map(|s| s.load).collect()
}

#[tokio::test(start_paused = true)]
async fn a_queue_of_4_workers_of_20ms_carries_200_per_second() {
    let found = search_with(
        Queue::new(4, Duration::from_millis(20)),
        settings(Model::Open, 25.0),
        &[("http_req_duration", "p(95)<100")],
        quiet,
        Control::new(),
    )
    .await;
    assert!(found.complete);
    assert_eq!(found.answer.limit, Limit::Slo, "{found:#?}");
    let (capacity, bad) = (found.answer.capacity.unwrap(), found.answer.bad.unwrap());
    assert!(
        capacity <= 200.0 && 200.0 < bad && bad - capacity <= 0.05 * capacity,
        "{capacity}..{bad}: {:?}",
        loads(&found)
    );
    // Below the capacity every request takes the service time.
    let good = found.step_at(capacity).unwrap();
    assert!((good.latency.unwrap().p95 - 20.0).abs() < 1.5, "{good:?}");
    assert!(
        (good.achieved - capacity).abs() <= 0.025 * capacity,
        "{good:?}"
    );
    // Just above it the latency objective may still hold over a short step: the service
    // falling behind is what gives it away.
    let first_bad = found.step_at(bad).unwrap();
    assert_eq!(first_bad.verdict.outcome(), search::Outcome::Slo);
    assert!(first_bad.achieved < bad * 0.975, "{first_bad:?}");
}

#[tokio::test(start_paused = true)]
async fn a_degrading_service_breaks_where_a_fixed_rate_sweep_says() {
    let degrade = || {
        Arc::new(Degrade {
            in_flight: AtomicU64::new(0),
            ms: 20.0,
            per: 4.0,
        }) as Arc<dyn Service>
    };
    let slo = [("http_req_duration", "p(95)<60")];
    let found = search_with(
        degrade(),
        settings(Model::Open, 20.0),
        &slo,
        quiet,
        Control::new(),
    )
    .await;
    let capacity = found.answer.capacity.unwrap();
    // Latency 20/(1 − λ/200) ms reaches 60 ms at 133⅓/s in the continuous approximation;
    // with whole requests in flight it comes in steps, and the knee lies a little higher.
    assert!(
        (133.3..=150.0).contains(&capacity),
        "{capacity}: {:?}",
        loads(&found)
    );
    // A sweep of single fixed-rate steps, 2% apart: the highest rate that holds.
    let mut held = 0.0;
    let mut rate = 100.0;
    while rate < 180.0 {
        let mut s = settings(Model::Open, rate);
        s.search.max = rate;
        let one = search_with(degrade(), s, &slo, quiet, Control::new()).await;
        if one.answer.limit == Limit::MaxRate {
            held = rate;
        }
        rate *= 1.02;
    }
    assert!(
        (capacity - held).abs() <= 0.05 * held,
        "search {capacity}, sweep {held}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_closed_model_counts_vus() {
    // N VUs looping on 4 workers of 20 ms are served 4 at a time, every 20 ms: 8 VUs take
    // 40 ms each; with 9, one in nine iterations waits for a third round (60 ms), which the
    // p95 sees.
    let found = search_with(
        Queue::new(4, Duration::from_millis(20)),
        settings(Model::Closed, 1.0),
        &[("http_req_duration", "p(95)<50")],
        quiet,
        Control::new(),
    )
    .await;
    assert_eq!(found.answer.capacity, Some(8.0), "{:?}", loads(&found));
    assert_eq!(found.answer.bad, Some(9.0));
    let p95 = |vus| found.step_at(vus).unwrap().latency.unwrap().p95;
    assert!((p95(8.0) - 40.0).abs() < 1.0 && (p95(9.0) - 60.0).abs() < 1.0);
    // 4 workers of 20 ms: 200 iterations per second however many VUs wait.
    let at = found.step_at(8.0).unwrap();
    assert!((at.achieved - 200.0).abs() < 10.0, "{at:?}");
}

#[tokio::test(start_paused = true)]
async fn a_saturated_generator_is_reported_as_the_limit() {
    // The service would carry 2,000/s; the generator's CPU is saturated above 120/s.
    fn busy_above_120(load: f64) -> f64 {
        if load > 120.0 {
            0.95
        } else {
            0.5
        }
    }
    let found = search_with(
        Queue::new(40, Duration::from_millis(20)),
        settings(Model::Open, 10.0),
        &[("http_req_duration", "p(95)<100")],
        busy_above_120,
        Control::new(),
    )
    .await;
    assert_eq!(found.answer.limit, Limit::Generator, "{found:#?}");
    let capacity = found.answer.capacity.unwrap();
    assert!((114.0..=120.0).contains(&capacity), "{capacity}");
    assert_eq!(found.exit_code(), super::super::EXIT_GENERATOR_LIMIT);
    // Every generator-bound load was tried twice before it was believed.
    let first_bad = found.answer.bad.unwrap();
    let runs = found.steps.iter().filter(|s| s.load == first_bad).count();
    assert_eq!(runs, 2, "{:?}", loads(&found));
}

#[tokio::test(start_paused = true)]
async fn a_moment_of_generator_contention_is_run_again_not_believed() {
    // The first step at 200/s finds the generator saturated (once); the second is fine.
    static SEEN: AtomicU64 = AtomicU64::new(0);
    fn once_at_200(load: f64) -> f64 {
        if load == 200.0 && SEEN.fetch_add(1, Ordering::Relaxed) == 0 {
            0.99
        } else {
            0.1
        }
    }
    let found = search_with(
        Queue::new(4, Duration::from_millis(20)),
        settings(Model::Open, 25.0),
        &[("http_req_duration", "p(95)<100")],
        once_at_200,
        Control::new(),
    )
    .await;
    assert_eq!(found.answer.limit, Limit::Slo, "{:?}", loads(&found));
    assert_eq!(found.answer.capacity, Some(200.0));
    assert_eq!(&loads(&found)[..5], [25.0, 50.0, 100.0, 200.0, 200.0]);
    assert_eq!(found.steps[3].verdict.outcome(), search::Outcome::Generator);
}

#[tokio::test(start_paused = true)]
async fn too_few_vus_are_the_generators_limit_not_the_services() {
    // 3 VUs of 20 ms iterations carry at most 150/s; the service itself would carry 1,000/s.
    let mut s = settings(Model::Open, 50.0);
    s.max_vus = 3;
    let found = search_with(
        Queue::new(20, Duration::from_millis(20)),
        s,
        &[("http_req_duration", "p(95)<100")],
        quiet,
        Control::new(),
    )
    .await;
    assert_eq!(found.answer.limit, Limit::Generator, "{found:#?}");
    let bad = found.step_at(found.answer.bad.unwrap()).unwrap();
    assert!(
        bad.verdict.reasons()[0].contains("raise --max-vus"),
        "{bad:?}"
    );
    assert!(found.answer.capacity.unwrap() <= 150.0);
}

#[tokio::test(start_paused = true)]
async fn a_stopped_search_is_provisional() {
    // Steps of 2.5 s: the first two are judged, the third is cut short by SIGINT.
    let control = Control::new();
    let stopper = control.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(6)).await;
        stopper.stop(Stop::Signal("SIGINT".into()), false);
    });
    let found = search_with(
        Queue::new(4, Duration::from_millis(20)),
        settings(Model::Open, 25.0),
        &[("http_req_duration", "p(95)<100")],
        quiet,
        control,
    )
    .await;
    assert!(!found.complete);
    assert_eq!(loads(&found), [25.0, 50.0]);
    assert_eq!(found.answer.capacity, Some(50.0));
    assert_eq!(found.stopped.as_deref(), Some("stopped by SIGINT"));
}
