//! `ramping-arrival-rate`: an iteration rate that follows `stages` from `startRate`, with the
//! same open-model scheduling and dropping as `constant-arrival-rate`.

use std::time::Duration;

use super::arrival::{self, Segment};
use super::{ExecVu, ScenarioRun};
use crate::options::Stage;

pub(super) async fn run<V: ExecVu>(
    ctx: ScenarioRun<V>,
    start_rate: u64,
    time_unit: Duration,
    stages: Vec<Stage>,
    pre_allocated: u64,
    max_vus: u64,
) {
    let total: Duration = stages.iter().map(|s| s.duration.0).sum();
    let stop_at = ctx.start + total;
    let mut from = start_rate as f64;
    let segments = stages
        .iter()
        .map(|s| {
            let seg = Segment {
                from,
                to: s.target as f64,
                duration: s.duration.0,
            };
            from = s.target as f64;
            seg
        })
        .collect();
    arrival::run(
        ctx,
        arrival::offsets(segments, time_unit),
        pre_allocated,
        max_vus,
        stop_at,
    )
    .await;
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
