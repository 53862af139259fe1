//! PBKDF2 and HKDF: `deriveBits` from a raw secret.

use super::Fail;

/// The most PBKDF2 iterations a script may ask for. k6 has no bound; at about a microsecond
/// an iteration in the engine, ten million keep one `deriveBits` to seconds, not hours.
pub const MAX_ITERATIONS: u64 = 10_000_000;

/// The longest PBKDF2 output, in bytes (k6 has no bound either).
pub const MAX_PBKDF2_BYTES: usize = 1 << 16;

fn byte_length(bits: u64) -> Result<usize, Fail> {
    if bits == 0 || !bits.is_multiple_of(8) {
        return Err(Fail::operation(format!(
            "length must be a positive multiple of 8, not {bits}"
        )));
    }
    Ok((bits / 8) as usize)
}

/// PBKDF2 with HMAC-`hash`: `bits` of key from `password` and `salt`.
pub fn pbkdf2(
    hash: &str,
    password: &[u8],
    salt: &[u8],
    iterations: u64,
    bits: u64,
) -> Result<Vec<u8>, Fail> {
    if iterations == 0 {
        return Err(Fail::operation("number of iterations can't be 0"));
    }
    if iterations > MAX_ITERATIONS {
        return Err(Fail::operation(format!(
            "{iterations} PBKDF2 iterations asked, {MAX_ITERATIONS} at most here"
        )));
    }
    let len = byte_length(bits)?;
    if len > MAX_PBKDF2_BYTES {
        return Err(Fail::operation(format!(
            "{len} bytes of PBKDF2 output asked, {MAX_PBKDF2_BYTES} at most"
        )));
    }
    let mut out = vec![0u8; len];
    with_hash!(hash, D => {
        pbkdf2::pbkdf2_hmac::<D>(password, salt, iterations as u32, &mut out);
        Ok(out)
    })
}

/// HKDF (RFC 5869) with `hash`: `bits` of key from `ikm`, `salt` and `info`.
pub fn hkdf(hash: &str, ikm: &[u8], salt: &[u8], info: &[u8], bits: u64) -> Result<Vec<u8>, Fail> {
    let len = byte_length(bits)?;
    with_hash!(hash, D => {
        let mut out = vec![0u8; len];
        hkdf::Hkdf::<D>::new(Some(salt), ikm)
            .expand(info, &mut out)
            .map_err(|_| Fail::operation(format!("{len} bytes are more than HKDF gives with this hash")))?;
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::crypto::hex;
    use crate::modules::webcrypto::unhex;

    #[test]
    fn pbkdf2_matches_rfc6070_and_rfc7914() {
        // RFC 6070 test 2 (SHA-1, 2 iterations) and RFC 7914 section 11 (SHA-256, 1 iteration).
        let sha1 = pbkdf2("sha1", b"password", b"salt", 2, 160).unwrap();
        assert_eq!(hex(&sha1), "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
        let sha256 = pbkdf2("sha256", b"passwd", b"salt", 1, 512).unwrap();
        assert_eq!(
            hex(&sha256),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
        assert_eq!(
            pbkdf2("sha256", b"p", b"s", 0, 256).unwrap_err().name,
            "OperationError"
        );
        assert_eq!(
            pbkdf2("sha256", b"p", b"s", MAX_ITERATIONS + 1, 256)
                .unwrap_err()
                .name,
            "OperationError"
        );
        assert_eq!(
            pbkdf2("sha256", b"p", b"s", 1, 12).unwrap_err().name,
            "OperationError"
        );
        assert_eq!(
            pbkdf2("md5", b"p", b"s", 1, 128).unwrap_err().name,
            "NotSupportedError"
        );
    }

    #[test]
    fn hkdf_matches_rfc5869() {
        // RFC 5869 A.1 (SHA-256, 42 bytes).
        let okm = hkdf(
            "sha256",
            &unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
            &unhex("000102030405060708090a0b0c"),
            &unhex("f0f1f2f3f4f5f6f7f8f9"),
            42 * 8,
        )
        .unwrap();
        assert_eq!(
            hex(&okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
        assert_eq!(
            hkdf("sha256", b"k", b"", b"", 255 * 256 + 8)
                .unwrap_err()
                .name,
            "OperationError"
        );
    }
}
