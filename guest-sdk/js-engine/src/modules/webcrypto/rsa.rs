//! RSA-OAEP, RSA-PSS and RSASSA-PKCS1-v1_5. `webcrypto.js` keeps a private key as its PKCS #8
//! DER and a public key as its SubjectPublicKeyInfo DER; every operation parses them again.

use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, Oaep, Pkcs1v15Sign, Pss, RsaPrivateKey, RsaPublicKey};

use super::{Fail, HostRng};
use crate::modules::crypto;

/// Key sizes `generateKey` accepts: generating a larger key in wasm takes seconds to minutes.
pub const MODULUS_BITS: std::ops::RangeInclusive<usize> = 1024..=4096;

/// A key's public facts: modulus length in bits and public exponent (big-endian bytes).
pub type Facts = (usize, Vec<u8>);

fn facts(key: &RsaPublicKey) -> Facts {
    (key.n().bits(), key.e().to_bytes_be())
}

fn private_der(key: &RsaPrivateKey) -> Result<Vec<u8>, Fail> {
    let der = key
        .to_pkcs8_der()
        .map_err(|e| Fail::operation(e.to_string()))?;
    Ok(der.as_bytes().to_vec())
}

fn public_der(key: &RsaPublicKey) -> Result<Vec<u8>, Fail> {
    let der = key
        .to_public_key_der()
        .map_err(|e| Fail::operation(e.to_string()))?;
    Ok(der.as_bytes().to_vec())
}

fn private(der: &[u8]) -> Result<RsaPrivateKey, Fail> {
    RsaPrivateKey::from_pkcs8_der(der)
        .map_err(|e| Fail::data(format!("not a PKCS #8 RSA key: {e}")))
}

fn public(der: &[u8]) -> Result<RsaPublicKey, Fail> {
    RsaPublicKey::from_public_key_der(der)
        .map_err(|e| Fail::data(format!("not an SPKI RSA key: {e}")))
}

/// A new key pair of `bits` with public exponent `exponent`: (PKCS #8, SPKI).
pub fn generate(bits: usize, exponent: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Fail> {
    if !MODULUS_BITS.contains(&bits) {
        return Err(Fail::operation(format!(
            "modulusLength {bits} is not supported: use {} to {} bits",
            MODULUS_BITS.start(),
            MODULUS_BITS.end()
        )));
    }
    let e = BigUint::from_bytes_be(exponent);
    let odd = exponent.last().is_some_and(|b| b & 1 == 1);
    if exponent.len() > 4 || e < BigUint::from(3u32) || !odd {
        return Err(Fail::operation(
            "invalid public exponent: use an odd number from 3 to 2^31-1 (65537)",
        ));
    }
    let key = RsaPrivateKey::new_with_exp(&mut HostRng, bits, &e)
        .map_err(|e| Fail::operation(format!("could not generate the key: {e}")))?;
    Ok((private_der(&key)?, public_der(&key.to_public_key())?))
}

/// Checks a PKCS #8 private key and gives its DER as this engine writes it, and its facts.
pub fn import_private(der: &[u8]) -> Result<(Vec<u8>, Facts), Fail> {
    let key = private(der)?;
    Ok((private_der(&key)?, facts(&key.to_public_key())))
}

/// The SPKI DER of the public half of a PKCS #8 key.
pub fn public_of(der: &[u8]) -> Result<Vec<u8>, Fail> {
    public_der(&private(der)?.to_public_key())
}

/// Checks an SPKI public key and gives its DER and facts.
pub fn import_public(der: &[u8]) -> Result<(Vec<u8>, Facts), Fail> {
    let key = public(der)?;
    Ok((public_der(&key)?, facts(&key)))
}

/// A key from a JWK's numbers (big-endian bytes): `[n, e]` for a public key, `[n, e, d, p, q]`
/// (or `[n, e, d]`) for a private one. Gives its DER (PKCS #8 or SPKI) and facts.
pub fn from_jwk(parts: &[Vec<u8>]) -> Result<(Vec<u8>, Facts), Fail> {
    let n = |i: usize| BigUint::from_bytes_be(&parts[i]);
    match parts.len() {
        2 => {
            let key = RsaPublicKey::new(n(0), n(1))
                .map_err(|e| Fail::data(format!("invalid RSA JWK: {e}")))?;
            Ok((public_der(&key)?, facts(&key)))
        }
        3 | 5 => {
            let primes = if parts.len() == 5 {
                vec![n(3), n(4)]
            } else {
                vec![]
            };
            let mut key = RsaPrivateKey::from_components(n(0), n(1), n(2), primes)
                .map_err(|e| Fail::data(format!("invalid RSA JWK: {e}")))?;
            key.validate()
                .map_err(|e| Fail::data(format!("invalid RSA JWK: {e}")))?;
            key.precompute()
                .map_err(|e| Fail::data(format!("invalid RSA JWK: {e}")))?;
            Ok((private_der(&key)?, facts(&key.to_public_key())))
        }
        _ => Err(Fail::data(
            "an RSA JWK needs n and e, and d, p and q for a private key",
        )),
    }
}

/// A key's JWK numbers: `[n, e]`, or `[n, e, d, p, q, dp, dq, qi]` for a private key.
pub fn to_jwk(der: &[u8], is_private: bool) -> Result<Vec<Vec<u8>>, Fail> {
    if !is_private {
        let key = public(der)?;
        return Ok(vec![key.n().to_bytes_be(), key.e().to_bytes_be()]);
    }
    let key = private(der)?;
    let [p, q] = key.primes() else {
        return Err(Fail::not_supported(
            "keys of more than two primes cannot be exported as JWK",
        ));
    };
    let one = BigUint::from(1u32);
    let qi = key
        .crt_coefficient()
        .ok_or_else(|| Fail::operation("the key has no CRT coefficient"))?;
    Ok(vec![
        key.n().to_bytes_be(),
        key.e().to_bytes_be(),
        key.d().to_bytes_be(),
        p.to_bytes_be(),
        q.to_bytes_be(),
        (key.d() % (p - &one)).to_bytes_be(),
        (key.d() % (q - &one)).to_bytes_be(),
        qi.to_bytes_be(),
    ])
}

fn oaep<D>(label: &[u8]) -> Result<Oaep, Fail>
where
    D: 'static + digest::Digest + digest::DynDigest + Send + Sync,
{
    if label.is_empty() {
        return Ok(Oaep::new::<D>());
    }
    // The rsa crate takes a label as text.
    let label = std::str::from_utf8(label)
        .map_err(|_| Fail::not_supported("an RSA-OAEP label must be UTF-8 text here"))?;
    Ok(Oaep::new_with_label::<D, _>(label))
}

/// RSA-OAEP encryption with the public key `spki`.
pub fn encrypt(hash: &str, spki: &[u8], label: &[u8], data: &[u8]) -> Result<Vec<u8>, Fail> {
    let key = public(spki)?;
    with_hash!(hash, D => key
        .encrypt(&mut HostRng, oaep::<D>(label)?, data)
        .map_err(|e| Fail::operation(format!("could not encrypt: {e}"))))
}

/// RSA-OAEP decryption with the private key `pkcs8`.
pub fn decrypt(hash: &str, pkcs8: &[u8], label: &[u8], data: &[u8]) -> Result<Vec<u8>, Fail> {
    let key = private(pkcs8)?;
    with_hash!(hash, D => key
        .decrypt_blinded(&mut HostRng, oaep::<D>(label)?, data)
        .map_err(|_| Fail::operation("could not decrypt the data")))
}

fn digest_of(hash: &str, data: &[u8]) -> Result<Vec<u8>, Fail> {
    let mut h = crypto::hash(hash)
        .ok_or_else(|| Fail::not_supported(format!("unsupported hash: {hash}")))?;
    h.update(data);
    Ok(h.finalize().into_vec())
}

/// A signature: `salt` is `Some(saltLength)` for RSA-PSS, `None` for RSASSA-PKCS1-v1_5.
pub fn sign(hash: &str, pkcs8: &[u8], salt: Option<usize>, data: &[u8]) -> Result<Vec<u8>, Fail> {
    let key = private(pkcs8)?;
    let hashed = digest_of(hash, data)?;
    let signed = with_hash!(hash, D => Ok(match salt {
        Some(len) => key.sign_with_rng(&mut HostRng, Pss::new_with_salt::<D>(len), &hashed),
        None => key.sign_with_rng(&mut HostRng, Pkcs1v15Sign::new::<D>(), &hashed),
    }))?;
    signed.map_err(|e| Fail::operation(format!("could not sign: {e}")))
}

/// Whether `signature` signs `data`, as [`sign`] makes it.
pub fn verify(
    hash: &str,
    spki: &[u8],
    salt: Option<usize>,
    signature: &[u8],
    data: &[u8],
) -> Result<bool, Fail> {
    let key = public(spki)?;
    let hashed = digest_of(hash, data)?;
    with_hash!(hash, D => Ok(match salt {
        Some(len) => key.verify(Pss::new_with_salt::<D>(len), &hashed, signature).is_ok(),
        None => key.verify(Pkcs1v15Sign::new::<D>(), &hashed, signature).is_ok(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sign_verify_encrypt_and_round_trip_as_jwk() {
        let (pkcs8, spki) = generate(1024, &[1, 0, 1]).unwrap();
        let (_, (bits, e)) = import_private(&pkcs8).unwrap();
        assert_eq!((bits, e.as_slice()), (1024, &[1u8, 0, 1][..]));
        assert_eq!(public_of(&pkcs8).unwrap(), spki);
        for hash in ["sha1", "sha256", "sha384", "sha512"] {
            for salt in [None, Some(0), Some(32)] {
                let sig = sign(hash, &pkcs8, salt, b"data").unwrap();
                assert!(
                    verify(hash, &spki, salt, &sig, b"data").unwrap(),
                    "{hash} {salt:?}"
                );
                assert!(!verify(hash, &spki, salt, &sig, b"datb").unwrap());
            }
        }
        let sealed = encrypt("sha256", &spki, b"label", b"secret").unwrap();
        assert_eq!(
            decrypt("sha256", &pkcs8, b"label", &sealed).unwrap(),
            b"secret"
        );
        assert_eq!(
            decrypt("sha256", &pkcs8, b"other", &sealed)
                .unwrap_err()
                .name,
            "OperationError"
        );
        assert_eq!(
            decrypt("sha1", &pkcs8, b"label", &sealed).unwrap_err().name,
            "OperationError"
        );
        // JWK numbers give the same keys back.
        let parts = to_jwk(&pkcs8, true).unwrap();
        assert_eq!(parts.len(), 8);
        assert_eq!(from_jwk(&parts[..5]).unwrap().0, pkcs8);
        assert_eq!(from_jwk(&to_jwk(&spki, false).unwrap()).unwrap().0, spki);
        assert_eq!(
            generate(512, &[1, 0, 1]).unwrap_err().name,
            "OperationError"
        );
        assert_eq!(generate(1024, &[2]).unwrap_err().name, "OperationError");
        assert_eq!(import_public(b"nonsense").unwrap_err().name, "DataError");
    }

    #[test]
    fn openssl_signatures_and_ciphertexts_are_understood() {
        // A 1024-bit key made by OpenSSL 3 and what `openssl pkeyutl` made with it from the
        // message "stampede": an RSASSA-PKCS1-v1_5 SHA-256 signature (deterministic, so ours
        // must be the same bytes), an RSA-PSS SHA-256 signature with a 32-byte salt and an
        // RSA-OAEP SHA-256 ciphertext (both random: ours verify and decrypt them).
        let pkcs8 = base64_decode(OPENSSL_KEY);
        let spki = public_of(&pkcs8).unwrap();
        let sig = sign("sha256", &pkcs8, None, b"stampede").unwrap();
        assert_eq!(crate::modules::crypto::hex(&sig), OPENSSL_PKCS1_SHA256);
        let pss = base64_decode(OPENSSL_PSS_SHA256);
        assert!(verify("sha256", &spki, Some(32), &pss, b"stampede").unwrap());
        assert!(!verify("sha256", &spki, Some(20), &pss, b"stampede").unwrap());
        let sealed = base64_decode(OPENSSL_OAEP_SHA256);
        assert_eq!(
            decrypt("sha256", &pkcs8, b"", &sealed).unwrap(),
            b"stampede"
        );
    }

    fn base64_decode(s: &str) -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }

    const OPENSSL_KEY: &str = "MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAL3XZOeLfKpWdWAwqkBXoAndn4EzQqlwrAiS5gyQCXdlRO4RDi8AYupeDFiPAZ6UrFnIH7dVCCBYPMO5QSMAzhan1Yty8CzH03iL/SwR9hVlj+SkWdqngl+tfkojz4jGRtxWUE8zRSwfEb6m40mgO2jLeUv7hUGqY+AO+zadGmepAgMBAAECgYBKWYhwUqXhhHj10jlrd6X7Fyw4Cp5qA/GsbfPhKaw7cZL8dfuLFuimh2zoZiGpPOr/QqyBPbEwEb7CnNRQ5CjR8s4v7rb+LqApQcwYlrOS6SkICLgV96LVnTd+qnB7gce291w3P6AWIhY3iCWAx7jGsM3Rmu+gGNy9miLPccy8fQJBAPfVExSJcC261r2sy1IUfD+pNmOYCicbd9+cyo7NZrd6vX+Eux8kDuhTsVImooTStlJcDOn9M6qO7o9AEVlu1qcCQQDEGQ73MTKoItOYlMFPEJvsZvP5FV5xX4/seD648+kqAQEtCaZfUbgliK+AwFqTOtVEKGIUTUnEnk/LHBDr5ekvAkEA07MRX2OfjZCiStfFvlF9aSv0J9MCKTHPjhXy+VT/vw97u+f3p7w3d8G2IMSb4vXThDrZVS9S6Qi7Q2ao60pA1QJBAJ6HN38EqdQdG3wtPb1iSvspG7DQ4qG6xIpBh0tT+7n2R/IV7AcA9GJ7ho4Kcu61UDWig++vr6Qg65biYJekLQcCQFIAbN67a0vF/rQFqvX4YXqjJOxzx4nycxx5PG5Nfahomjag8CqB6dxSOytgdlqghOVjirwcnCG8X/tDUTsxZrU=";
    const OPENSSL_PKCS1_SHA256: &str = "9a749c2041debd431f8d7df2921c3da9ad772f56288d739260c6854c5ff7a7d2f3ca9d3dd4cb87b21ca257f2c17fc2c5a28a1e6dfdb6fad22754f9dc5d23ccb4318a8455e166ffd25dd7e1dde10e55ddfed6602afd3f95e3c9d8c452b5d35130ea73efd34cf24186626121e35e6d907a62e8c9b7035a2142a807bbc187d16bcb";
    const OPENSSL_PSS_SHA256: &str = "rFTFGZ1kk4YimwoD1A92ETa3fk2iPPPa/qx9fpatrnfawjQmyh2uTTl8Ym6r4VnAfsFoH8fN1hYGRfF0cSwAqA1m7NAJ4KNrKl51g0eTL8ZeakcjVcCMkTJ7OzM50EgYqYJSPHnF/M42PCKVWdYhRWSGze8ondIaZPijGhgd02w=";
    const OPENSSL_OAEP_SHA256: &str = "JXoWGiYGn2jAuffVqMkYitVWWcO4+KUS8OHSUvE3+vIFrFGaL1Sp6nlds4u9GPPSnjmg7vryU9hqf/mIBdNc3aLgXlHrTfM97yQk9EvlugI+aE03s6Lcp73FvYoYa/SOahAMW5ndlN6XexQJBCN8+angox23uVKlUjAJEdEU4VU=";
}
