//! The union property of execution segments, for every executor, over many random
//! configurations and random sequences: the instances of a split test together do exactly
//! what one instance running the whole test does — no VU, iteration or arrival lost or
//! doubled, iteration numbers unique, arrival-rate starts interleaved at the same instants.
//!
//! Two levels: the plan (the striping arithmetic, thousands of cases) and the executors
//! themselves, run with fake VUs under paused time, once whole and once per segment.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::ramping_vus::{scaled_steps, steps};
use super::segment::{ExecutionTuple, SegmentSequence};
use super::testing::*;
use super::{run_scenario, ExecutorKind, ScenarioShared};
use crate::options::{Dur, Stage};

/// A small deterministic generator (splitmix64): the same cases on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    /// A random full sequence of 1 to 6 segments, cut at multiples of 1/D.
    fn sequence(&mut self) -> SegmentSequence {
        let n = self.range(1, 6);
        let den = self.range(n.max(2), 24);
        let mut cuts = BTreeSet::new();
        while (cuts.len() as u64) < n - 1 {
            cuts.insert(self.range(1, den - 1));
        }
        let mut text = String::from("0");
        for c in cuts {
            text.push_str(&format!(",{c}/{den}"));
        }
        text.push_str(",1");
        SegmentSequence::parse(&text).expect("a valid sequence")
    }
}

fn tuples(seq: &SegmentSequence) -> Vec<ExecutionTuple> {
    let all = ExecutionTuple::all_of(seq).expect("a plannable sequence");
    // The same plan as each instance makes on its own.
    for (i, t) in all.iter().enumerate() {
        assert_eq!(*t, ExecutionTuple::of_index(seq, i).unwrap());
    }
    all
}

/// The numbers `0..count` owned by each tuple's first `share` things.
fn owned(tuple: &ExecutionTuple, share: u64) -> Vec<u64> {
    (0..share).map(|n| tuple.unscaled(n)).collect()
}

fn assert_partition(parts: &[Vec<u64>], whole: u64, what: &str) {
    let mut all: Vec<u64> = parts.iter().flatten().copied().collect();
    all.sort_unstable();
    let want: Vec<u64> = (0..whole).collect();
    assert_eq!(
        all, want,
        "{what}: the parts are not a partition of 0..{whole}"
    );
}

#[test]
fn shares_of_any_value_add_up_and_partition_it() {
    let mut rng = Rng(1);
    for _ in 0..2000 {
        let seq = rng.sequence();
        let ts = tuples(&seq);
        let value = rng.range(0, 5000);
        let shares: Vec<u64> = ts.iter().map(|t| t.scale(value)).collect();
        assert_eq!(shares.iter().sum::<u64>(), value, "{seq} over {value}");
        let parts: Vec<Vec<u64>> = ts.iter().zip(&shares).map(|(t, s)| owned(t, *s)).collect();
        assert_partition(&parts, value, &format!("{seq}"));
    }
}

#[test]
fn stripes_are_spread_evenly_not_in_blocks() {
    // Over any LCD consecutive numbers a segment owns exactly its share of them: its
    // numbers (VUs, iterations, arrival starts) are interleaved with the others'.
    let mut rng = Rng(2);
    for _ in 0..300 {
        let seq = rng.sequence();
        let lcd = seq
            .segments()
            .iter()
            .map(|s| s.length().denom())
            .fold(1u64, |a, b| a / gcd(a, b) * b);
        for (t, seg) in tuples(&seq).iter().zip(seq.segments()) {
            let per_lcd = seg.length().numer() * (lcd / seg.length().denom());
            let mine: BTreeSet<u64> = owned(t, per_lcd * 4).into_iter().collect();
            for window_start in 0..lcd * 3 {
                let n = (window_start..window_start + lcd)
                    .filter(|v| mine.contains(v))
                    .count() as u64;
                assert_eq!(n, per_lcd, "{seg} in {seq}, window at {window_start}");
            }
        }
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[test]
fn things_dealt_over_a_first_value_still_partition_the_second() {
    // shared-iterations deals its iterations over its VUs' split; arrival-rate scenarios
    // over maxVUs'. A segment with none of the first has none of the second.
    let mut rng = Rng(3);
    for _ in 0..1000 {
        let seq = rng.sequence();
        let first = rng.range(1, 60);
        let second = first + rng.range(0, 3000);
        let parts: Vec<Vec<u64>> = tuples(&seq)
            .iter()
            .map(|t| match t.rescaled(first) {
                Some(r) => {
                    assert!(t.scale(first) > 0);
                    owned(&r, r.scale(second))
                }
                None => {
                    assert_eq!(t.scale(first), 0, "{t}");
                    Vec::new()
                }
            })
            .collect();
        assert_partition(&parts, second, &format!("{seq} over {first} then {second}"));
    }
}

fn stage(ms: u64, target: u64) -> Stage {
    Stage {
        duration: Dur(Duration::from_millis(ms)),
        target,
    }
}

fn random_stages(rng: &mut Rng, max_target: u64) -> Vec<Stage> {
    (0..rng.range(1, 4))
        .map(|_| stage(rng.range(0, 4) * 500, rng.range(0, max_target)))
        .collect()
}

#[test]
fn ramping_vu_targets_add_up_at_every_instant() {
    let mut rng = Rng(4);
    for _ in 0..1000 {
        let seq = rng.sequence();
        let start = rng.range(0, 12);
        let stages = random_stages(&mut rng, 40);
        let whole = steps(start, &stages);
        let parts: Vec<Vec<(Duration, u64)>> = tuples(&seq)
            .iter()
            .map(|t| scaled_steps(t, start, &stages))
            .collect();
        // The target in effect at `at` (the last step at or before it).
        let at_time = |list: &[(Duration, u64)], at: Duration| {
            list.iter()
                .take_while(|(t, _)| *t <= at)
                .last()
                .map_or(0, |(_, v)| *v)
        };
        for (at, target) in &whole {
            let sum: u64 = parts.iter().map(|p| at_time(p, *at)).sum();
            assert_eq!(sum, at_time(&whole, *at), "{seq}, {stages:?} at {at:?}");
            let _ = target;
        }
        // Each instance changes its target only when the whole test's changes.
        let times: BTreeSet<Duration> = whole.iter().map(|(t, _)| *t).collect();
        for p in &parts {
            assert!(p.iter().all(|(t, _)| times.contains(t)), "{seq}");
        }
    }
}

#[test]
fn arrival_starts_of_the_segments_are_the_starts_of_the_whole() {
    use super::arrival::{offsets, Ramp};
    let mut rng = Rng(5);
    for case in 0..400 {
        let seq = rng.sequence();
        let max_vus = rng.range(1, 30);
        let unit = Duration::from_millis(rng.range(1, 3) * 500);
        let mut from = rng.range(0, 50) as f64;
        let ramps: Vec<Ramp> = random_stages(&mut rng, 60)
            .iter()
            .map(|s| {
                let r = Ramp {
                    from,
                    to: s.target as f64,
                    duration: s.duration.0,
                };
                from = s.target as f64;
                r
            })
            .collect();
        // Constant (areas from 0) and ramping (areas from 1) numbering.
        let first = case % 2;
        let whole: Vec<Duration> = offsets(ramps.clone(), unit, first..).collect();
        let mut union: Vec<(u64, Duration)> = Vec::new();
        for t in tuples(&seq) {
            let Some(stripe) = t.rescaled(max_vus) else {
                continue;
            };
            let s2 = stripe.clone();
            let areas = (0..).map(move |n| s2.unscaled(n) + first);
            let times: Vec<Duration> = offsets(ramps.clone(), unit, areas).collect();
            for (n, at) in times.into_iter().enumerate() {
                union.push((stripe.unscaled(n as u64), at));
            }
        }
        union.sort();
        let want: Vec<(u64, Duration)> = whole
            .iter()
            .enumerate()
            .map(|(k, at)| (k as u64, *at))
            .collect();
        assert_eq!(union, want, "{seq}, maxVUs {max_vus}");
    }
}

/// What one run of a scenario did: every iteration started, and how many ended.
struct Outcome {
    starts: Vec<Started>,
    done: u64,
    dropped: u64,
}

async fn run_segment(executor: ExecutorKind, tuple: &ExecutionTuple, work: Duration) -> Outcome {
    let mut config = scenario(executor);
    config.tuple = tuple.clone();
    let (run, log) = fake_run_in(tuple, config.initial_vus(), work).await;
    let shared = Arc::new(ScenarioShared::new(&config));
    run_scenario(run, config, shared.clone()).await;
    let starts = log.iterations.lock().unwrap().clone();
    Outcome {
        starts,
        done: log.done.load(Ordering::Relaxed),
        dropped: shared.progress.dropped.load(Ordering::Relaxed),
    }
}

/// How strictly the split's iteration numbers must match the whole run's.
#[derive(Clone, Copy, PartialEq)]
enum Numbers {
    /// Unique across instances (k6 promises no more for VU-driven executors: an instance
    /// numbers its iterations along its own stripe, however many it runs).
    Unique,
    /// Exactly `0..n`, once each.
    Partition,
    /// Exactly `0..n`, and each started at the same offset as in the whole run.
    SameTimes,
}

/// Runs `executor` whole and split by `seq`, and checks that the split did what the whole
/// did: as many iterations, on distinct VUs, numbered as `numbers` says.
async fn assert_union(
    executor: ExecutorKind,
    seq: &SegmentSequence,
    work: Duration,
    numbers: Numbers,
) {
    let whole = run_segment(executor.clone(), &ExecutionTuple::full(), work).await;
    let mut parts = Vec::new();
    for t in tuples(seq) {
        parts.push(run_segment(executor.clone(), &t, work).await);
    }
    let what = format!("{executor:?} split by {seq}");
    let done: u64 = parts.iter().map(|p| p.done).sum();
    assert_eq!(done, whole.done, "{what}: iterations done");
    let dropped: u64 = parts.iter().map(|p| p.dropped).sum();
    assert_eq!(dropped, whole.dropped, "{what}: dropped");
    let ids: Vec<Vec<u64>> = parts
        .iter()
        .map(|p| p.starts.iter().map(|s| s.in_test).collect())
        .collect();
    if numbers == Numbers::Unique {
        let all: Vec<u64> = ids.iter().flatten().copied().collect();
        let distinct: BTreeSet<u64> = all.iter().copied().collect();
        assert_eq!(
            all.len(),
            distinct.len(),
            "{what}: an iteration number repeats"
        );
        assert_eq!(all.len(), whole.starts.len(), "{what}: iterations started");
        // On one instance they count up from 0.
        for p in &parts {
            let mut here: Vec<u64> = p.starts.iter().map(|s| s.in_instance).collect();
            here.sort_unstable();
            assert!(
                here.iter().enumerate().all(|(i, n)| i as u64 == *n),
                "{what}"
            );
        }
    } else {
        assert_partition(&ids, whole.starts.len() as u64, &what);
    }
    // VUs: each instance's are its own.
    let mut seen = BTreeMap::new();
    for (i, p) in parts.iter().enumerate() {
        for s in &p.starts {
            let owner = *seen.entry(s.vu_in_test).or_insert(i);
            assert_eq!(
                owner, i,
                "{what}: VU {} runs on two instances",
                s.vu_in_test
            );
        }
    }
    if numbers == Numbers::SameTimes {
        let by_id = |starts: &[Started]| -> BTreeMap<u64, Duration> {
            starts.iter().map(|s| (s.in_test, s.at)).collect()
        };
        let mut union = BTreeMap::new();
        for p in &parts {
            union.extend(by_id(&p.starts));
        }
        assert_eq!(union, by_id(&whole.starts), "{what}: start times");
    }
}

#[tokio::test(start_paused = true)]
async fn iteration_executors_split_without_losing_or_doubling_anything() {
    let mut rng = Rng(6);
    for _ in 0..40 {
        let seq = rng.sequence();
        let vus = rng.range(1, 12);
        let max_duration = Duration::from_secs(600);
        let shared = ExecutorKind::SharedIterations {
            vus,
            iterations: vus + rng.range(0, 80),
            max_duration,
        };
        assert_union(shared, &seq, Duration::from_millis(10), Numbers::Partition).await;
        let per_vu = ExecutorKind::PerVuIterations {
            vus,
            iterations: rng.range(1, 8),
            max_duration,
        };
        assert_union(per_vu, &seq, Duration::from_millis(10), Numbers::Unique).await;
    }
}

#[tokio::test(start_paused = true)]
async fn vu_executors_split_without_losing_or_doubling_anything() {
    let mut rng = Rng(7);
    // Not a multiple of any stage boundary: no iteration ends exactly when a target moves,
    // where the order of two simultaneous wake-ups would decide whether one more starts.
    let work = Duration::from_micros(70_003);
    for _ in 0..30 {
        let seq = rng.sequence();
        let constant = ExecutorKind::ConstantVus {
            vus: rng.range(1, 12),
            duration: Duration::from_millis(rng.range(1, 8) * 250),
        };
        assert_union(constant, &seq, work, Numbers::Unique).await;
        let mut stages = random_stages(&mut rng, 10);
        stages.push(stage(500, rng.range(0, 10)));
        let ramping = ExecutorKind::RampingVus {
            start_vus: rng.range(0, 6),
            stages,
            graceful_ramp_down: Duration::from_secs(30),
        };
        assert_union(ramping, &seq, work, Numbers::Unique).await;
    }
}

#[tokio::test(start_paused = true)]
async fn arrival_rate_executors_split_into_interleaved_schedules() {
    let mut rng = Rng(8);
    for _ in 0..30 {
        let seq = rng.sequence();
        let max_vus = rng.range(1, 30);
        // Enough VUs for every start: the schedules alone are compared.
        let (pre_allocated_vus, work) = (max_vus, Duration::from_micros(1));
        let constant = ExecutorKind::ConstantArrivalRate {
            rate: rng.range(1, 200),
            time_unit: Duration::from_secs(1),
            duration: Duration::from_millis(rng.range(1, 6) * 250),
            pre_allocated_vus,
            max_vus,
        };
        assert_union(constant, &seq, work, Numbers::SameTimes).await;
        let mut stages = random_stages(&mut rng, 120);
        stages.push(stage(500, rng.range(0, 120)));
        let ramping = ExecutorKind::RampingArrivalRate {
            start_rate: rng.range(0, 100),
            time_unit: Duration::from_secs(1),
            stages,
            pre_allocated_vus,
            max_vus,
        };
        assert_union(ramping, &seq, work, Numbers::SameTimes).await;
    }
}
