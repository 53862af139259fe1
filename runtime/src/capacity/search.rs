//! The search for the highest load that meets every objective, as a state machine with no
//! clock and no I/O: it says which load to try next, is told how that step went, and finally
//! gives the answer.
//!
//! From the start load it grows geometrically while steps are good. At the first bad step it
//! bisects between the highest good load and the lowest bad one until they are within the
//! precision of each other. When the very first step is bad it shrinks geometrically until a
//! step is good (or the floor is reached), then bisects the same way. It stops early when a
//! step at the maximum load is good.
//!
//! A bad step is bad for a reason — an objective broke, or the generator was the bottleneck —
//! and the reason of the lowest bad step is the limit the answer reports: a generator that
//! saturated above a load where the service already broke its objectives does not hide that,
//! and a generator that saturated below it is never mistaken for the service's limit.

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every objective held, and the generator kept up.
    Good,
    /// An objective broke (or the service fell behind the offered load).
    Slo,
    /// The generator was the bottleneck: the step says nothing about the service.
    Generator,
}

/// Why the search stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The service broke an objective just above the capacity.
    Slo,
    /// The generator saturated just above the capacity.
    Generator,
    /// The maximum load was reached with every objective met.
    MaxRate,
}

impl Limit {
    /// Its name in the JSON export.
    pub fn name(self) -> &'static str {
        match self {
            Limit::Slo => "slo",
            Limit::Generator => "generator",
            Limit::MaxRate => "max-rate",
        }
    }
}

/// Where the search starts, how far it may go, and how exact it must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// The first load tried.
    pub start: f64,
    /// The highest load tried (infinite for none).
    pub max: f64,
    /// The bracket is narrow enough when `(bad − good) / good <= precision`.
    pub precision: f64,
    /// Each good step during the growth multiplies the load by this much.
    pub growth: f64,
    /// Below this load the search gives up looking for a good step.
    pub floor: f64,
    /// Loads are whole numbers (VUs in the closed model).
    pub whole: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            start: 10.0,
            max: f64::INFINITY,
            precision: 0.05,
            growth: 2.0,
            floor: 1.0,
            whole: false,
        }
    }
}

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    /// The highest load that met every objective (`None`: not even the lowest load tried).
    pub capacity: Option<f64>,
    /// The lowest bad load above it (`None` when the maximum was reached).
    pub bad: Option<f64>,
    /// Why the search stopped.
    pub limit: Limit,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Run a step at this load, then [`Search::record`] how it went.
    Step(f64),
    /// The search is over.
    Done(Answer),
}

/// A search in progress.
#[derive(Debug, Clone)]
pub struct Search {
    config: Config,
    good: Option<f64>,
    bad: Option<(f64, Outcome)>,
    next: Next,
}

impl Search {
    /// A search with `config`; loads are clamped to its floor and maximum.
    pub fn new(config: Config) -> Self {
        let mut config = config;
        config.floor = config.floor.max(f64::MIN_POSITIVE);
        if config.whole {
            config.floor = config.floor.max(1.0);
            config.max = config.max.floor();
        }
        config.start = config
            .start
            .clamp(config.floor, config.max.max(config.floor));
        if config.whole {
            config.start = config.start.round();
        }
        Self {
            next: Next::Step(config.start),
            config,
            good: None,
            bad: None,
        }
    }

    /// What to do next.
    pub fn next(&self) -> Next {
        self.next
    }

    /// The highest good load so far.
    pub fn good(&self) -> Option<f64> {
        self.good
    }

    /// The lowest bad load so far, and why it was bad.
    pub fn bad(&self) -> Option<(f64, Outcome)> {
        self.bad
    }

    /// Records how the step that [`next`](Self::next) asked for went.
    ///
    /// # Panics
    /// When the search is over.
    pub fn record(&mut self, outcome: Outcome) {
        let Next::Step(load) = self.next else {
            panic!("Search::record after the search is over");
        };
        match outcome {
            Outcome::Good => self.good = Some(self.good.map_or(load, |g| g.max(load))),
            bad => {
                if self.bad.is_none_or(|(b, _)| load <= b) {
                    self.bad = Some((load, bad));
                }
            }
        }
        self.next = self.decide();
    }

    fn decide(&self) -> Next {
        let c = &self.config;
        match (self.good, self.bad) {
            (Some(good), None) => {
                if good >= c.max {
                    return Next::Done(Answer {
                        capacity: Some(good),
                        bad: None,
                        limit: Limit::MaxRate,
                    });
                }
                let mut up = (good * c.growth).min(c.max);
                if c.whole {
                    up = up
                        .floor()
                        .max(good + 1.0)
                        .min(c.max.floor().max(good + 1.0));
                }
                Next::Step(up)
            }
            (None, Some((bad, why))) => {
                let mut down = bad / c.growth;
                if c.whole {
                    down = down.floor();
                }
                if down < c.floor || down >= bad {
                    Next::Done(Answer {
                        capacity: None,
                        bad: Some(bad),
                        limit: limit_of(why),
                    })
                } else {
                    Next::Step(down)
                }
            }
            (Some(good), Some((bad, why))) => {
                let narrow = (bad - good) <= c.precision * good;
                let mid = if c.whole {
                    ((good + bad) / 2.0).floor()
                } else {
                    (good + bad) / 2.0
                };
                if narrow || mid <= good || mid >= bad {
                    Next::Done(Answer {
                        capacity: Some(good),
                        bad: Some(bad),
                        limit: limit_of(why),
                    })
                } else {
                    Next::Step(mid)
                }
            }
            (None, None) => Next::Step(c.start),
        }
    }
}

fn limit_of(outcome: Outcome) -> Limit {
    match outcome {
        Outcome::Generator => Limit::Generator,
        _ => Limit::Slo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a search against `service`, which says how a step at a load goes; returns the
    /// answer and the loads tried.
    fn run(config: Config, service: impl Fn(f64) -> Outcome) -> (Answer, Vec<f64>) {
        let mut search = Search::new(config);
        let mut tried = Vec::new();
        loop {
            match search.next() {
                Next::Step(load) => {
                    assert!(tried.len() < 100, "the search does not end: {tried:?}");
                    tried.push(load);
                    search.record(service(load));
                }
                Next::Done(answer) => return (answer, tried),
            }
        }
    }

    /// A service that meets its objectives up to `capacity`.
    fn up_to(capacity: f64) -> impl Fn(f64) -> Outcome {
        move |load| {
            if load <= capacity {
                Outcome::Good
            } else {
                Outcome::Slo
            }
        }
    }

    fn within(answer: &Answer, truth: f64, precision: f64) {
        let got = answer.capacity.expect("a capacity");
        let bad = answer.bad.expect("a bad step");
        assert!(got <= truth && truth < bad, "{truth} not in [{got}, {bad})");
        assert!((bad - got) <= precision * got + 1e-9, "{got}..{bad}");
    }

    #[test]
    fn the_capacity_of_a_known_service_is_found_within_the_precision() {
        for truth in [1.5, 7.0, 10.0, 33.3, 200.0, 999.0, 12_345.0] {
            for start in [1.0, 10.0, 50.0, 1000.0] {
                let config = Config {
                    start,
                    floor: 0.01,
                    ..Config::default()
                };
                let (answer, tried) = run(config, up_to(truth));
                assert_eq!(answer.limit, Limit::Slo, "{truth} from {start}: {tried:?}");
                within(&answer, truth, 0.05);
                // Geometric both ways, then bisection: a few dozen steps at most.
                assert!(tried.len() <= 25, "{truth} from {start}: {tried:?}");
            }
        }
    }

    #[test]
    fn growth_is_geometric_then_bisection_between_last_good_and_first_bad() {
        let (answer, tried) = run(
            Config {
                start: 25.0,
                ..Config::default()
            },
            up_to(200.0),
        );
        assert_eq!(
            tried,
            [25.0, 50.0, 100.0, 200.0, 400.0, 300.0, 250.0, 225.0, 212.5, 206.25]
        );
        assert_eq!(answer.capacity, Some(200.0));
        assert_eq!(answer.bad, Some(206.25));
    }

    #[test]
    fn a_finer_precision_takes_more_steps_and_lands_closer() {
        let coarse = run(Config::default(), up_to(321.0));
        let fine = run(
            Config {
                precision: 0.01,
                ..Config::default()
            },
            up_to(321.0),
        );
        within(&fine.0, 321.0, 0.01);
        assert!(fine.1.len() > coarse.1.len());
    }

    #[test]
    fn the_maximum_ends_the_search_when_it_is_good() {
        let (answer, tried) = run(
            Config {
                start: 10.0,
                max: 100.0,
                ..Config::default()
            },
            up_to(1e9),
        );
        assert_eq!(tried, [10.0, 20.0, 40.0, 80.0, 100.0]);
        assert_eq!(
            answer,
            Answer {
                capacity: Some(100.0),
                bad: None,
                limit: Limit::MaxRate
            }
        );
        // A start above the maximum starts at the maximum.
        let (_, tried) = run(
            Config {
                start: 500.0,
                max: 100.0,
                ..Config::default()
            },
            up_to(1e9),
        );
        assert_eq!(tried, [100.0]);
    }

    #[test]
    fn a_service_bad_at_the_start_is_searched_downwards() {
        let (answer, tried) = run(
            Config {
                start: 1000.0,
                ..Config::default()
            },
            up_to(90.0),
        );
        assert_eq!(&tried[..5], [1000.0, 500.0, 250.0, 125.0, 62.5]);
        within(&answer, 90.0, 0.05);
    }

    #[test]
    fn a_service_bad_at_every_load_has_no_capacity() {
        let (answer, tried) = run(
            Config {
                start: 16.0,
                floor: 1.0,
                ..Config::default()
            },
            |_| Outcome::Slo,
        );
        assert_eq!(tried, [16.0, 8.0, 4.0, 2.0, 1.0]);
        assert_eq!(
            answer,
            Answer {
                capacity: None,
                bad: Some(1.0),
                limit: Limit::Slo
            }
        );
    }

    #[test]
    fn a_saturated_generator_is_the_limit_not_the_service() {
        // The service would hold up to 5,000/s; the generator gives out at 800/s.
        let service = |load: f64| {
            if load > 800.0 {
                Outcome::Generator
            } else if load > 5000.0 {
                Outcome::Slo
            } else {
                Outcome::Good
            }
        };
        let (answer, _) = run(Config::default(), service);
        assert_eq!(answer.limit, Limit::Generator);
        within(&answer, 800.0, 0.05);
    }

    #[test]
    fn an_objective_broken_below_the_generator_limit_is_the_limit() {
        // Growth overshoots into the generator's limit; bisection finds the service broke first.
        let service = |load: f64| {
            if load > 1000.0 {
                Outcome::Generator
            } else if load > 700.0 {
                Outcome::Slo
            } else {
                Outcome::Good
            }
        };
        let (answer, tried) = run(
            Config {
                start: 600.0,
                ..Config::default()
            },
            service,
        );
        assert_eq!(tried[..2], [600.0, 1200.0]);
        assert_eq!(answer.limit, Limit::Slo);
        within(&answer, 700.0, 0.05);
    }

    #[test]
    fn vus_are_whole_and_bisect_to_one() {
        let (answer, tried) = run(
            Config {
                start: 1.0,
                whole: true,
                precision: 0.0,
                ..Config::default()
            },
            up_to(37.0),
        );
        assert!(tried.iter().all(|l| l.fract() == 0.0), "{tried:?}");
        assert_eq!(answer.capacity, Some(37.0));
        assert_eq!(answer.bad, Some(38.0));
        // From a start of 1 VU that is already bad, there is nowhere lower to go.
        let (answer, tried) = run(
            Config {
                start: 1.0,
                whole: true,
                ..Config::default()
            },
            |_| Outcome::Slo,
        );
        assert_eq!(tried, [1.0]);
        assert_eq!(answer.capacity, None);
        // Whole loads reach a maximum that growth would jump over.
        let (answer, tried) = run(
            Config {
                start: 3.0,
                max: 10.0,
                whole: true,
                ..Config::default()
            },
            up_to(100.0),
        );
        assert_eq!(tried, [3.0, 6.0, 10.0]);
        assert_eq!(answer.limit, Limit::MaxRate);
    }

    #[test]
    fn a_noisy_service_still_ends_with_a_consistent_bracket() {
        // Good and bad at random around the knee: the bracket still closes, and the answer
        // is always a load that was good with a bad one within the precision above it.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let seed = state;
            let service = move |load: f64| {
                let noise = ((seed ^ load.to_bits()).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40)
                    as f64
                    / (1u64 << 24) as f64;
                if load < 150.0 + 100.0 * noise {
                    Outcome::Good
                } else {
                    Outcome::Slo
                }
            };
            let (answer, tried) = run(Config::default(), service);
            let (good, bad) = (answer.capacity.unwrap(), answer.bad.unwrap());
            assert!(good < bad && bad - good <= 0.05 * good, "{tried:?}");
            assert!(tried.contains(&good) && tried.contains(&bad));
        }
    }

    #[test]
    #[should_panic(expected = "after the search is over")]
    fn recording_after_the_end_is_a_bug() {
        let mut s = Search::new(Config {
            start: 5.0,
            max: 5.0,
            ..Config::default()
        });
        s.record(Outcome::Good);
        s.record(Outcome::Good);
    }
}
