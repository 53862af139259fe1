//! `ramping-vus`: a number of looping VUs that follows `stages`, from `startVUs`. VUs above
//! a falling target finish their iteration within `gracefulRampDown`, then stop.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::segment::ExecutionTuple;
use super::{Ended, ExecVu, ScenarioRun};
use crate::options::Stage;

/// When the VU target changes: `(offset from the start, new target)`. Within a stage the
/// target moves linearly and changes by one VU at each whole crossing.
pub(crate) fn steps(start: u64, stages: &[Stage]) -> Vec<(Duration, u64)> {
    let mut out = vec![(Duration::ZERO, start)];
    let mut at = Duration::ZERO;
    let mut from = start;
    for stage in stages {
        let d = stage.duration.0;
        let to = stage.target;
        if d.is_zero() {
            out.push((at, to));
        } else if to != from {
            let n = from.abs_diff(to);
            for k in 1..=n {
                let t = at + d.mul_f64(k as f64 / n as f64);
                let target = if to > from { from + k } else { from - k };
                out.push((t, target));
            }
        }
        at += d;
        from = to;
    }
    out
}

/// This instance's share of [`steps`]: VU number `n` of the whole test is here when `tuple`
/// owns it, so the target here is the share of the whole target (k6's striping), and it moves
/// exactly when the whole target crosses one of this instance's VUs.
pub(crate) fn scaled_steps(
    tuple: &ExecutionTuple,
    start: u64,
    stages: &[Stage],
) -> Vec<(Duration, u64)> {
    let mut out: Vec<(Duration, u64)> = Vec::new();
    for (i, (at, target)) in steps(start, stages).into_iter().enumerate() {
        let here = tuple.scale(target);
        if i == 0 || out.last().is_some_and(|(_, t)| *t != here) {
            out.push((at, here));
        }
    }
    out
}

pub(super) async fn run<V: ExecVu>(
    ctx: ScenarioRun<V>,
    tuple: &ExecutionTuple,
    start_vus: u64,
    stages: Vec<Stage>,
    ramp_down: Duration,
) {
    let steps = scaled_steps(tuple, start_vus, &stages);
    let start_vus = tuple.scale(start_vus);
    let max = steps.iter().map(|(_, t)| *t).max().unwrap_or(0);
    let total: Duration = stages.iter().map(|s| s.duration.0).sum();
    let stop_at = ctx.start + total;
    let (tx, rx) = watch::channel(start_vus);

    let mut slots = tokio::task::JoinSet::new();
    for slot in 0..max {
        let ctx = ctx.clone();
        let rx = rx.clone();
        let spawner = ctx.run.spawner.clone();
        spawner.spawn(&mut slots, slot, async move {
            run_slot(ctx, slot, rx, stop_at, ramp_down).await
        });
    }
    drop(rx);

    for (offset, target) in steps {
        tokio::select! {
            _ = tokio::time::sleep_until(ctx.start + offset) => {}
            _ = ctx.run.control.graceful().cancelled() => break,
        }
        tx.send_replace(target);
    }
    tokio::select! {
        _ = tokio::time::sleep_until(stop_at) => {}
        _ = ctx.run.control.graceful().cancelled() => {}
    }
    // The scenario is over: idle slots leave, busy ones finish within gracefulStop.
    drop(tx);
    while slots.join_next().await.is_some() {}
}

/// One VU position: active while the target is above `slot`.
async fn run_slot<V: ExecVu>(
    ctx: ScenarioRun<V>,
    slot: u64,
    mut target: watch::Receiver<u64>,
    stop_at: Instant,
    ramp_down: Duration,
) {
    loop {
        // Wait until the target reaches this slot.
        while *target.borrow_and_update() <= slot {
            if target.changed().await.is_err() || !ctx.may_start(stop_at) {
                return;
            }
        }
        let Some(mut vu) = ctx.run.pool.take() else {
            return;
        };
        vu.enter_scenario(&ctx.shared);
        ctx.shared
            .progress
            .active_vus
            .fetch_add(1, Ordering::Relaxed);
        while ctx.may_start(stop_at) && *target.borrow() > slot {
            let retire = Some((&mut target, slot, ramp_down));
            if ctx.iteration_retiring(&mut vu, None, retire).await == Ended::Interrupted {
                break;
            }
        }
        ctx.shared
            .progress
            .active_vus
            .fetch_sub(1, Ordering::Relaxed);
        ctx.run.pool.give_back(vu);
        if !ctx.may_start(stop_at) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::time::Duration;

    use super::super::testing::*;
    use super::super::{run_scenario, ExecutorKind, ScenarioShared};
    use super::steps;
    use crate::options::{Dur, Stage};

    fn stage(secs: f64, target: u64) -> Stage {
        Stage {
            duration: Dur(Duration::from_secs_f64(secs)),
            target,
        }
    }

    #[test]
    fn targets_change_by_one_vu_at_each_crossing() {
        let s = steps(0, &[stage(4.0, 4), stage(2.0, 4), stage(4.0, 0)]);
        let at = |secs: f64| Duration::from_secs_f64(secs);
        assert_eq!(
            s,
            vec![
                (at(0.0), 0),
                (at(1.0), 1),
                (at(2.0), 2),
                (at(3.0), 3),
                (at(4.0), 4),
                (at(7.0), 3),
                (at(8.0), 2),
                (at(9.0), 1),
                (at(10.0), 0)
            ]
        );
        assert_eq!(
            steps(5, &[stage(0.0, 2)]),
            vec![(Duration::ZERO, 5), (Duration::ZERO, 2)]
        );
    }

    /// Samples the scenario's active VUs at the given times.
    async fn active_over_time(shared: Arc<ScenarioShared>, times: Vec<f64>) -> Vec<u64> {
        let origin = tokio::time::Instant::now();
        let mut out = Vec::new();
        for t in times {
            tokio::time::sleep_until(origin + Duration::from_secs_f64(t)).await;
            out.push(shared.progress.active_vus.load(Ordering::Relaxed));
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn vus_follow_the_stages_up_and_down() {
        let (run, log) = fake_run(4, Duration::from_millis(100)).await;
        let s = shared("ramp");
        let config = scenario(ExecutorKind::RampingVus {
            start_vus: 0,
            stages: vec![stage(4.0, 4), stage(2.0, 4), stage(4.0, 0)],
            graceful_ramp_down: Duration::from_secs(30),
        });
        let sampler = tokio::spawn(active_over_time(
            s.clone(),
            vec![0.5, 1.5, 2.5, 3.5, 4.5, 6.5, 7.55, 8.55, 9.55, 10.5],
        ));
        run_scenario(run.clone(), config, s).await;
        assert_eq!(sampler.await.unwrap(), vec![0, 1, 2, 3, 4, 4, 3, 2, 1, 0]);
        assert_eq!(log.interrupted.load(Ordering::Relaxed), 0);
        assert_eq!(run.pool.active(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn ramp_down_interrupts_iterations_after_graceful_ramp_down() {
        let (run, log) = fake_run(2, Duration::from_secs(100)).await;
        let config = scenario(ExecutorKind::RampingVus {
            start_vus: 2,
            stages: vec![stage(1.0, 0), stage(10.0, 0)],
            graceful_ramp_down: Duration::from_secs(2),
        });
        let started = tokio::time::Instant::now();
        let sampler = tokio::spawn(active_over_time(shared("x"), vec![0.0]));
        run_scenario(run, config, shared("ramp")).await;
        sampler.await.unwrap();
        // Targets drop at 0.5 s and 1 s; each VU gets 2 s more; the stages last 11 s.
        assert_eq!(log.interrupted.load(Ordering::Relaxed), 2);
        assert_eq!(log.done.load(Ordering::Relaxed), 0);
        assert_eq!(started.elapsed(), Duration::from_secs(11));
        let starts = log.starts.lock().unwrap();
        assert_eq!(
            starts.len(),
            2,
            "no new iterations after ramp-down: {starts:?}"
        );
    }
}
