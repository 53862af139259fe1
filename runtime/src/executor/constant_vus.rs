//! `constant-vus`: a fixed number of VUs looping for a duration.

use std::time::Duration;

use super::{ExecVu, ScenarioRun};

pub(super) async fn run<V: ExecVu>(ctx: ScenarioRun<V>, vus: u64, duration: Duration) {
    let stop_at = ctx.start + duration;
    ctx.looping_vus(vus, stop_at, |_| || true).await;
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::super::testing::*;
    use super::super::{run_scenario, ExecutorKind};
    use crate::vu::Stop;

    #[tokio::test(start_paused = true)]
    async fn loops_for_the_duration() {
        let (run, log) = fake_run(5, Duration::from_millis(300)).await;
        let started = tokio::time::Instant::now();
        run_scenario(
            run,
            scenario(ExecutorKind::ConstantVus {
                vus: 5,
                duration: Duration::from_secs(3),
            }),
            shared("test"),
        )
        .await;
        // Iterations start at 0, 0.3, …, 2.7 s: 10 per VU; the last ends at 3.0 s.
        assert_eq!(log.done.load(Ordering::Relaxed), 50);
        assert_eq!(started.elapsed(), Duration::from_secs(3));
        let starts = log.starts.lock().unwrap();
        assert!(starts.iter().all(|(_, _, t)| *t < Duration::from_secs(3)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_graceful_stop_lets_running_iterations_finish() {
        let (run, log) = fake_run(2, Duration::from_secs(2)).await;
        let control = run.control.clone();
        let started = tokio::time::Instant::now();
        let task = tokio::spawn(run_scenario(
            run,
            scenario(ExecutorKind::ConstantVus {
                vus: 2,
                duration: Duration::from_secs(60),
            }),
            shared("test"),
        ));
        tokio::time::sleep(Duration::from_millis(2500)).await;
        control.stop(Stop::Signal("SIGINT".into()), false);
        task.await.unwrap();
        // The second round (started at 2 s) finishes at 4 s; nothing new starts.
        assert_eq!(started.elapsed(), Duration::from_secs(4));
        assert_eq!(log.done.load(Ordering::Relaxed), 4);
        assert_eq!(log.interrupted.load(Ordering::Relaxed), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn an_immediate_stop_interrupts_running_iterations() {
        let (run, log) = fake_run(2, Duration::from_secs(2)).await;
        let control = run.control.clone();
        let task = tokio::spawn(run_scenario(
            run,
            scenario(ExecutorKind::ConstantVus {
                vus: 2,
                duration: Duration::from_secs(60),
            }),
            shared("test"),
        ));
        tokio::time::sleep(Duration::from_millis(500)).await;
        control.stop(Stop::Script("enough".into()), true);
        task.await.unwrap();
        assert_eq!(log.done.load(Ordering::Relaxed), 0);
        assert_eq!(log.interrupted.load(Ordering::Relaxed), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn min_iteration_duration_paces_each_vu_and_ends_with_the_scenario() {
        let (mut run, log) = fake_run(2, Duration::from_millis(100)).await;
        run.min_iteration_duration = Duration::from_secs(1);
        let started = tokio::time::Instant::now();
        run_scenario(
            run,
            scenario(ExecutorKind::ConstantVus {
                vus: 2,
                duration: Duration::from_millis(4500),
            }),
            shared("test"),
        )
        .await;
        // Each VU starts an iteration at 0, 1, 2, 3 and 4 s; the last pause ends with the
        // scenario, at 4.5 s, since no iteration could follow it.
        assert_eq!(log.done.load(Ordering::Relaxed), 10);
        assert_eq!(log.interrupted.load(Ordering::Relaxed), 0);
        assert_eq!(started.elapsed(), Duration::from_millis(4500));
    }
}
