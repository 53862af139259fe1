//! Numbers as the text outputs write them, appended to a byte buffer: no allocation and no
//! libm call (no `round`, `trunc` or `fract`, which are calls on x86-64 without SSE4.1) on the
//! path every sample takes.

use std::io::Write as _;

/// Two decimal digits of every number below 100, for writing two at a time.
const PAIRS: &[u8; 200] =
    b"00010203040506070809101112131415161718192021222324252627282930313233343536373839\
40414243444546474849505152535455565758596061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The six digits of `f` (below 10^6), with leading zeros.
fn micros(f: u64) -> [u8; 6] {
    let (hi, lo) = ((f / 10_000) as usize, (f % 10_000) as usize);
    let (mid, lo) = (lo / 100, lo % 100);
    [
        PAIRS[2 * hi],
        PAIRS[2 * hi + 1],
        PAIRS[2 * mid],
        PAIRS[2 * mid + 1],
        PAIRS[2 * lo],
        PAIRS[2 * lo + 1],
    ]
}

/// The nine digits of `f` (below 10^9), with leading zeros: a fraction of a second in ns.
pub fn nanos(f: u32) -> [u8; 9] {
    let (hi, lo) = (f / 1_000_000, u64::from(f % 1_000_000));
    let (a, b) = ((hi / 100) as usize, (hi % 100) as usize);
    let m = micros(lo);
    [
        b'0' + a as u8,
        PAIRS[2 * b],
        PAIRS[2 * b + 1],
        m[0],
        m[1],
        m[2],
        m[3],
        m[4],
        m[5],
    ]
}

/// Appends `n`: below 100 from the digit pairs, others with itoa.
#[inline]
fn push_whole(n: u64, out: &mut Vec<u8>) {
    if n < 10 {
        out.push(b'0' + n as u8);
    } else if n < 100 {
        let i = 2 * n as usize;
        out.extend_from_slice(&PAIRS[i..i + 2]);
    } else {
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }
}

/// A point and the six digits of `f` (below 10^6).
fn point_micros(f: u64) -> [u8; 7] {
    let m = micros(f);
    [b'.', m[0], m[1], m[2], m[3], m[4], m[5]]
}

/// Appends `v` as a JSON lines value: whole numbers below 10^15 without a fraction (as k6
/// writes them), others in their shortest form; not-a-number and infinities as 0.
pub fn push_number(v: f64, out: &mut Vec<u8>) {
    if !v.is_finite() {
        out.push(b'0');
        return;
    }
    let a = v.abs();
    if a < 1e15 {
        // Within ±10^15 the conversion truncates exactly: `v` is whole when it round-trips.
        let i = v as i64;
        if i as f64 == v {
            if i < 0 {
                out.push(b'-');
            }
            push_whole(i.unsigned_abs(), out);
            return;
        }
        // Most values are times in ms from a count of ns: at most six decimals. When `n`
        // millionths round to `v`, that decimal (at most 15 digits, so no other decimal as
        // short rounds to `v`) is the shortest form: write it without the general algorithm.
        if (1e-4..1e9).contains(&a) {
            let n = (a * 1e6 + 0.5) as u64;
            if n as f64 / 1e6 == a {
                if v < 0.0 {
                    out.push(b'-');
                }
                push_whole(n / 1_000_000, out);
                let digits = point_micros(n % 1_000_000);
                let keep = 7 - digits.iter().rev().take_while(|&&d| d == b'0').count();
                out.extend_from_slice(&digits[..keep]);
                return;
            }
        }
    }
    out.extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
}

/// Appends `v` as Go's `%f` (and Rust's `{:.6}`) writes it: six decimals of its exact value,
/// a tie to the even digit; not-a-number and infinities as 0.
pub fn push_fixed6(v: f64, out: &mut Vec<u8>) {
    let v = if v.is_finite() { v } else { 0.0 };
    let p = v * 1e6;
    if p.abs() >= 9e15 {
        let _ = write!(out, "{v:.6}");
        return;
    }
    // `p` is `v`·10^6 rounded once; below 2^53 its whole part `t` and the rest are exact, and
    // rounding `p` to a whole number gives what rounding the exact product would, unless `p`
    // lies exactly halfway (a tie, or a product rounded onto the half): then ask std.
    let t = p as i64;
    let rest = (p - t as f64).abs();
    let n = if rest < 0.5 {
        t
    } else if rest > 0.5 {
        if p < 0.0 {
            t - 1
        } else {
            t + 1
        }
    } else {
        let _ = write!(out, "{v:.6}");
        return;
    };
    if n < 0 || (n == 0 && v.is_sign_negative()) {
        out.push(b'-');
    }
    let n = n.unsigned_abs();
    push_whole(n / 1_000_000, out);
    out.extend_from_slice(&point_micros(n % 1_000_000));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(v: f64) -> String {
        let mut out = Vec::new();
        push_fixed6(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn number(v: f64) -> String {
        let mut out = Vec::new();
        push_number(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    /// A small deterministic generator (xorshift), so that failures repeat.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Values that exercise rounding: random bit patterns in the range that matters, random
    /// decimals with up to 9 digits after the point (timings in ms), and values just around
    /// the halfway points of the sixth decimal.
    fn values() -> Vec<f64> {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut vs = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5e-6,
            1.5e-6,
            2.5e-6,
            -2.5e-6,
            0.0000004,
            0.0000005,
            0.0000015,
            24.240823,
            1234567.891,
            8_999_999_999.999,
            9e9,
            1e20,
            -1e20,
            f64::MIN_POSITIVE,
            5e-324,
        ];
        for _ in 0..200_000 {
            let bits = rng.next();
            // Exponents from about 2^-30 to 2^40, either sign.
            let exp = 993 + (bits >> 56) % 70;
            vs.push(f64::from_bits(
                (bits & (1 << 63)) | (exp << 52) | (bits & ((1 << 52) - 1)),
            ));
            let decimal = (rng.next() % 10_000_000_000_000) as f64 / 1e9;
            vs.push(decimal);
            let half = ((rng.next() % 100_000_000) as f64 + 0.5) / 1e6;
            vs.push(half);
            vs.push(f64::from_bits(half.to_bits() + 1));
            vs.push(f64::from_bits(half.to_bits() - 1));
        }
        vs
    }

    #[test]
    fn fixed6_is_std_formatting_of_every_value() {
        for v in values() {
            assert_eq!(fixed(v), format!("{v:.6}"), "{v:e} ({:#x})", v.to_bits());
        }
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(fixed(v), "0.000000");
        }
    }

    #[test]
    fn numbers_are_whole_or_shortest_as_before() {
        // The reference: what the JSON output wrote before this formatter, with std's
        // `fract` and `abs` and the same integer and shortest-float printers.
        fn reference(v: f64) -> String {
            if !v.is_finite() {
                "0".into()
            } else if v.fract() == 0.0 && v.abs() < 1e15 {
                itoa::Buffer::new().format(v as i64).to_owned()
            } else {
                zmij::Buffer::new().format_finite(v).to_owned()
            }
        }
        let mut vs = values();
        vs.extend([1e15, -1e15, 999_999_999_999_999.0, 1e15 - 0.5, f64::NAN]);
        vs.extend([
            1e-4,
            1e-4 - 1e-12,
            1.5e-4,
            1e9,
            1e9 - 0.5,
            999_999_999.999_999,
        ]);
        vs.extend([
            0.000_1,
            0.000_15,
            0.024_897,
            -37.417_796,
            123_456_789.000_001,
        ]);
        // Millionths (ms from a count of ns, the usual value), their neighbours, and the
        // shorter decimals of each width, written by the short path or found not to round-trip.
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..300_000 {
            let n = rng.next() % 2_000_000_000_000_000;
            let digits = 1 + rng.next() % 15;
            for v in [n as f64 / 1e6, (n % 10u64.pow(digits as u32)) as f64 / 1e6] {
                vs.extend([
                    v,
                    -v,
                    f64::from_bits(v.to_bits() + 1),
                    f64::from_bits(v.to_bits().max(1) - 1),
                ]);
            }
        }
        for v in vs {
            assert_eq!(number(v), reference(v), "{v:e}");
        }
        assert_eq!(number(3.0), "3");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(0.25), "0.25");
        // zmij's shortest form round-trips.
        for v in values() {
            let text = number(v);
            assert_eq!(text.parse::<f64>().unwrap(), v, "{text}");
        }
    }
}
