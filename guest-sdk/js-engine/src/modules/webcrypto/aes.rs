//! AES-GCM, AES-CBC and AES-CTR over raw key bytes, with WebCrypto's checks and k6's error
//! names. The JavaScript side (`webcrypto.js`) has checked the key's algorithm and usages.

use aes::cipher::consts::U16;
use aes::cipher::{BlockEncrypt, BlockSizeUser, KeyInit};
use aes_gcm::aead::{AeadInPlace, Nonce};
use aes_gcm::AesGcm;
use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};

use super::Fail;

/// Runs `$body` with `$cipher` bound to the AES type of a 16, 24 or 32 byte key.
macro_rules! with_aes {
    ($key:expr, $cipher:ident => $body:expr) => {
        match $key.len() {
            16 => {
                type $cipher = aes::Aes128;
                $body
            }
            24 => {
                type $cipher = aes::Aes192;
                $body
            }
            32 => {
                type $cipher = aes::Aes256;
                $body
            }
            n => Err(Fail::operation(format!("invalid key length {n} bytes"))),
        }
    };
}

/// AES-GCM encryption (`encrypt` true) or decryption. The IV is 12 bytes (as in k6: Go's GCM
/// takes no other length); `tag_bits` is 96, 104, 112, 120 or 128, the tag follows the text.
pub fn gcm(
    encrypt: bool,
    key: &[u8],
    iv: &[u8],
    data: &[u8],
    aad: &[u8],
    tag_bits: u32,
) -> Result<Vec<u8>, Fail> {
    let tag_len = match tag_bits {
        96 | 104 | 112 | 120 | 128 => (tag_bits / 8) as usize,
        32 | 64 if encrypt => {
            return Err(Fail::not_supported(
                "tag length 32 and 64 are not supported",
            ))
        }
        _ => {
            return Err(Fail::operation(
                "invalid tag length, accepted values are 96, 104, 112, 120, 128",
            ))
        }
    };
    if iv.len() != 12 {
        return Err(Fail::not_supported("only 12 bytes long iv are supported"));
    }
    if encrypt {
        with_aes!(key, A => {
            let gcm = AesGcm::<A, aes_gcm::aead::consts::U12>::new_from_slice(key).expect("key length checked");
            let mut out = data.to_vec();
            let tag = gcm
                .encrypt_in_place_detached(Nonce::<AesGcm<A, aes_gcm::aead::consts::U12>>::from_slice(iv), aad, &mut out)
                .map_err(|_| Fail::operation("plaintext length is too long"))?;
            // A GCM tag of t bits is the first t bits of the full tag (NIST SP 800-38D, 7.1).
            out.extend_from_slice(&tag[..tag_len]);
            Ok(out)
        })
    } else {
        if data.len() < tag_len {
            return Err(Fail::operation("ciphertext is too short"));
        }
        let (text, tag) = data.split_at(data.len() - tag_len);
        with_aes!(key, A => {
            let gcm = AesGcm::<A, aes_gcm::aead::consts::U12>::new_from_slice(key).expect("key length checked");
            let nonce = Nonce::<AesGcm<A, aes_gcm::aead::consts::U12>>::from_slice(iv);
            // The plaintext is the counter-mode stream from J0 + 1; the tag is then recomputed
            // over the ciphertext by encrypting the plaintext again, and compared to `tag`.
            let mut plain = text.to_vec();
            let mut j1 = [0u8; 16];
            j1[..12].copy_from_slice(iv);
            j1[15] = 2;
            ctr_apply::<A>(key, &j1, 32, &mut plain)?;
            let mut again = plain.clone();
            let full = gcm
                .encrypt_in_place_detached(nonce, aad, &mut again)
                .map_err(|_| Fail::operation("could not decrypt ciphertext"))?;
            if !constant_time_eq(&full[..tag_len], tag) {
                return Err(Fail::operation("could not decrypt ciphertext"));
            }
            Ok(plain)
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// AES-CBC with PKCS#7 padding and a 16 byte IV.
pub fn cbc(encrypt: bool, key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, Fail> {
    if iv.len() != 16 {
        return Err(Fail::operation("iv length is not 16 bytes"));
    }
    with_aes!(key, A => {
        if encrypt {
            let c = cbc::Encryptor::<A>::new_from_slices(key, iv).expect("lengths checked");
            Ok(c.encrypt_padded_vec_mut::<Pkcs7>(data))
        } else {
            let c = cbc::Decryptor::<A>::new_from_slices(key, iv).expect("lengths checked");
            c.decrypt_padded_vec_mut::<Pkcs7>(data)
                .map_err(|_| Fail::operation("invalid padding"))
        }
    })
}

/// AES-CTR: `counter` is the 16 byte initial counter block, whose rightmost `length` bits count
/// (and wrap); the rest is a fixed nonce. Encryption and decryption are the same.
pub fn ctr(key: &[u8], counter: &[u8], length: u32, data: &[u8]) -> Result<Vec<u8>, Fail> {
    let counter: &[u8; 16] = counter
        .try_into()
        .map_err(|_| Fail::operation("counter length is not 16 bytes"))?;
    if length == 0 || length > 128 {
        return Err(Fail::operation(
            "invalid counter length, out of the 0 < x < 128 bounds",
        ));
    }
    // The spec's OperationError: more blocks than the counter has values would reuse one.
    let blocks = data.len().div_ceil(16) as u128;
    if length < 128 && blocks > 1u128 << length {
        return Err(Fail::operation(
            "the data is longer than the counter allows",
        ));
    }
    let mut out = data.to_vec();
    with_aes!(key, A => {
        ctr_apply::<A>(key, counter, length, &mut out)?;
        Ok(out)
    })
}

/// XORs `data` with the AES keystream of `counter`, whose low `length` bits increment.
fn ctr_apply<A: BlockEncrypt + KeyInit + BlockSizeUser<BlockSize = U16>>(
    key: &[u8],
    counter: &[u8; 16],
    length: u32,
    data: &mut [u8],
) -> Result<(), Fail> {
    let cipher = A::new_from_slice(key).map_err(|_| Fail::operation("invalid key length"))?;
    let start = u128::from_be_bytes(*counter);
    let mask = if length == 128 {
        u128::MAX
    } else {
        (1u128 << length) - 1
    };
    let mut count = start & mask;
    let fixed = start & !mask;
    for chunk in data.chunks_mut(16) {
        let mut block = aes::Block::from((fixed | count).to_be_bytes());
        cipher.encrypt_block(&mut block);
        for (d, k) in chunk.iter_mut().zip(block.iter()) {
            *d ^= k;
        }
        count = count.wrapping_add(1) & mask;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::webcrypto::unhex;

    #[test]
    fn gcm_matches_the_nist_vectors() {
        // The GCM specification's (McGrew & Viega) test case 4: AES-128, 96-bit IV, AAD.
        let key = unhex("feffe9928665731c6d6a8f9467308308");
        let iv = unhex("cafebabefacedbaddecaf888");
        let plain = unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
        let aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let want = unhex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091\
5bc94fbc3221a5db94fae95ae7121a47");
        let sealed = gcm(true, &key, &iv, &plain, &aad, 128).unwrap();
        assert_eq!(sealed, want);
        assert_eq!(gcm(false, &key, &iv, &sealed, &aad, 128).unwrap(), plain);
        // A 96-bit tag is the full tag's first 12 bytes, and decrypts.
        let short = gcm(true, &key, &iv, &plain, &aad, 96).unwrap();
        assert_eq!(short, want[..want.len() - 4]);
        assert_eq!(gcm(false, &key, &iv, &short, &aad, 96).unwrap(), plain);
        // A changed bit, a changed AAD: OperationError.
        let mut bad = sealed.clone();
        bad[3] ^= 1;
        assert_eq!(
            gcm(false, &key, &iv, &bad, &aad, 128).unwrap_err().name,
            "OperationError"
        );
        assert_eq!(
            gcm(false, &key, &iv, &short, b"x", 96).unwrap_err().name,
            "OperationError"
        );
        assert_eq!(
            gcm(true, &key, &iv[..8], &plain, &aad, 128)
                .unwrap_err()
                .name,
            "NotSupportedError"
        );
        assert_eq!(
            gcm(true, &key, &iv, &plain, &aad, 64).unwrap_err().name,
            "NotSupportedError"
        );
        assert_eq!(
            gcm(true, &key, &iv, &plain, &aad, 100).unwrap_err().name,
            "OperationError"
        );
    }

    #[test]
    fn cbc_matches_sp800_38a() {
        // NIST SP 800-38A F.2.1, first block, then PKCS#7 padding adds a block.
        let key = unhex("2b7e151628aed2a6abf7158809cf4f3c");
        let iv = unhex("000102030405060708090a0b0c0d0e0f");
        let plain = unhex("6bc1bee22e409f96e93d7e117393172a");
        let out = cbc(true, &key, &iv, &plain).unwrap();
        assert_eq!(out[..16], unhex("7649abac8119b246cee98e9b12e9197d"));
        assert_eq!(out.len(), 32);
        assert_eq!(cbc(false, &key, &iv, &out).unwrap(), plain);
        assert_eq!(
            cbc(false, &key, &iv, &out[..16]).unwrap_err().name,
            "OperationError"
        );
        assert_eq!(
            cbc(true, &key[..10], &iv, &plain).unwrap_err().name,
            "OperationError"
        );
    }

    #[test]
    fn ctr_matches_sp800_38a_and_wraps_its_counter() {
        // NIST SP 800-38A F.5.1 (CTR-AES128.Encrypt), two blocks.
        let key = unhex("2b7e151628aed2a6abf7158809cf4f3c");
        let counter = unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
        let plain = unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        let want = unhex("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff");
        assert_eq!(ctr(&key, &counter, 64, &plain).unwrap(), want);
        assert_eq!(ctr(&key, &counter, 128, &plain).unwrap(), want);
        assert_eq!(ctr(&key, &counter, 64, &want).unwrap(), plain);
        // With an 8-bit counter, 0xff wraps to 0x00 (not 0xfeff + 1 = 0xff00).
        let second = ctr(&key, &counter, 8, &plain).unwrap();
        assert_eq!(second[..16], want[..16]);
        assert_ne!(second[16..], want[16..]);
        let mut wrapped = counter.clone();
        wrapped[15] = 0;
        assert_eq!(ctr(&key, &wrapped, 8, &plain[16..]).unwrap(), second[16..]);
        // Two blocks need two counter values: a 1-bit counter has two, not three.
        assert!(ctr(&key, &counter, 1, &plain).is_ok());
        assert_eq!(
            ctr(&key, &counter, 1, &[0; 33]).unwrap_err().name,
            "OperationError"
        );
        assert_eq!(
            ctr(&key, &counter, 0, &plain).unwrap_err().name,
            "OperationError"
        );
        assert_eq!(
            ctr(&key, &counter[..8], 64, &plain).unwrap_err().name,
            "OperationError"
        );
    }
}
