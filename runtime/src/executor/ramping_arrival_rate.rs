//! `ramping-arrival-rate`: an iteration rate that follows `stages` from `startRate`, with the
//! same open-model scheduling and dropping as `constant-arrival-rate`.

use std::time::Duration;

use super::arrival::{self, Ramp};
use super::segment::ExecutionTuple;
use super::{ExecVu, ScenarioRun};
use crate::options::Stage;

/// Runs this instance's share: the iterations whose numbers `stripe` owns, iteration k
/// (from 0) when the integral of the rate reaches k + 1, as k6 schedules them. `rates` is
/// (startRate, timeUnit), `vus` (pre-allocated, max).
pub(super) async fn run<V: ExecVu>(
    ctx: ScenarioRun<V>,
    stripe: &ExecutionTuple,
    rates: (u64, Duration),
    stages: Vec<Stage>,
    vus: (u64, u64),
) {
    let (start_rate, time_unit) = rates;
    let total: Duration = stages.iter().map(|s| s.duration.0).sum();
    let stop_at = ctx.start + total;
    let mut from = start_rate as f64;
    let ramps = stages
        .iter()
        .map(|s| {
            let ramp = Ramp {
                from,
                to: s.target as f64,
                duration: s.duration.0,
            };
            from = s.target as f64;
            ramp
        })
        .collect();
    let stripe = stripe.clone();
    let areas = (0..).map(move |n| stripe.unscaled(n) + 1);
    let offsets = arrival::offsets(ramps, time_unit, areas);
    arrival::run(ctx, offsets, vus.0, vus.1, stop_at).await;
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::super::testing::*;
    use super::super::{run_scenario, ExecutorKind};
    use crate::options::{Dur, Stage};

    #[tokio::test(start_paused = true)]
    async fn the_rate_ramps_up_then_holds() {
        let (run, log) = fake_run(4, Duration::from_millis(10)).await;
        let s = shared("ramp");
        let config = scenario(ExecutorKind::RampingArrivalRate {
            start_rate: 0,
            time_unit: Duration::from_secs(1),
            stages: vec![
                Stage {
                    duration: Dur(Duration::from_secs(1)),
                    target: 10,
                },
                Stage {
                    duration: Dur(Duration::from_secs(1)),
                    target: 10,
                },
            ],
            pre_allocated_vus: 2,
            max_vus: 4,
        });
        let started = tokio::time::Instant::now();
        run_scenario(run, config, s.clone()).await;
        let starts = log.starts.lock().unwrap();
        // 5 iterations' worth in the ramp (the last lands on its end), 10 in the flat second.
        assert_eq!(starts.len(), 14);
        let in_first_second = starts
            .iter()
            .filter(|(_, _, t)| *t < Duration::from_secs(1))
            .count();
        assert_eq!(in_first_second, 4);
        assert_eq!(s.progress.dropped.load(Ordering::Relaxed), 0);
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }
}
