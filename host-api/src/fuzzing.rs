//! Entry points for fuzzing what a peer sends the HTTP client and the client then interprets:
//! `Set-Cookie` lines into a jar, `WWW-Authenticate` digest challenges, and compressed bodies.
//! The cargo-fuzz target `http_semantics` in `fuzz/` calls [`http_semantics`]; a short
//! deterministic run of it is part of `cargo test`. None may panic, whatever the bytes.

use std::time::{Duration, SystemTime};

use crate::http::auth::{Challenge, Credentials};
use crate::http::cookies::{CookieJar, NewCookie};
use crate::http::decompress::{decode, Coding};

/// The first byte picks what the rest is fed to.
pub fn http_semantics(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => cookies(rest),
        1 => digest(rest),
        _ => decompress(which, rest),
    }
}

/// Lines of `Set-Cookie` stored for a few URLs, then every URL's cookies: the jar's invariants
/// hold (what is sent is what was stored, within bounds).
fn cookies(data: &[u8]) {
    let urls = [
        "http://example.com/a/b",
        "https://www.example.com/",
        "http://127.0.0.1:8080/x",
        "http://[::1]/",
    ];
    let urls: Vec<url::Url> = urls.iter().map(|u| url::Url::parse(u).unwrap()).collect();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut jar = CookieJar::new();
    for (i, line) in data.split(|b| *b == b'\n').enumerate() {
        if let Some(c) = NewCookie::parse(line) {
            let _ = jar.store(&urls[i % urls.len()], c, now);
        }
    }
    assert!(jar.len() <= crate::http::cookies::MAX_COOKIES);
    for u in &urls {
        for (name, value) in jar.cookies_for(u, now) {
            assert!(!name.is_empty());
            assert!(name.len() + value.len() <= crate::http::cookies::MAX_COOKIE_SIZE);
        }
        jar.remove_for(u, None, now);
        assert!(jar.cookies_for(u, now).is_empty());
    }
}

/// A `WWW-Authenticate` value answered as a digest challenge.
fn digest(data: &[u8]) {
    if let Some(c) = Challenge::pick(std::iter::once(data)) {
        let creds = Credentials {
            user: "u".into(),
            password: "p".into(),
        };
        let _ = c.answer(&creds, "GET", "/x?y", b"body", "cnonce");
    }
}

/// Bytes decoded as the codings `which` picks, never past a small limit.
fn decompress(which: u8, data: &[u8]) {
    let all = [Coding::Gzip, Coding::Deflate, Coding::Br, Coding::Zstd];
    let first = all[usize::from(which >> 2) % 4];
    let second = all[usize::from(which >> 4) % 4];
    let codings: &[Coding] = if which & 0x40 != 0 {
        &[first, second]
    } else {
        &[first]
    };
    if let Ok(body) = decode(data, codings, 1 << 16, None) {
        assert!(body.len() <= 1 << 16);
    }
}

#[cfg(test)]
mod tests {
    //! A short, deterministic fuzz: seeds, then random mutations of them.

    use super::*;

    #[test]
    fn seeds_and_mutations_never_panic() {
        let seeds: Vec<Vec<u8>> = vec![
            b"\x00a=1; Path=/; Domain=example.com\nb=2; Max-Age=-1\nc=\"q\"; Secure; Expires=Wed, 21 Oct 2015 07:28:00 GMT".to_vec(),
            b"\x01Digest realm=\"r\", nonce=\"n\", qop=\"auth,auth-int\", algorithm=SHA-256-sess, userhash=true".to_vec(),
            b"\x02\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcbH\xcd\xc9\xc9\x07\x00\x86\xa6\x106\x05\x00\x00\x00".to_vec(),
            b"\x42\x28\xb5\x2f\xfd\x00\x58\x29\x00\x00hello".to_vec(),
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for seed in &seeds {
            http_semantics(seed);
            for _ in 0..300 {
                let mut input = seed.clone();
                for _ in 0..1 + next() % 4 {
                    let i = (next() as usize) % input.len();
                    match next() % 3 {
                        0 => input[i] = next() as u8,
                        1 => input.insert(i, next() as u8),
                        _ => {
                            input.remove(i);
                            if input.is_empty() {
                                input.push(0);
                            }
                        }
                    }
                }
                http_semantics(&input);
            }
        }
    }
}
