//! `constant-arrival-rate`: `rate` iterations per `timeUnit`, each started on schedule whether
//! or not earlier ones have finished (an open model); an iteration with no free VU, and no VU
//! left to make up to `maxVUs`, is counted in `dropped_iterations`.

use std::time::Duration;

use super::arrival::{self, Ramp};
use super::segment::ExecutionTuple;
use super::{ExecVu, ScenarioRun};

/// Runs this instance's share: the iterations whose numbers `stripe` owns (all of them on an
/// unsplit test), iteration k at `k × timeUnit / rate` as k6 schedules them, with `vus`
/// (pre-allocated, max) VUs.
pub(super) async fn run<V: ExecVu>(
    ctx: ScenarioRun<V>,
    stripe: &ExecutionTuple,
    rate: u64,
    time_unit: Duration,
    duration: Duration,
    vus: (u64, u64),
) {
    let stop_at = ctx.start + duration;
    let rate = rate as f64;
    let ramp = Ramp {
        from: rate,
        to: rate,
        duration,
    };
    let stripe = stripe.clone();
    let areas = (0..).map(move |n| stripe.unscaled(n));
    let offsets = arrival::offsets(vec![ramp], time_unit, areas);
    arrival::run(ctx, offsets, vus.0, vus.1, stop_at).await;
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::super::testing::*;
    use super::super::{run_scenario, ExecutorKind};

    fn car(rate: u64, secs: u64, pre: u64, max: u64) -> ExecutorKind {
        ExecutorKind::ConstantArrivalRate {
            rate,
            time_unit: Duration::from_secs(1),
            duration: Duration::from_secs(secs),
            pre_allocated_vus: pre,
            max_vus: max,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn iterations_start_on_schedule() {
        let (run, log) = fake_run(5, Duration::from_millis(50)).await;
        let s = shared("rate");
        run_scenario(run.clone(), scenario(car(10, 2, 2, 2)), s.clone()).await;
        let starts = log.starts.lock().unwrap();
        assert_eq!(starts.len(), 20);
        for (i, (_, _, at)) in starts.iter().enumerate() {
            assert_eq!(*at, Duration::from_millis(100 * i as u64), "iteration {i}");
        }
        assert!(log.late.lock().unwrap().iter().all(|d| d.is_zero()));
        assert_eq!(s.progress.dropped.load(Ordering::Relaxed), 0);
        assert_eq!(run.pool.active(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn iterations_without_a_free_vu_are_dropped_not_delayed() {
        let (run, log) = fake_run(2, Duration::from_millis(950)).await;
        let s = shared("rate");
        run_scenario(run, scenario(car(10, 2, 2, 2)), s.clone()).await;
        // Two VUs busy for 950 ms: two iterations start per second, eight are dropped.
        assert_eq!(log.starts.lock().unwrap().len(), 4);
        assert_eq!(s.progress.dropped.load(Ordering::Relaxed), 16);
    }

    #[tokio::test(start_paused = true)]
    async fn vus_are_made_on_demand_up_to_max_vus() {
        let (run, log) = fake_run(1, Duration::from_millis(950)).await;
        let s = shared("rate");
        run_scenario(run.clone(), scenario(car(10, 2, 1, 20)), s.clone()).await;
        assert_eq!(log.starts.lock().unwrap().len(), 20);
        assert_eq!(s.progress.dropped.load(Ordering::Relaxed), 0);
        // About one second of iterations in flight at 10/s.
        assert_eq!(run.pool.made(), 10);
    }
}
