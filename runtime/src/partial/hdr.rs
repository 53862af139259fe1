//! Trend histograms in a partial result: the HdrHistogram library's V2 serialisation,
//! compressed with DEFLATE (its `V2DeflateSerializer`), in base64 — the format every
//! HdrHistogram implementation (Java, Go, C, Rust…) reads.

use std::io::Read as _;

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

/// Encodes `hist` as base64 of its V2+DEFLATE serialisation.
pub fn encode(hist: &Histogram<u64>) -> Result<String, String> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(hist, &mut bytes)
        .map_err(|e| format!("cannot serialize a histogram: {e:?}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The largest serialised histogram accepted, in bytes of base64, and uncompressed: far
/// above any real one (3 significant digits over 1 ns–1 year is under 600 KiB).
pub const MAX_ENCODED: usize = 16 << 20;

const V2_COOKIE: u32 = 0x1c84_9313;
const V2_DEFLATE_COOKIE: u32 = 0x1c84_9314;
const V2_HEADER: usize = 40;

/// The plain V2 serialisation inside `text` (base64 of V2, or of V2+DEFLATE), its sizes
/// checked against the bytes there are before anything is allocated for them, and its
/// precision stampede's (3 significant digits).
fn plain_v2(text: &str) -> Result<Vec<u8>, String> {
    if text.len() > MAX_ENCODED {
        return Err(format!(
            "a histogram of {} bytes is larger than the {MAX_ENCODED} accepted",
            text.len()
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("a histogram is not valid base64: {e}"))?;
    let plain = match cookie(&bytes, 0)? {
        V2_DEFLATE_COOKIE => inflate(&bytes)?,
        V2_COOKIE => bytes,
        other => {
            return Err(format!(
                "a histogram has an unknown format (cookie {other:#x})"
            ))
        }
    };
    if cookie(&plain, 0)? != V2_COOKIE || plain.len() < V2_HEADER {
        return Err("a compressed histogram does not hold a V2 histogram".into());
    }
    let payload = cookie(&plain, 4)? as usize;
    if payload > plain.len() - V2_HEADER {
        return Err(format!(
            "a histogram claims {payload} bytes of counts but has {}",
            plain.len() - V2_HEADER
        ));
    }
    if cookie(&plain, 12)? != 3 {
        return Err("a histogram is not of 3 significant digits, as stampede records them".into());
    }
    Ok(plain)
}

/// Decodes what [`encode`] wrote (plain V2 is accepted too), with the library.
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let plain = plain_v2(text)?;
    library_decode(&plain)
}

fn library_decode(plain: &[u8]) -> Result<Histogram<u64>, String> {
    Deserializer::new()
        .deserialize(&mut &plain[..])
        .map_err(|e| format!("a histogram is not a valid HdrHistogram V2 serialisation: {e:?}"))
}

/// Adds the samples of the histogram [`encode`] wrote to `into`, bucket by bucket, and returns
/// how many it added. A histogram of stampede's layout (3 significant digits from 1) is read
/// in place, without making a histogram of it: merging a thousand partial results then costs
/// what their counts hold, not a whole array of buckets each (the library's way, which this
/// is checked against); any other layout goes through the library.
pub fn add_into(text: &str, into: &mut Histogram<u64>) -> Result<u64, String> {
    let plain = plain_v2(text)?;
    let low = u64::from_be_bytes(plain[16..24].try_into().expect("8 bytes"));
    if low != 1 {
        let h = library_decode(&plain)?;
        into.add(&h)
            .map_err(|e| format!("a histogram does not add up: {e:?}"))?;
        return Ok(h.len());
    }
    let payload = cookie(&plain, 4)? as usize;
    let mut counts = &plain[V2_HEADER..V2_HEADER + payload];
    let (mut index, mut added) = (0u64, 0u64);
    while !counts.is_empty() {
        let (zz, used) = varint(counts)?;
        counts = &counts[used..];
        let n = ((zz >> 1) as i64) ^ -((zz & 1) as i64);
        if n < 0 {
            // A run of empty buckets.
            let run = n
                .checked_neg()
                .ok_or("a histogram's run of empty buckets overflows")?;
            index = index
                .checked_add(run as u64)
                .ok_or("a histogram's bucket index overflows")?;
            continue;
        }
        if n > 0 {
            into.record_n(value_at(index)?, n as u64)
                .map_err(|e| format!("a histogram's counts do not fit: {e:?}"))?;
            added = added
                .checked_add(n as u64)
                .ok_or("a histogram's count overflows")?;
        }
        index += 1;
    }
    Ok(added)
}

/// The lowest value of bucket `index` in a histogram of 3 significant digits from 1: 2,048
/// sub-buckets, the first half of each bucket after the first repeating the one before at
/// twice the value (HdrHistogram's layout).
fn value_at(index: u64) -> Result<u64, String> {
    const HALF_MAGNITUDE: u32 = 10;
    const HALF: u64 = 1 << HALF_MAGNITUDE;
    let bucket = (index >> HALF_MAGNITUDE) as i64 - 1;
    let (bucket, sub) = if bucket < 0 {
        (0, index & (HALF - 1))
    } else {
        (bucket as u32, (index & (HALF - 1)) + HALF)
    };
    // 11 bits of sub-bucket: a shift past 52 would lose the value.
    if bucket > 52 {
        return Err(format!(
            "a histogram's bucket index {index} is out of range"
        ));
    }
    Ok(sub << bucket)
}

/// HdrHistogram's variable-length integer: 7 bits a byte, high bit set when more follow; the
/// ninth byte, if any, gives all 8 of its bits.
fn varint(bytes: &[u8]) -> Result<(u64, usize), String> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(9) {
        if i == 8 {
            return Ok((value | (u64::from(b) << 56), 9));
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err("a histogram's counts are cut short".into())
}

/// The big-endian u32 at `at`.
fn cookie(bytes: &[u8], at: usize) -> Result<u32, String> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| "a histogram is cut short".to_string())
}

/// The V2 histogram inside a V2+DEFLATE one, at most [`MAX_ENCODED`] bytes of it.
fn inflate(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let len = cookie(bytes, 4)? as usize;
    let body = bytes
        .get(8..8 + len)
        .ok_or("a compressed histogram is cut short")?;
    let mut plain = Vec::new();
    flate2::read::ZlibDecoder::new(body)
        .take(MAX_ENCODED as u64 + 1)
        .read_to_end(&mut plain)
        .map_err(|e| format!("a compressed histogram does not inflate: {e}"))?;
    if plain.len() > MAX_ENCODED {
        return Err(format!(
            "a compressed histogram inflates to more than {MAX_ENCODED} bytes"
        ));
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::V2Serializer;

    #[test]
    fn histograms_round_trip_bucket_for_bucket() {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for v in [1u64, 17, 1_000, 999_999, 12_345_678, 60_000_000_000] {
            h.record_n(v, v % 7 + 1).unwrap();
        }
        let back = decode(&encode(&h).unwrap()).unwrap();
        assert_eq!(back.len(), h.len());
        for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(back.value_at_quantile(q), h.value_at_quantile(q), "q={q}");
        }
        assert_eq!(pairs(&back), pairs(&h));
        assert_eq!(
            decode(&encode(&Histogram::new(3).unwrap()).unwrap())
                .unwrap()
                .len(),
            0
        );
    }

    /// The same buckets, whichever way they were read.
    fn pairs(x: &Histogram<u64>) -> Vec<(u64, u64)> {
        x.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    }

    #[test]
    fn reading_in_place_adds_what_the_library_reads() {
        // Histograms of every shape: sparse, dense, huge values, huge counts, empty.
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..200 {
            let mut h = Histogram::<u64>::new(3).unwrap();
            let n = next() % 2000;
            for _ in 0..n {
                let magnitude = next() % 62;
                let v = (next() >> (63 - magnitude)).max(1);
                let count = if case % 7 == 0 {
                    next() % (1 << 40) + 1
                } else {
                    1
                };
                h.record_n(v, count).unwrap();
            }
            let text = encode(&h).unwrap();
            let mut fast = Histogram::<u64>::new(3).unwrap();
            let added = add_into(&text, &mut fast).unwrap();
            let mut slow = Histogram::<u64>::new(3).unwrap();
            slow.add(decode(&text).unwrap()).unwrap();
            assert_eq!(added, h.len(), "case {case}");
            assert_eq!(pairs(&fast), pairs(&slow), "case {case}");
            assert_eq!(pairs(&fast), pairs(&h), "case {case}");
            // Plain V2 reads the same.
            let mut plain = Vec::new();
            V2Serializer::new().serialize(&h, &mut plain).unwrap();
            let mut again = Histogram::<u64>::new(3).unwrap();
            let text = base64::engine::general_purpose::STANDARD.encode(&plain);
            add_into(&text, &mut again).unwrap();
            assert_eq!(pairs(&again), pairs(&h), "case {case}");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in ["", "!!!", "AAAA", "aGVsbG8gd29ybGQ="] {
            assert!(decode(bad).is_err(), "{bad}");
        }
        // A plain V2 header that claims 4 GiB of counts is refused before any is allocated.
        let mut lie = Vec::new();
        lie.extend_from_slice(&V2_COOKIE.to_be_bytes());
        lie.extend_from_slice(&u32::MAX.to_be_bytes());
        lie.extend_from_slice(&[0; 32]);
        let text = base64::engine::general_purpose::STANDARD.encode(&lie);
        assert!(decode(&text).unwrap_err().contains("claims"));
        // Every truncation and every flipped byte of a real one is handled.
        let mut h = Histogram::<u64>::new(3).unwrap();
        for v in 1..2000u64 {
            h.record(v * v).unwrap();
        }
        let mut real = Vec::new();
        V2Serializer::new().serialize(&h, &mut real).unwrap();
        let mut into = Histogram::<u64>::new(3).unwrap();
        for cut in 0..real.len() {
            let text = base64::engine::general_purpose::STANDARD.encode(&real[..cut]);
            let _ = decode(&text);
            let _ = add_into(&text, &mut into);
        }
        for at in 0..real.len() {
            let mut bent = real.clone();
            bent[at] ^= 0x5a;
            let text = base64::engine::general_purpose::STANDARD.encode(&bent);
            let _ = decode(&text);
            let _ = add_into(&text, &mut into);
        }
    }
}
