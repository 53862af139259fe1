//! Entry points for fuzzing the parsers of user input: thresholds, durations, options,
//! execution segments, and partial results (which arrive from other machines).
//! The cargo-fuzz targets in `fuzz/` call these; so does a short smoke test here, which runs in
//! every `cargo test`. Each must never panic, whatever the bytes.

use crate::executor::scenarios;
use crate::options::{format_duration, parse_duration, Options, Source};
use crate::thresholds::{parse_expression, parse_selector, split_flag};

/// Threshold expressions, metric selectors and `--threshold` flags.
pub fn thresholds(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(e) = parse_expression(s) {
        // What parses must parse again from its own text, to the same thing.
        let again = parse_expression(&e.source).expect("a parsed expression parses again");
        assert_eq!(again.aggregation, e.aggregation);
        assert_eq!(again.op, e.op);
    }
    if let Ok(sel) = parse_selector(s) {
        let again = parse_selector(&sel.name).expect("a normalized selector parses again");
        assert_eq!(again.filter, sel.filter);
    }
    let _ = split_flag(s);
}

/// Durations: whatever parses formats, and that parses back to (nearly) the same duration.
pub fn duration(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(d) = parse_duration(s) {
        let text = format_duration(d);
        let back = parse_duration(&text).expect("a formatted duration parses");
        let diff = back.abs_diff(d);
        assert!(
            diff.as_secs_f64() <= d.as_secs_f64() * 1e-3 + 1e-3,
            "{s:?} -> {d:?} -> {text} -> {back:?}"
        );
    }
}

/// Options JSON, merged and turned into scenarios.
pub fn options(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(o) = Options::from_json(s, &Source::Script) {
        if let Ok(merged) = Options::merge(vec![(Source::Script, o)]) {
            let _ = scenarios(&merged);
        }
    }
}

/// Execution segments and sequences: what parses prints and parses back to itself, and any
/// sequence either plans or is refused — never a panic, and shares always add up.
pub fn segments(data: &[u8]) {
    use crate::executor::segment::{ExecutionTuple, Segment, SegmentSequence};
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(seg) = Segment::parse(s) {
        assert_eq!(Segment::parse(&seg.to_string()).as_ref(), Ok(&seg));
        let _ = ExecutionTuple::new(Some(&seg), None);
    }
    if let Ok(seq) = SegmentSequence::parse(s) {
        assert_eq!(SegmentSequence::parse(&seq.to_string()).as_ref(), Ok(&seq));
        if let Ok(tuples) = ExecutionTuple::all_of(&seq) {
            for value in [0, 1, 7, 1000] {
                let sum: u64 = tuples.iter().map(|t| t.scale(value)).sum();
                assert_eq!(sum, value, "{seq}");
            }
        }
    }
}

/// Partial results: whatever the bytes, reading and merging them is an answer or an error.
pub fn partial(data: &[u8]) {
    if let Ok(p) = crate::partial::Partial::from_slice(data) {
        let _ = crate::partial::merge(vec![("fuzz".into(), p)]);
    }
}

#[cfg(test)]
mod tests {
    //! A short, deterministic fuzz: seeds, then random mutations of them.

    use super::*;

    const SEEDS: &[&str] = &[
        "p(95)<250",
        "avg <= 100",
        "rate>0.99",
        "count===3",
        "value!=0",
        "p(99.9) < 1.5e3",
        "http_req_duration{status:200,method:\"GET\"}",
        "checks{group:::a::b}",
        "m: p(9)<1",
        "1m30s",
        "250ms",
        "1.5h",
        "2d3h",
        "10",
        "1h2m3s4ms5us6ns",
        r#"{"vus": 5, "duration": "10s"}"#,
        r#"{"iterations": 10, "vus": 2}"#,
        r#"{"stages": [{"duration": "5s", "target": 3}]}"#,
        r#"{"scenarios": {"a": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 1, "stages": [{"duration": "1s", "target": 5}]}}}"#,
        r#"{"thresholds": {"http_reqs": ["count>1", {"threshold": "rate>1", "abortOnFail": true}]}}"#,
        "1/4:2/4",
        "25%:0.5",
        "0,1/4,1/2,3/4,1",
        "0,0.3,0.5,0.6,0.7,0.8,0.9,1",
        r#"{"executionSegment": "1/3:2/3", "executionSegmentSequence": "0,1/3,2/3,1"}"#,
    ];

    /// xorshift: no dependency, same sequence every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    const BYTES: &[u8] = b"0123456789.+-eE()<>=!{}[]:,/%\"' pmsuhdnavgcrtlxinoqf\\\x00\xff\xc3\xa9";

    fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
        for _ in 0..=rng.below(4) {
            match rng.below(4) {
                0 if !input.is_empty() => {
                    let i = rng.below(input.len());
                    input[i] = BYTES[rng.below(BYTES.len())];
                }
                1 => {
                    let i = rng.below(input.len() + 1);
                    input.insert(i, BYTES[rng.below(BYTES.len())]);
                }
                2 if !input.is_empty() => {
                    let i = rng.below(input.len());
                    input.remove(i);
                }
                _ => {
                    let other = SEEDS[rng.below(SEEDS.len())].as_bytes();
                    let at = rng.below(input.len() + 1);
                    input.splice(
                        at..at,
                        other.iter().copied().take(rng.below(other.len() + 1)),
                    );
                }
            }
        }
    }

    #[test]
    fn parsers_survive_random_input() {
        let mut rng = Rng(0x5eed_1234_abcd_ef01);
        for round in 0..30_000 {
            let mut input = SEEDS[round % SEEDS.len()].as_bytes().to_vec();
            mutate(&mut rng, &mut input);
            thresholds(&input);
            duration(&input);
            options(&input);
            segments(&input);
            partial(&input);
        }
    }
}
