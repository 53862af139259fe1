//! Execution segments, with k6's semantics: how one test is split between instances so that
//! each computes its own share of every executor, and the shares add up to the whole test.
//!
//! A segment is a part `(from, to]` of `(0, 1]`; a sequence is the chain of segments the
//! instances run (`0,1/4,1/2,1`). Indivisible things — VUs, iterations, arrival-rate starts —
//! are *striped*: k6's algorithm deals the numbers 0, 1, 2, … out to the segments in
//! proportion to their lengths, spread out rather than in blocks, and the deal repeats every
//! LCD numbers (the least common denominator of the segments' lengths). An instance owns
//! the numbers dealt to its segment: it runs those VUs, those iterations, at those times; the
//! other instances own the rest, so nothing is lost or doubled.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// The largest LCD accepted. k6 deals numbers out one by one over one LCD when it plans a
/// sequence; past this the plan would take seconds and the fractions mean nothing more.
const MAX_LCD: u64 = 1_000_000;
/// Fraction digits accepted in a decimal (`0.125`).
const MAX_DECIMALS: u32 = 18;

/// A rational number in `[0, 1]`, kept reduced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fraction {
    num: u64,
    den: u64,
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Fraction {
    /// Zero.
    pub const ZERO: Fraction = Fraction { num: 0, den: 1 };
    /// One.
    pub const ONE: Fraction = Fraction { num: 1, den: 1 };

    /// `num/den`, reduced; `None` when `den` is 0 or the reduced value does not fit.
    pub fn new(num: u128, den: u128) -> Option<Fraction> {
        if den == 0 {
            return None;
        }
        let g = gcd(num, den).max(1);
        Some(Fraction {
            num: u64::try_from(num / g).ok()?,
            den: u64::try_from(den / g).ok()?,
        })
    }

    /// The numerator (reduced).
    pub fn numer(self) -> u64 {
        self.num
    }

    /// The denominator (reduced).
    pub fn denom(self) -> u64 {
        self.den
    }

    /// `self - other`, for `self >= other`.
    fn minus(self, other: Fraction) -> Option<Fraction> {
        let a = u128::from(self.num) * u128::from(other.den);
        let b = u128::from(other.num) * u128::from(self.den);
        Fraction::new(
            a.checked_sub(b)?,
            u128::from(self.den) * u128::from(other.den),
        )
    }

    /// The value as a float, for messages and descriptions.
    pub fn as_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// Parses a percentage (`25%`, whole numbers only, as k6), a decimal (`0.25`) or a
    /// fraction (`1/4`).
    pub fn parse(s: &str) -> Result<Fraction, String> {
        let t = s.trim();
        let bad = || format!("`{s}` is not a valid percentage, decimal or fraction");
        if let Some(p) = t.strip_suffix('%') {
            let n: u64 = p
                .trim()
                .parse()
                .map_err(|_| format!("`{s}` is not a valid percentage"))?;
            return Fraction::new(u128::from(n), 100).ok_or_else(bad);
        }
        if let Some((n, d)) = t.split_once('/') {
            let n: u64 = n.trim().parse().map_err(|_| bad())?;
            let d: u64 = d.trim().parse().map_err(|_| bad())?;
            return Fraction::new(u128::from(n), u128::from(d)).ok_or_else(bad);
        }
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits_ok = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !digits_ok(int) || !digits_ok(frac) {
            return Err(bad());
        }
        if frac.len() as u32 > MAX_DECIMALS {
            return Err(format!(
                "`{s}` has more than {MAX_DECIMALS} decimals: write it as a fraction"
            ));
        }
        let scale = 10u128.pow(frac.len() as u32);
        let int: u128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| bad())?
        };
        let frac: u128 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| bad())?
        };
        let num = int
            .checked_mul(scale)
            .and_then(|v| v.checked_add(frac))
            .ok_or_else(bad)?;
        Fraction::new(num, scale).ok_or_else(bad)
    }
}

impl PartialOrd for Fraction {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Fraction {
    fn cmp(&self, other: &Self) -> Ordering {
        (u128::from(self.num) * u128::from(other.den))
            .cmp(&(u128::from(other.num) * u128::from(self.den)))
    }
}

impl fmt::Display for Fraction {
    /// `1/4`, or `1` for whole numbers (as Go's `RatString`, which k6 prints).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

/// A part `(from, to]` of the whole test, `0 <= from < to <= 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Segment {
    from: Fraction,
    to: Fraction,
}

impl Segment {
    /// The whole test, `0:1`.
    pub const FULL: Segment = Segment {
        from: Fraction::ZERO,
        to: Fraction::ONE,
    };

    /// `(from, to]`, checked as k6 checks it.
    pub fn new(from: Fraction, to: Fraction) -> Result<Segment, String> {
        if from >= to {
            return Err(format!(
                "segment start ({from}) must be less than its end ({to})"
            ));
        }
        if to > Fraction::ONE {
            return Err(format!("segment end can't be more than 1 but was {to}"));
        }
        if to.minus(from).is_none() {
            return Err(format!(
                "the length of segment {from}:{to} needs a denominator larger than 64 bits: use smaller fractions"
            ));
        }
        Ok(Segment { from, to })
    }

    /// Parses `from:to` (`1/4:2/4`, `25%:50%`, `0.25:0.5`), or `to` alone for `0:to`; an
    /// empty string is the whole test.
    pub fn parse(s: &str) -> Result<Segment, String> {
        let t = s.trim();
        if t.is_empty() {
            return Ok(Segment::FULL);
        }
        let at = |e: String| format!("invalid execution segment `{s}`: {e}");
        let (from, to) = match t.split_once(':') {
            Some((from, to)) => (Fraction::parse(from).map_err(at)?, to),
            None => (Fraction::ZERO, t),
        };
        let to = Fraction::parse(to).map_err(at)?;
        Segment::new(from, to).map_err(at)
    }

    /// Where it starts.
    pub fn from(&self) -> Fraction {
        self.from
    }

    /// Where it ends.
    pub fn to(&self) -> Fraction {
        self.to
    }

    /// Its length, `to - from`.
    pub fn length(&self) -> Fraction {
        self.to
            .minus(self.from)
            .expect("to > from, and both have denominators that fit")
    }

    /// Whether it is the whole test.
    pub fn is_full(&self) -> bool {
        *self == Segment::FULL
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.from, self.to)
    }
}

/// Segments that follow each other without gaps, `r1,r2,…,rn` standing for `(r1, r2]`,
/// `(r2, r3]`, …
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SegmentSequence(Vec<Segment>);

impl SegmentSequence {
    /// Parses `0,1/4,1/2,1` (at least two points, each larger than the one before).
    pub fn parse(s: &str) -> Result<SegmentSequence, String> {
        let at = |e: String| format!("invalid execution segment sequence `{s}`: {e}");
        let points = s
            .split(',')
            .map(Fraction::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(at)?;
        if points.len() < 2 {
            return Err(at(format!(
                "at least 2 points are needed, {} given",
                points.len()
            )));
        }
        let segments = points
            .windows(2)
            .map(|w| Segment::new(w[0], w[1]))
            .collect::<Result<Vec<_>, _>>()
            .map_err(at)?;
        Ok(SegmentSequence(segments))
    }

    /// `n` equal segments covering the whole test: `0,1/n,2/n,…,1`.
    pub fn even(n: u64) -> Result<SegmentSequence, String> {
        if n == 0 {
            return Err("the number of segments must be at least 1".into());
        }
        let segments = (0..n)
            .map(|i| {
                let from = Fraction::new(u128::from(i), u128::from(n)).expect("n > 0");
                let to = Fraction::new(u128::from(i + 1), u128::from(n)).expect("n > 0");
                Segment::new(from, to)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SegmentSequence(segments))
    }

    /// The segments, in order.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether it runs from 0 to 1.
    pub fn is_full(&self) -> bool {
        self.0.first().is_some_and(|s| s.from == Fraction::ZERO)
            && self.0.last().is_some_and(|s| s.to == Fraction::ONE)
    }

    /// The sequence with the missing pieces before and after it added, so that it covers
    /// `(0, 1]`.
    fn filled(mut segments: Vec<Segment>) -> Vec<Segment> {
        if let Some(first) = segments.first().copied() {
            if first.from != Fraction::ZERO {
                segments.insert(
                    0,
                    Segment::new(Fraction::ZERO, first.from).expect("0 < from"),
                );
            }
        }
        if let Some(last) = segments.last().copied() {
            if last.to != Fraction::ONE {
                segments.push(Segment::new(last.to, Fraction::ONE).expect("to < 1"));
            }
        }
        segments
    }
}

impl fmt::Display for SegmentSequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if first {
                write!(f, "{}", s.from)?;
                first = false;
            }
            write!(f, ",{}", s.to)?;
        }
        Ok(())
    }
}

/// A full sequence and how the numbers are dealt out to its segments.
#[derive(Debug, PartialEq, Eq)]
struct Deal {
    segments: Vec<Segment>,
    lcd: u64,
    /// Per segment: the first number it gets, then the gaps between its numbers over one
    /// LCD (they repeat), the last gap leading to the first number of the next LCD.
    starts: Vec<u64>,
    gaps: Vec<Vec<u64>>,
    /// Per segment: the sum of its gaps before each position, for jumping to the n-th.
    prefix: Vec<Vec<u64>>,
}

fn lcm(a: u64, b: u64) -> Option<u64> {
    let g = gcd(u128::from(a), u128::from(b)) as u64;
    (a / g).checked_mul(b)
}

impl Deal {
    /// k6's striping: over one LCD, number `i` goes to the largest segment (ties: the first
    /// in the sequence) that has not yet had its share of the numbers below `i`.
    ///
    /// A sequence given by the user is refused when its LCD is too large (`limited`); one
    /// dealt again over a value has an LCD that divides the value, which is bounded by the
    /// VUs the test makes anyway.
    fn new(segments: Vec<Segment>, limited: bool) -> Result<Deal, String> {
        debug_assert!(SegmentSequence(segments.clone()).is_full());
        let lengths: Vec<Fraction> = segments.iter().map(Segment::length).collect();
        let max = if limited { MAX_LCD } else { u64::MAX };
        let mut lcd = 1u64;
        for l in &lengths {
            lcd = lcm(lcd, l.den)
                .filter(|v| *v <= max)
                .ok_or_else(|| too_fine(&segments))?;
        }
        // Each segment's share of every LCD numbers, largest first (stable: ties keep order).
        let mut sorted: Vec<(u64, usize)> = lengths
            .iter()
            .enumerate()
            .map(|(i, l)| (l.num * (lcd / l.den), i))
            .collect();
        sorted.sort_by_key(|s| std::cmp::Reverse(s.0));

        let n = segments.len();
        let mut taken = vec![0u64; n]; // by position in `sorted`
        let mut owned: Vec<Vec<u64>> = vec![Vec::new(); n]; // by segment
        for i in 0..lcd {
            for (pos, &(share, seg)) in sorted.iter().enumerate() {
                let due = taken[pos] * lcd;
                let (q, r) = (due / share, due % share);
                if i > q || (i == q && r == 0) {
                    taken[pos] += 1;
                    owned[seg].push(i);
                    break;
                }
            }
        }
        let mut starts = Vec::with_capacity(n);
        let mut gaps = Vec::with_capacity(n);
        let mut prefix = Vec::with_capacity(n);
        for nums in owned {
            let first = *nums
                .first()
                .expect("every segment gets at least one number");
            let mut g: Vec<u64> = nums.windows(2).map(|w| w[1] - w[0]).collect();
            g.push(first + lcd - nums.last().expect("not empty"));
            let mut p = Vec::with_capacity(g.len());
            let mut sum = 0;
            for gap in &g {
                p.push(sum);
                sum += gap;
            }
            starts.push(first);
            gaps.push(g);
            prefix.push(p);
        }
        Ok(Deal {
            segments,
            lcd,
            starts,
            gaps,
            prefix,
        })
    }

    /// How many of the numbers `0..value` segment `index` owns (k6's `ScaleInt64`).
    fn scale(&self, index: usize, value: u64) -> u64 {
        let per_lcd = self.gaps[index].len() as u64;
        let mut result = (value / self.lcd) * per_lcd;
        let rest = value % self.lcd;
        let mut at = self.starts[index];
        for gap in &self.gaps[index] {
            if at >= rest {
                break;
            }
            result += 1;
            at += gap;
        }
        result
    }

    /// The `n`-th number (from 0) segment `index` owns.
    fn nth(&self, index: usize, n: u64) -> u64 {
        let per_lcd = self.gaps[index].len() as u64;
        let (cycle, pos) = (n / per_lcd, (n % per_lcd) as usize);
        cycle * self.lcd + self.starts[index] + self.prefix[index][pos]
    }
}

fn too_fine(segments: &[Segment]) -> String {
    format!(
        "the execution segments {} are too fine: their least common denominator must be at most {MAX_LCD} \
         (use simpler fractions, e.g. 1/3 rather than 0.333333)",
        SegmentSequence(segments.to_vec())
    )
}

/// One instance's segment within its sequence: what it computes its share of the test with
/// (k6's `ExecutionTuple`).
#[derive(Clone)]
pub struct ExecutionTuple {
    deal: Arc<Deal>,
    index: usize,
}

impl fmt::Debug for ExecutionTuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl PartialEq for ExecutionTuple {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index && self.deal.segments == other.deal.segments
    }
}

impl fmt::Display for ExecutionTuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} in {}",
            self.segment(),
            SegmentSequence(self.deal.segments.clone())
        )
    }
}

impl Default for ExecutionTuple {
    fn default() -> Self {
        ExecutionTuple::full()
    }
}

impl ExecutionTuple {
    /// The whole test on one instance.
    pub fn full() -> ExecutionTuple {
        ExecutionTuple {
            deal: Arc::new(Deal::new(vec![Segment::FULL], true).expect("one segment deals")),
            index: 0,
        }
    }

    /// `segment` (the whole test when absent) within `sequence` (when absent: the segment
    /// and the pieces around it), as k6's `NewExecutionTuple`.
    pub fn new(
        segment: Option<&Segment>,
        sequence: Option<&SegmentSequence>,
    ) -> Result<ExecutionTuple, String> {
        let segment = segment.copied().unwrap_or(Segment::FULL);
        let segments = match sequence {
            Some(seq) if !seq.0.is_empty() => SegmentSequence::filled(seq.0.clone()),
            _ if segment.is_full() => vec![Segment::FULL],
            _ => SegmentSequence::filled(vec![segment]),
        };
        let index = segments.iter().position(|s| *s == segment).ok_or_else(|| {
            format!(
                "the execution segment {segment} is not one of the segments of the sequence {}",
                SegmentSequence(segments.clone())
            )
        })?;
        Ok(ExecutionTuple {
            deal: Arc::new(Deal::new(segments, true)?),
            index,
        })
    }

    /// The tuple of the `index`-th segment (from 0) of `sequence`.
    pub fn of_index(sequence: &SegmentSequence, index: usize) -> Result<ExecutionTuple, String> {
        let segment = sequence.0.get(index).ok_or_else(|| {
            format!(
                "execution segment index {index} is out of range: the sequence {sequence} has {} segments (0 to {})",
                sequence.0.len(),
                sequence.0.len().saturating_sub(1)
            )
        })?;
        ExecutionTuple::new(Some(segment), Some(sequence))
    }

    /// The tuples of every segment of `sequence` (filled to cover the whole test), planned
    /// once for all.
    pub fn all_of(sequence: &SegmentSequence) -> Result<Vec<ExecutionTuple>, String> {
        let deal = Arc::new(Deal::new(
            SegmentSequence::filled(sequence.0.clone()),
            true,
        )?);
        Ok((0..deal.segments.len())
            .map(|index| ExecutionTuple {
                deal: deal.clone(),
                index,
            })
            .collect())
    }

    /// This instance's segment.
    pub fn segment(&self) -> Segment {
        self.deal.segments[self.index]
    }

    /// The whole (filled) sequence.
    pub fn sequence(&self) -> SegmentSequence {
        SegmentSequence(self.deal.segments.clone())
    }

    /// Whether this is the whole test, unsplit.
    pub fn is_full(&self) -> bool {
        self.deal.segments.len() == 1
    }

    /// This instance's share of `value` indivisible things (k6's `ScaleInt64`): how many of
    /// the numbers `0..value` are dealt to it. The shares of all segments add up to `value`.
    pub fn scale(&self, value: u64) -> u64 {
        if self.is_full() {
            value
        } else {
            self.deal.scale(self.index, value)
        }
    }

    /// The number (from 0, across the whole test) of this instance's `n`-th thing (from 0).
    pub fn unscaled(&self, n: u64) -> u64 {
        self.deal.nth(self.index, n)
    }

    /// The sequence dealt again over `value` things (k6's `GetNewExecutionTupleFromValue`):
    /// each segment becomes `share/value` of the test. Executors that split something first
    /// (shared-iterations its VUs, arrival-rate scenarios their maxVUs) deal their iterations
    /// this way, so that an instance with none of the first gets none of the second. `None`
    /// when this instance gets nothing of `value`.
    pub fn rescaled(&self, value: u64) -> Option<ExecutionTuple> {
        if value == 0 {
            return None;
        }
        if value.is_multiple_of(self.deal.lcd) {
            return Some(self.clone());
        }
        let mut segments = Vec::new();
        let mut index = None;
        let mut prev = 0u64;
        for i in 0..self.deal.segments.len() {
            let share = self.deal.scale(i, value);
            if share == 0 {
                continue;
            }
            if i == self.index {
                index = Some(segments.len());
            }
            let from = Fraction::new(u128::from(prev), u128::from(value))?;
            let to = Fraction::new(u128::from(prev + share), u128::from(value))?;
            segments.push(Segment::new(from, to).ok()?);
            prev += share;
        }
        let index = index?;
        let deal = Deal::new(segments, false).ok()?;
        Some(ExecutionTuple {
            deal: Arc::new(deal),
            index,
        })
    }

    /// An iterator over this instance's numbers (k6's `SegmentedIndex`).
    pub fn index(&self) -> SegmentedIndex {
        SegmentedIndex {
            tuple: self.clone(),
            scaled: 0,
        }
    }
}

/// Counts this instance's things and names each with its number in the whole test: the
/// `n`-th VU it makes, or the `n`-th iteration a scenario starts here.
#[derive(Clone, Debug)]
pub struct SegmentedIndex {
    tuple: ExecutionTuple,
    scaled: u64,
}

impl SegmentedIndex {
    /// The next thing: `(its number here, its number in the whole test)`, both from 1 (as
    /// k6's VU ids; iteration numbers subtract 1).
    pub fn advance(&mut self) -> (u64, u64) {
        let unscaled = self.tuple.unscaled(self.scaled) + 1;
        self.scaled += 1;
        (self.scaled, unscaled)
    }
}

/// Segments and sequences are written as text in options, as in k6's JSON.
macro_rules! serde_as_text {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                <$ty>::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_as_text!(Segment);
serde_as_text!(SegmentSequence);

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Fraction {
        Fraction::parse(s).unwrap()
    }

    fn tuple(seg: &str, seq: &str) -> ExecutionTuple {
        let seg = Segment::parse(seg).unwrap();
        let seq = (!seq.is_empty()).then(|| SegmentSequence::parse(seq).unwrap());
        ExecutionTuple::new(Some(&seg), seq.as_ref()).unwrap()
    }

    /// (start, gaps, lcd), as k6's `GetStripedOffsets`.
    fn striped(t: &ExecutionTuple) -> (u64, Vec<u64>, u64) {
        (
            t.deal.starts[t.index],
            t.deal.gaps[t.index].clone(),
            t.deal.lcd,
        )
    }

    #[test]
    fn fractions_parse_as_k6_reads_them() {
        assert_eq!(f("25%"), f("1/4"));
        assert_eq!(f("0.25"), f("1/4"));
        assert_eq!(f("2/8"), f("1/4"));
        assert_eq!(f("1"), Fraction::ONE);
        assert_eq!(f(".5"), f("1/2"));
        assert_eq!(f("1/4").to_string(), "1/4");
        assert_eq!(f("1.0").to_string(), "1");
        for bad in [
            "",
            "x",
            "1/0",
            "-1",
            "1.5.2",
            "12.5%",
            "1e3",
            "0.1234567890123456789",
        ] {
            assert!(Fraction::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn segments_parse_and_check_like_k6() {
        assert_eq!(Segment::parse("").unwrap(), Segment::FULL);
        assert_eq!(Segment::parse("1/2").unwrap().to_string(), "0:1/2");
        assert_eq!(Segment::parse("2/4:75%").unwrap().to_string(), "1/2:3/4");
        assert_eq!(Segment::parse("0.5:0.75").unwrap().to_string(), "1/2:3/4");
        for bad in ["1/2:1/4", "0:0", "0:1.5", "a:1", "1/2:"] {
            let err = Segment::parse(bad).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
        let err = SegmentSequence::parse("0").unwrap_err();
        assert!(err.contains("at least 2 points"), "{err}");
        let err = SegmentSequence::parse("0,1/2,1/4,1").unwrap_err();
        assert!(err.contains("less than"), "{err}");
        assert_eq!(
            SegmentSequence::parse("0,25%,0.5,1").unwrap().to_string(),
            "0,1/4,1/2,1"
        );
        assert_eq!(SegmentSequence::even(3).unwrap().to_string(), "0,1/3,2/3,1");
    }

    #[test]
    fn striping_matches_k6s_offsets() {
        // Expected values from k6's own tests of GetStripedOffsets.
        let cases: &[(&str, &str, u64, &[u64], u64)] = &[
            ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0:0.3", 0, &[4, 3, 3], 10),
            ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.3:0.5", 1, &[4, 6], 10),
            ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.5:0.6", 2, &[10], 10),
            ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.8:0.9", 8, &[10], 10),
            ("0,0.2,0.5,0.6,0.7,0.8,0.9,1", "0:0.2", 1, &[4, 6], 10),
            ("0,0.2,0.5", "0:0.2", 3, &[6, 4], 10),
            ("0,0.2,0.5", "0.2:0.5", 1, &[4, 2, 4], 10),
            ("0,2/5,4/5", "0:2/5", 0, &[3, 2], 5),
            ("0,2/5,4/5", "2/5:4/5", 1, &[3, 2], 5),
            ("", "0:0.2", 1, &[5], 5),
            ("", "0:0.4", 1, &[2, 3], 5),
            ("", "2/5:4/5", 1, &[3, 2], 5),
            ("", "1/10:5/10", 1, &[2, 2, 4, 2], 10),
        ];
        for (seq, seg, start, gaps, lcd) in cases {
            let t = tuple(seg, seq);
            assert_eq!(striped(&t), (*start, gaps.to_vec(), *lcd), "{seg} in {seq}");
        }
    }

    #[test]
    fn scale_matches_k6() {
        let t = tuple("0.5", "");
        assert_eq!((t.scale(2), t.scale(3)), (1, 2));
        let t = tuple("0.5:1", "");
        assert_eq!((t.scale(2), t.scale(3)), (1, 1));
        let t = tuple("0.5", "0,0.5,1");
        assert_eq!((t.scale(2), t.scale(3)), (1, 2));
        assert_eq!(tuple("0:7/20", "0,7/20,7/10,1").scale(50), 18);
        assert_eq!(ExecutionTuple::full().scale(12345), 12345);
    }

    #[test]
    fn rescaling_deals_the_sequence_again_over_a_value() {
        let t = tuple("0:1/3", "0,1/3,2/3,1");
        let r = t.rescaled(20).unwrap();
        assert_eq!(r.sequence().to_string(), "0,7/20,7/10,1");
        assert_eq!(r.segment().to_string(), "0:7/20");
        // A segment with none of the value has nothing to do (k6's HasWork is false).
        let t = tuple("1/5:2/5", "0,1/5,2/5,1");
        assert_eq!(t.scale(2), 0);
        assert!(t.rescaled(2).is_none());
    }

    #[test]
    fn the_index_names_this_instances_things_in_the_whole_test() {
        let mut i = tuple("0:1/2", "0,1/2,1").index();
        assert_eq!(
            (i.advance(), i.advance(), i.advance()),
            ((1, 1), (2, 3), (3, 5))
        );
        let mut i = tuple("1/2:1", "0,1/2,1").index();
        assert_eq!((i.advance(), i.advance()), ((1, 2), (2, 4)));
        let mut i = ExecutionTuple::full().index();
        assert_eq!((i.advance(), i.advance()), ((1, 1), (2, 2)));
    }

    #[test]
    fn too_fine_sequences_are_refused_with_a_reason() {
        let seq = SegmentSequence::parse("0,0.3333333,0.6666667,1").unwrap();
        let err = ExecutionTuple::of_index(&seq, 0).unwrap_err();
        assert!(err.contains("too fine"), "{err}");
        let err = ExecutionTuple::of_index(&SegmentSequence::even(4).unwrap(), 4).unwrap_err();
        assert!(err.contains("out of range"), "{err}");
        let err = ExecutionTuple::new(
            Some(&Segment::parse("1/3:2/3").unwrap()),
            Some(&SegmentSequence::even(4).unwrap()),
        )
        .unwrap_err();
        assert!(err.contains("not one of the segments"), "{err}");
    }
}
