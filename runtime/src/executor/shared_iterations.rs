//! `shared-iterations`: a fixed number of iterations shared by a number of VUs; fast VUs do
//! more of them. Ends when all are done or at `maxDuration`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{ExecVu, ScenarioRun};

pub(super) async fn run<V: ExecVu>(
    ctx: ScenarioRun<V>,
    vus: u64,
    iterations: u64,
    max_duration: Duration,
) {
    let left = Arc::new(AtomicU64::new(iterations));
    let stop_at = ctx.start + max_duration;
    ctx.looping_vus(vus, stop_at, |_| {
        let left = left.clone();
        move || {
            left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::super::testing::*;
    use super::super::{run_scenario, ExecutorKind};

    #[tokio::test(start_paused = true)]
    async fn runs_exactly_the_iterations_shared_by_all_vus() {
        let (run, log) = fake_run(4, Duration::from_millis(100)).await;
        let s = shared("test");
        let started = tokio::time::Instant::now();
        run_scenario(
            run.clone(),
            scenario(ExecutorKind::SharedIterations {
                vus: 4,
                iterations: 10,
                max_duration: Duration::from_secs(60),
            }),
            s.clone(),
        )
        .await;
        assert_eq!(log.done.load(Ordering::Relaxed), 10);
        assert_eq!(s.progress.completed.load(Ordering::Relaxed), 10);
        // 4 VUs, 10 iterations of 100 ms: three rounds.
        assert_eq!(started.elapsed(), Duration::from_millis(300));
        assert_eq!(run.pool.active(), 0, "every VU is given back");
    }

    #[tokio::test(start_paused = true)]
    async fn stops_at_max_duration_and_interrupts_after_graceful_stop() {
        let (run, log) = fake_run(2, Duration::from_secs(40)).await;
        let s = shared("test");
        let started = tokio::time::Instant::now();
        let mut config = scenario(ExecutorKind::SharedIterations {
            vus: 2,
            iterations: 100,
            max_duration: Duration::from_secs(10),
        });
        config.graceful_stop = Duration::from_secs(5);
        run_scenario(run, config, s.clone()).await;
        // Both VUs start one 40 s iteration; at 10 s + 5 s they are interrupted.
        assert_eq!(started.elapsed(), Duration::from_secs(15));
        assert_eq!(log.done.load(Ordering::Relaxed), 0);
        assert_eq!(log.interrupted.load(Ordering::Relaxed), 2);
        assert_eq!(s.progress.interrupted.load(Ordering::Relaxed), 2);
    }
}
