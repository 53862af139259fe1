//! `per-vu-iterations`: each VU runs the same number of iterations. Ends when all are done or
//! at `maxDuration`.

use std::time::Duration;

use super::{ExecVu, ScenarioRun};

pub(super) async fn run<V: ExecVu>(
    ctx: ScenarioRun<V>,
    vus: u64,
    iterations: u64,
    max_duration: Duration,
) {
    let stop_at = ctx.start + max_duration;
    ctx.looping_vus(vus, stop_at, |_| {
        let mut left = iterations;
        move || {
            let go = left > 0;
            left = left.saturating_sub(1);
            go
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::super::testing::*;
    use super::super::{run_scenario, ExecutorKind};

    #[tokio::test(start_paused = true)]
    async fn every_vu_runs_its_own_iterations() {
        let (run, log) = fake_run(3, Duration::from_millis(10)).await;
        run_scenario(
            run,
            scenario(ExecutorKind::PerVuIterations {
                vus: 3,
                iterations: 4,
                max_duration: Duration::from_secs(60),
            }),
            shared("test"),
        )
        .await;
        assert_eq!(log.done.load(Ordering::Relaxed), 12);
        let mut per_vu: HashMap<u32, u32> = HashMap::new();
        for (vu, _, _) in log.starts.lock().unwrap().iter() {
            *per_vu.entry(*vu).or_default() += 1;
        }
        assert_eq!(per_vu.len(), 3);
        assert!(per_vu.values().all(|n| *n == 4), "{per_vu:?}");
    }
}
