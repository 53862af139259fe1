//! What the two arrival-rate executors share: the schedule of iteration start times for a
//! rate that is constant or moves linearly, and the loop that starts each iteration on time on
//! a free VU — or counts it as dropped when there is none and no more may be made.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::{ExecVu, ScenarioRun};

/// A stretch of time over which the rate (iterations per time unit) moves linearly.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ramp {
    pub(super) from: f64,
    pub(super) to: f64,
    pub(super) duration: Duration,
}

/// When, from the scenario's start, the integral of the rate profile reaches each of `areas`
/// (increasing): the start times of the iterations whose numbers they are. Each time is a
/// function of its area alone, so instances that own different areas of the same profile
/// (execution segments) start their iterations interleaved, exactly where one instance
/// running them all would have. Areas past the end of the profile have no time.
pub(super) fn offsets(
    ramps: Vec<Ramp>,
    time_unit: Duration,
    areas: impl Iterator<Item = u64>,
) -> impl Iterator<Item = Duration> {
    let unit = time_unit.as_secs_f64();
    let mut areas = areas.map(|a| a as f64);
    let mut seg = 0;
    let mut seg_start = 0.0f64; // seconds
    let mut count_before = 0.0f64; // integral of the rate up to seg_start
    std::iter::from_fn(move || {
        let k = areas.next()?;
        loop {
            let s = ramps.get(seg)?;
            let d = s.duration.as_secs_f64();
            let need = (k - count_before) * unit; // in rate·seconds
            let a = (s.to - s.from) / (2.0 * d.max(f64::MIN_POSITIVE));
            let tau = if d == 0.0 {
                f64::INFINITY
            } else if a.abs() < 1e-12 {
                if s.from > 0.0 {
                    need / s.from
                } else {
                    f64::INFINITY
                }
            } else {
                let disc = s.from * s.from + 4.0 * a * need;
                if disc < 0.0 {
                    f64::INFINITY
                } else {
                    (-s.from + disc.sqrt()) / (2.0 * a)
                }
            };
            if (0.0..d).contains(&tau) {
                return Some(Duration::from_secs_f64(seg_start + tau));
            }
            count_before += (s.from + s.to) / 2.0 * d / unit;
            seg_start += d;
            seg += 1;
        }
    })
}

/// Starts an iteration at each offset until `stop_at`.
pub(super) async fn run<V: ExecVu>(
    ctx: ScenarioRun<V>,
    offsets: impl Iterator<Item = Duration>,
    pre_allocated: u64,
    max_vus: u64,
    stop_at: Instant,
) {
    let pool = ctx.run.pool.clone();
    // The lowest-numbered VU first (taken from the end); then the one that became idle last:
    // it is warm, and a steady rate keeps as few VUs (and connections) busy as it needs.
    let mut reserved = pool.reserve(pre_allocated);
    reserved.reverse();
    let idle: Arc<Mutex<Vec<V>>> = Arc::new(Mutex::new(reserved));
    for vu in idle.lock().expect("idle VUs").iter_mut() {
        vu.enter_scenario(&ctx.shared);
    }
    let mut owned = idle.lock().expect("idle VUs").len() as u64;
    let mut tasks = tokio::task::JoinSet::new();
    let control = ctx.run.control.clone();

    for offset in offsets {
        let due = ctx.start + offset;
        if due >= stop_at {
            break;
        }
        if due > Instant::now() {
            tokio::select! {
                _ = tokio::time::sleep_until(due) => {}
                _ = control.graceful().cancelled() => break,
            }
        } else if control.graceful().is_cancelled() {
            break;
        }
        while tasks.try_join_next().is_some() {}

        let free = idle.lock().expect("idle VUs").pop();
        let vu = match free {
            Some(vu) => Some(vu),
            None if owned < max_vus => {
                owned += 1;
                None
            }
            None => {
                ctx.shared.progress.dropped.fetch_add(1, Ordering::Relaxed);
                (ctx.run.on_dropped)(&ctx.shared, 1);
                continue;
            }
        };
        let key = vu.as_ref().map_or(owned, |v| u64::from(v.id()));
        let ctx = ctx.clone();
        let idle = idle.clone();
        let spawner = ctx.run.spawner.clone();
        spawner.spawn(&mut tasks, key, async move {
            let mut vu = match vu {
                Some(vu) => vu,
                // A VU above the pre-allocated ones, made now; its start delay counts.
                None => match ctx.run.pool.make_reserved().await {
                    Ok(mut vu) => {
                        vu.enter_scenario(&ctx.shared);
                        vu
                    }
                    Err(_) => {
                        ctx.shared.progress.dropped.fetch_add(1, Ordering::Relaxed);
                        (ctx.run.on_dropped)(&ctx.shared, 1);
                        return;
                    }
                },
            };
            ctx.run.pool.busy(true);
            ctx.shared
                .progress
                .active_vus
                .fetch_add(1, Ordering::Relaxed);
            ctx.iteration(&mut vu, Some(due)).await;
            ctx.shared
                .progress
                .active_vus
                .fetch_sub(1, Ordering::Relaxed);
            ctx.run.pool.busy(false);
            idle.lock().expect("idle VUs").push(vu);
        });
    }
    // The scenario lasts its whole duration, even when its last iteration started earlier.
    tokio::select! {
        _ = tokio::time::sleep_until(stop_at) => {}
        _ = control.graceful().cancelled() => {}
    }
    while tasks.join_next().await.is_some() {}
    let vus = std::mem::take(&mut *idle.lock().expect("idle VUs"));
    pool.unreserve(vus);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(v: &[Duration]) -> Vec<f64> {
        v.iter()
            .map(|d| (d.as_secs_f64() * 1e6).round() / 1e6)
            .collect()
    }

    #[test]
    fn a_constant_rate_starts_at_once_and_evenly() {
        let seg = Ramp {
            from: 4.0,
            to: 4.0,
            duration: Duration::from_secs(1),
        };
        let got: Vec<Duration> = offsets(vec![seg], Duration::from_secs(1), 0..).collect();
        assert_eq!(secs(&got), vec![0.0, 0.25, 0.5, 0.75]);
        let seg = Ramp {
            from: 2000.0,
            to: 2000.0,
            duration: Duration::from_secs(10),
        };
        assert_eq!(
            offsets(vec![seg], Duration::from_secs(1), 0..).count(),
            20_000
        );
        let seg = Ramp {
            from: 30.0,
            to: 30.0,
            duration: Duration::from_secs(60),
        };
        assert_eq!(
            offsets(vec![seg], Duration::from_secs(60), 0..).count(),
            30,
            "timeUnit scales the rate"
        );
    }

    #[test]
    fn a_linear_ramp_follows_the_integral_of_the_rate() {
        // 0 → 10/s over 1 s: 5 iterations' worth; the k-th at sqrt(k/5) s.
        let ramp = Ramp {
            from: 0.0,
            to: 10.0,
            duration: Duration::from_secs(1),
        };
        let got: Vec<Duration> = offsets(vec![ramp], Duration::from_secs(1), 1..).collect();
        let want: Vec<f64> = (1..=4).map(|k| ((k as f64) / 5.0).sqrt()).collect();
        assert_eq!(
            secs(&got),
            secs(
                &want
                    .iter()
                    .map(|s| Duration::from_secs_f64(*s))
                    .collect::<Vec<_>>()
            )
        );
        // Then 10/s flat for 1 s: iterations 5..14 at 1.0, 1.1, … 1.9 s.
        let flat = Ramp {
            from: 10.0,
            to: 10.0,
            duration: Duration::from_secs(1),
        };
        let got: Vec<Duration> = offsets(vec![ramp, flat], Duration::from_secs(1), 1..).collect();
        assert_eq!(got.len(), 14);
        assert!((got[4].as_secs_f64() - 1.0).abs() < 1e-9);
        assert!((got[13].as_secs_f64() - 1.9).abs() < 1e-9);
        // A zero rate starts nothing.
        let zero = Ramp {
            from: 0.0,
            to: 0.0,
            duration: Duration::from_secs(5),
        };
        assert_eq!(offsets(vec![zero], Duration::from_secs(1), 1..).count(), 0);
    }

    #[test]
    fn ramps_match_k6s_schedule() {
        // k6's own expectations for 0 → 1/s over 5 s, 1/s for 1 s, 1 → 0/s over 5 s (its
        // TestRampingArrivalRateCal): iteration k starts when the integral reaches k.
        let ramps = vec![
            Ramp {
                from: 0.0,
                to: 1.0,
                duration: Duration::from_secs(5),
            },
            Ramp {
                from: 1.0,
                to: 1.0,
                duration: Duration::from_secs(1),
            },
            Ramp {
                from: 1.0,
                to: 0.0,
                duration: Duration::from_secs(5),
            },
        ];
        let got: Vec<f64> = offsets(ramps.clone(), Duration::from_secs(1), 1..)
            .map(|d| d.as_secs_f64())
            .collect();
        let want = [3.162, 4.472, 5.5, 6.527, 7.837];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 0.001, "{got:?}");
        }
        // The sixth lands on the very end (k6 may or may not start it; so may we).
        assert!(
            got.len() == 5 || (got.len() == 6 && (got[5] - 11.0).abs() < 1e-6),
            "{got:?}"
        );
        // A segment owning areas 2 and 5 (k6's 0:1/3 of this profile) gets 4.472 s and 7.837 s.
        let some: Vec<f64> = offsets(ramps, Duration::from_secs(1), [2, 5].into_iter())
            .map(|d| d.as_secs_f64() * 1000.0)
            .collect();
        assert_eq!(some.len(), 2);
        assert!(
            (some[0] - 4472.0).abs() < 1.0 && (some[1] - 7837.0).abs() < 1.0,
            "{some:?}"
        );
    }
}
