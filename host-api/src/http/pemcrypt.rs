//! Keys encrypted with OpenSSL's legacy PEM encryption (`Proc-Type: 4,ENCRYPTED` and
//! `DEK-Info`), the form k6's `tlsAuth[].password` decrypts: AES-128/192/256-CBC, DES-EDE3-CBC
//! or DES-CBC, keyed with `EVP_BytesToKey` (MD5, one round, the IV's first 8 bytes as salt).
//! Encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`) is refused, as k6 refuses it.

use base64::Engine as _;
use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use md5::Digest as _;

/// The key of `pem` decrypted with `password`, as unencrypted PEM. A key that is not
/// encrypted comes back as it is.
pub(crate) fn decrypt(pem: &str, password: &str) -> Result<String, String> {
    let begin = pem
        .lines()
        .position(|l| l.starts_with("-----BEGIN "))
        .ok_or("key: no PEM block in it")?;
    let lines: Vec<&str> = pem.lines().skip(begin).map(str::trim).collect();
    let label = lines[0]
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or("key: malformed PEM header")?;
    if label == "ENCRYPTED PRIVATE KEY" {
        return Err(
            "key: encrypted PKCS#8 keys are not supported (k6 does not support them \
                    either): decrypt it with `openssl pkcs8` or use legacy PEM encryption"
                .into(),
        );
    }
    let dek = lines
        .iter()
        .find_map(|l| l.strip_prefix("DEK-Info:"))
        .map(str::trim);
    let Some(dek) = dek else {
        return Ok(pem.to_owned());
    };
    let (cipher, iv_hex) = dek.split_once(',').ok_or("key: malformed DEK-Info")?;
    let iv = from_hex(iv_hex.trim()).ok_or("key: DEK-Info has an invalid IV")?;
    let body: String = lines[1..]
        .iter()
        .take_while(|l| !l.starts_with("-----END "))
        .filter(|l| !l.contains(':') && !l.is_empty())
        .copied()
        .collect();
    let data = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| format!("key: invalid base64: {e}"))?;
    let plain = match cipher.trim() {
        "AES-128-CBC" => cbc_decrypt::<aes::Aes128>(&data, password, &iv, 16),
        "AES-192-CBC" => cbc_decrypt::<aes::Aes192>(&data, password, &iv, 24),
        "AES-256-CBC" => cbc_decrypt::<aes::Aes256>(&data, password, &iv, 32),
        "DES-EDE3-CBC" => cbc_decrypt::<des::TdesEde3>(&data, password, &iv, 24),
        "DES-CBC" => cbc_decrypt::<des::Des>(&data, password, &iv, 8),
        other => return Err(format!("key: unsupported PEM cipher {other}")),
    }
    .ok_or("key: wrong password (the decrypted key is not valid)")?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(plain);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in encoded.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    Ok(out)
}

fn cbc_decrypt<C>(data: &[u8], password: &str, iv: &[u8], key_len: usize) -> Option<Vec<u8>>
where
    C: cbc::cipher::BlockDecrypt + cbc::cipher::BlockCipher + cbc::cipher::KeyInit,
    cbc::Decryptor<C>: KeyIvInit,
{
    let salt = iv.get(..8)?;
    let key = bytes_to_key(password.as_bytes(), salt, key_len);
    let dec = cbc::Decryptor::<C>::new_from_slices(&key, iv).ok()?;
    dec.decrypt_padded_vec_mut::<Pkcs7>(data).ok()
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one round.
fn bytes_to_key(password: &[u8], salt: &[u8], len: usize) -> Vec<u8> {
    let mut key = Vec::with_capacity(len + 16);
    let mut prev: Vec<u8> = Vec::new();
    while key.len() < len {
        let mut h = md5::Md5::new();
        h.update(&prev);
        h.update(password);
        h.update(salt);
        prev = h.finalize().to_vec();
        key.extend_from_slice(&prev);
    }
    key.truncate(len);
    key
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_key_derivation() {
        // `openssl enc -aes-128-cbc -k secret -S 0102030405060708 -P -md md5` prints this key.
        let key = bytes_to_key(b"secret", &[1, 2, 3, 4, 5, 6, 7, 8], 16);
        assert_eq!(key, from_hex("C9E5A1BD216DBE1317E230CEF48F38EE").unwrap());
        assert_eq!(
            bytes_to_key(b"secret", &[1, 2, 3, 4, 5, 6, 7, 8], 32)[..16],
            key[..]
        );
    }

    #[test]
    fn unencrypted_keys_pass_and_pkcs8_encryption_is_refused() {
        let plain = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(decrypt(plain, "x").unwrap(), plain);
        let enc =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(decrypt(enc, "x").unwrap_err().contains("not supported"));
    }
}
