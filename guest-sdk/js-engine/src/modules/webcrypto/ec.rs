//! ECDSA and ECDH on P-256, P-384 and P-521. A key is its uncompressed public point
//! (`04 || x || y`) and, for a private key, its scalar `d` (big-endian, the curve's field size);
//! `webcrypto.js` keeps those bytes inside its `CryptoKey`s.

use p256::ecdsa::signature::hazmat::{PrehashVerifier, RandomizedPrehashSigner};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};

use super::{Fail, HostRng};
use crate::modules::crypto;

/// A curve by its WebCrypto name.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    /// The size of the curve's field elements (and scalars) in bytes.
    pub fn field_bytes(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
            Self::P521 => 66,
        }
    }

    pub fn named(name: &str) -> Result<Self, Fail> {
        match name {
            "P-256" => Ok(Self::P256),
            "P-384" => Ok(Self::P384),
            "P-521" => Ok(Self::P521),
            _ => Err(Fail::not_supported(format!("unsupported curve: {name}"))),
        }
    }
}

/// Runs `$body` with `$c` naming the crate of `curve` (`p256`, `p384` or `p521`).
macro_rules! on_curve {
    ($curve:expr, $c:ident => $body:expr) => {
        match $curve {
            Curve::P256 => {
                use p256 as $c;
                $body
            }
            Curve::P384 => {
                use p384 as $c;
                $body
            }
            Curve::P521 => {
                use p521 as $c;
                $body
            }
        }
    };
}

/// A private key: `d` and the public point.
pub type Pair = (Vec<u8>, Vec<u8>);

/// A new random key pair.
pub fn generate(curve: Curve) -> Pair {
    on_curve!(curve, c => {
        let secret = c::SecretKey::random(&mut HostRng);
        let point = secret.public_key().to_encoded_point(false).as_bytes().to_vec();
        (secret.to_bytes().to_vec(), point)
    })
}

/// The uncompressed point of a public key given as a SEC1 point (`raw`, compressed or not) or
/// as an X.509 SubjectPublicKeyInfo (`spki`).
pub fn import_public(curve: Curve, format: &str, data: &[u8]) -> Result<Vec<u8>, Fail> {
    on_curve!(curve, c => {
        let key = match format {
            "raw" => c::PublicKey::from_sec1_bytes(data)
                .map_err(|_| Fail::data("the data is not a point on the curve"))?,
            "spki" => c::PublicKey::from_public_key_der(data)
                .map_err(|e| Fail::data(format!("not an SPKI key of this curve: {e}")))?,
            _ => return Err(Fail::not_supported(format!("unsupported key format: {format}"))),
        };
        Ok(key.to_encoded_point(false).as_bytes().to_vec())
    })
}

/// A private key from PKCS #8 DER (`pkcs8`) or its scalar (`d`, from a JWK).
pub fn import_private(curve: Curve, format: &str, data: &[u8]) -> Result<Pair, Fail> {
    on_curve!(curve, c => {
        let secret = match format {
            "pkcs8" => c::SecretKey::from_pkcs8_der(data)
                .map_err(|e| Fail::data(format!("not a PKCS #8 key of this curve: {e}")))?,
            "d" => c::SecretKey::from_slice(data).map_err(|_| Fail::data("invalid private key d"))?,
            _ => return Err(Fail::not_supported(format!("unsupported key format: {format}"))),
        };
        let point = secret.public_key().to_encoded_point(false).as_bytes().to_vec();
        Ok((secret.to_bytes().to_vec(), point))
    })
}

/// The SubjectPublicKeyInfo DER of a public point.
pub fn export_spki(curve: Curve, point: &[u8]) -> Result<Vec<u8>, Fail> {
    on_curve!(curve, c => {
        let key = c::PublicKey::from_sec1_bytes(point).map_err(|_| Fail::data("invalid point"))?;
        let der = key.to_public_key_der().map_err(|e| Fail::operation(e.to_string()))?;
        Ok(der.as_bytes().to_vec())
    })
}

/// The PKCS #8 DER of a private scalar.
pub fn export_pkcs8(curve: Curve, d: &[u8]) -> Result<Vec<u8>, Fail> {
    on_curve!(curve, c => {
        let key = c::SecretKey::from_slice(d).map_err(|_| Fail::data("invalid private key"))?;
        let der = key.to_pkcs8_der().map_err(|e| Fail::operation(e.to_string()))?;
        Ok(der.as_bytes().to_vec())
    })
}

/// The hash of `data` as ECDSA takes it. A hash shorter than half the field (SHA-1 or SHA-256
/// on P-521) is left-padded to the field's size: the same number, which the `ecdsa` crate
/// otherwise refuses as too short (Go and WebCrypto take it).
fn prehash(curve: Curve, hash: &str, data: &[u8]) -> Result<Vec<u8>, Fail> {
    let mut h = crypto::hash(hash)
        .ok_or_else(|| Fail::not_supported(format!("unsupported hash: {hash}")))?;
    h.update(data);
    let digest = h.finalize().into_vec();
    let size = curve.field_bytes();
    if digest.len() >= size / 2 {
        return Ok(digest);
    }
    let mut padded = vec![0u8; size - digest.len()];
    padded.extend_from_slice(&digest);
    Ok(padded)
}

/// An ECDSA signature of `data` hashed with `hash` (k6's name: `sha256` …), as WebCrypto has
/// it: `r || s`, each the field's size. The nonce is RFC 6979's with added host randomness,
/// so signatures differ from call to call, as k6's (Go's) do.
pub fn sign(curve: Curve, hash: &str, d: &[u8], data: &[u8]) -> Result<Vec<u8>, Fail> {
    let digest = prehash(curve, hash, data)?;
    on_curve!(curve, c => {
        let key = c::ecdsa::SigningKey::from_slice(d).map_err(|_| Fail::data("invalid private key"))?;
        let sig: c::ecdsa::Signature = key
            .sign_prehash_with_rng(&mut HostRng, &digest)
            .map_err(|e| Fail::operation(format!("signing failed: {e}")))?;
        Ok(sig.to_bytes().to_vec())
    })
}

/// Whether `signature` (`r || s`) signs `data` hashed with `hash` for the public `point`.
pub fn verify(
    curve: Curve,
    hash: &str,
    point: &[u8],
    signature: &[u8],
    data: &[u8],
) -> Result<bool, Fail> {
    let digest = prehash(curve, hash, data)?;
    on_curve!(curve, c => {
        let key = c::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| Fail::data("invalid point"))?;
        let Ok(sig) = c::ecdsa::Signature::from_slice(signature) else {
            return Ok(false);
        };
        Ok(key.verify_prehash(&digest, &sig).is_ok())
    })
}

/// ECDH: the x coordinate of `d` times the peer's `point`.
pub fn derive(curve: Curve, d: &[u8], point: &[u8]) -> Result<Vec<u8>, Fail> {
    on_curve!(curve, c => {
        let secret = c::SecretKey::from_slice(d).map_err(|_| Fail::data("invalid private key"))?;
        let peer = c::PublicKey::from_sec1_bytes(point).map_err(|_| Fail::data("invalid public key"))?;
        let shared = c::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
        Ok(shared.raw_secret_bytes().to_vec())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::webcrypto::unhex;

    #[test]
    fn ecdsa_p256_verifies_rfc6979_s_vector() {
        // RFC 6979 A.2.5: P-256, SHA-256, message "sample".
        let d = unhex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
        let (d2, point) = import_private(Curve::P256, "d", &d).unwrap();
        assert_eq!(d2, d);
        assert_eq!(
            point[1..33],
            unhex("60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6")
        );
        // The RFC's signature verifies; ours (randomised) verifies too.
        let rfc = unhex(
            "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716\
             f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8",
        );
        assert!(verify(Curve::P256, "sha256", &point, &rfc, b"sample").unwrap());
        let sig = sign(Curve::P256, "sha256", &d, b"sample").unwrap();
        assert_eq!(sig.len(), 64);
        assert!(verify(Curve::P256, "sha256", &point, &sig, b"sample").unwrap());
        assert!(!verify(Curve::P256, "sha256", &point, &sig, b"samplf").unwrap());
        assert!(!verify(Curve::P256, "sha256", &point, &sig[..10], b"sample").unwrap());
    }

    #[test]
    fn every_curve_signs_derives_and_round_trips_its_formats() {
        for curve in [Curve::P256, Curve::P384, Curve::P521] {
            let (d, point) = generate(curve);
            let (d_b, point_b) = generate(curve);
            for hash in ["sha1", "sha256", "sha384", "sha512"] {
                let sig = sign(curve, hash, &d, b"data").unwrap();
                assert!(
                    verify(curve, hash, &point, &sig, b"data").unwrap(),
                    "{curve:?} {hash}"
                );
                assert!(!verify(curve, hash, &point_b, &sig, b"data").unwrap());
            }
            assert_eq!(
                derive(curve, &d, &point_b).unwrap(),
                derive(curve, &d_b, &point).unwrap()
            );
            let spki = export_spki(curve, &point).unwrap();
            assert_eq!(import_public(curve, "spki", &spki).unwrap(), point);
            let pkcs8 = export_pkcs8(curve, &d).unwrap();
            assert_eq!(
                import_private(curve, "pkcs8", &pkcs8).unwrap(),
                (d.clone(), point.clone())
            );
            assert_eq!(import_public(curve, "raw", &point).unwrap(), point);
        }
        let (_, p256_point) = generate(Curve::P256);
        assert_eq!(
            import_public(Curve::P384, "raw", &p256_point)
                .unwrap_err()
                .name,
            "DataError"
        );
        let spki = export_spki(Curve::P256, &p256_point).unwrap();
        assert_eq!(
            import_public(Curve::P521, "spki", &spki).unwrap_err().name,
            "DataError"
        );
    }

    #[test]
    fn ecdh_p256_matches_a_nist_cavs_vector() {
        // NIST CAVS ECC CDH Primitive (SP 800-56A), P-256, COUNT = 0.
        let peer = unhex(
            "04700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287\
                          db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac",
        );
        let d = unhex("7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534");
        assert_eq!(
            derive(Curve::P256, &d, &peer).unwrap(),
            unhex("46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b")
        );
    }
}
