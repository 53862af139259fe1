//! Numbers as the text outputs write them, appended to a byte buffer: no allocation and no
//! libm call (no `round`, `trunc` or `fract`, which are calls on x86-64 without SSE4.1) on the
//! path every sample takes.

use std::io::Write as _;

/// Appends `v` as a JSON lines value: whole numbers below 10^15 without a fraction (as k6
/// writes them), others in their shortest form; not-a-number and infinities as 0.
pub fn push_number(v: f64, out: &mut Vec<u8>) {
    if !v.is_finite() {
        out.push(b'0');
        return;
    }
    if v.abs() < 1e15 {
        // Within ±10^15 the conversion truncates exactly: `v` is whole when it round-trips.
        let i = v as i64;
        if i as f64 == v {
            out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
            return;
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
    out.extend_from_slice(itoa::Buffer::new().format(n / 1_000_000).as_bytes());
    let mut frac = [b'0'; 7];
    frac[0] = b'.';
    let mut f = n % 1_000_000;
    for d in frac[1..].iter_mut().rev() {
        *d = b'0' + (f % 10) as u8;
        f /= 10;
    }
    out.extend_from_slice(&frac);
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
