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

/// Decodes what [`encode`] wrote (plain V2 is accepted too). The sizes the bytes claim are
/// checked against the bytes there are before anything is allocated for them, and the
/// precision must be stampede's (3 significant digits).
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
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
    Deserializer::new()
        .deserialize(&mut plain.as_slice())
        .map_err(|e| format!("a histogram is not a valid HdrHistogram V2 serialisation: {e:?}"))
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
        let pairs = |x: &Histogram<u64>| -> Vec<(u64, u64)> {
            x.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect()
        };
        assert_eq!(pairs(&back), pairs(&h));
        assert_eq!(
            decode(&encode(&Histogram::new(3).unwrap()).unwrap())
                .unwrap()
                .len(),
            0
        );
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
        for cut in 0..real.len() {
            let _ = decode(&base64::engine::general_purpose::STANDARD.encode(&real[..cut]));
        }
        for at in 0..real.len() {
            let mut bent = real.clone();
            bent[at] ^= 0x5a;
            let _ = decode(&base64::engine::general_purpose::STANDARD.encode(&bent));
        }
    }
}
