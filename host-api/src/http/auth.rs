//! HTTP authentication with a URL's credentials (`http://user:pass@host/`), as k6 does it:
//!
//! - **Basic** (the default): credentials in the URL become `Authorization: Basic …` on that
//!   request, unless the script set `Authorization` itself (Go's client does the same).
//! - **Digest** (RFC 7616, k6's `auth: 'digest'`): the request goes without credentials; when
//!   the answer is a `401` with a `Digest` challenge, it goes again with the answer to the
//!   challenge. Both are requests of their own in the metrics, the `401` counted as expected
//!   (as in k6). `MD5`, `SHA-256`, `SHA-512-256` and their `-sess` forms are answered, with
//!   `qop=auth` (or `auth-int`, or none, as the server offers); the strongest algorithm the
//!   server offers wins.
//!
//! In both cases the credentials are taken off the URL: they never reach the request line, the
//! `url` tag or the `Referer` of a redirect.

use std::fmt::Write as _;

use http::HeaderValue;
use md5::Digest as _;

/// The scheme a request authenticates with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthScheme {
    /// `Authorization: Basic` from the URL's credentials (also when the script says nothing).
    #[default]
    Basic,
    /// RFC 7616 digest, after a `401` challenge.
    Digest,
}

/// Credentials taken off a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) user: String,
    pub(crate) password: String,
}

impl Credentials {
    /// Takes the credentials off `url` (percent-decoded), if it has any.
    pub(crate) fn take_from(url: &mut url::Url) -> Option<Self> {
        if url.username().is_empty() && url.password().is_none() {
            return None;
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let creds = Self {
            user: decode(url.username()),
            password: decode(url.password().unwrap_or("")),
        };
        let _ = url.set_username("");
        let _ = url.set_password(None);
        Some(creds)
    }

    /// `Basic base64(user:password)`.
    pub(crate) fn basic(&self) -> HeaderValue {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.user, self.password));
        HeaderValue::from_str(&format!("Basic {token}")).expect("base64 is a valid header value")
    }
}

/// A digest hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Algorithm {
    Md5,
    Sha256,
    Sha512_256,
}

impl Algorithm {
    fn hash(self, data: &[u8]) -> String {
        match self {
            Algorithm::Md5 => hex(&md5::Md5::digest(data)),
            Algorithm::Sha256 => hex(&sha2::Sha256::digest(data)),
            Algorithm::Sha512_256 => hex(&sha2::Sha512_256::digest(data)),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha512_256 => "SHA-512-256",
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A `Digest` challenge from `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    algorithm: Algorithm,
    sess: bool,
    /// `auth`, `auth-int`, or `None` for RFC 2069's form without qop.
    qop: Option<&'static str>,
    userhash: bool,
}

impl Challenge {
    /// The strongest `Digest` challenge stampede can answer among `WWW-Authenticate` values.
    pub(crate) fn pick<'a>(values: impl Iterator<Item = &'a [u8]>) -> Option<Self> {
        values
            .filter_map(|v| std::str::from_utf8(v).ok())
            .flat_map(challenges)
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("digest"))
            .filter_map(|(_, params)| Self::from_params(&params))
            .max_by_key(|c| c.algorithm)
    }

    fn from_params(params: &[(String, String)]) -> Option<Self> {
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let (algorithm, sess) = match get("algorithm")
            .unwrap_or("MD5")
            .to_ascii_uppercase()
            .as_str()
        {
            "MD5" => (Algorithm::Md5, false),
            "MD5-SESS" => (Algorithm::Md5, true),
            "SHA-256" => (Algorithm::Sha256, false),
            "SHA-256-SESS" => (Algorithm::Sha256, true),
            "SHA-512-256" => (Algorithm::Sha512_256, false),
            "SHA-512-256-SESS" => (Algorithm::Sha512_256, true),
            _ => return None,
        };
        let qop = match get("qop") {
            None => None,
            Some(list) => {
                let offered: Vec<&str> = list.split(',').map(str::trim).collect();
                if offered.iter().any(|q| q.eq_ignore_ascii_case("auth")) {
                    Some("auth")
                } else if offered.iter().any(|q| q.eq_ignore_ascii_case("auth-int")) {
                    Some("auth-int")
                } else {
                    return None;
                }
            }
        };
        Some(Self {
            realm: get("realm").unwrap_or("").to_owned(),
            nonce: get("nonce")?.to_owned(),
            opaque: get("opaque").map(str::to_owned),
            algorithm,
            sess,
            qop,
            userhash: get("userhash").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        })
    }

    /// The `Authorization` answer for a request of `method` to `uri` (its request target)
    /// with `body`, using the client nonce `cnonce` (nonce count 1: one answer per challenge).
    pub(crate) fn answer(
        &self,
        creds: &Credentials,
        method: &str,
        uri: &str,
        body: &[u8],
        cnonce: &str,
    ) -> Option<HeaderValue> {
        let h = |s: &str| self.algorithm.hash(s.as_bytes());
        let nc = "00000001";
        let mut ha1 = h(&format!("{}:{}:{}", creds.user, self.realm, creds.password));
        if self.sess {
            ha1 = h(&format!("{ha1}:{}:{cnonce}", self.nonce));
        }
        let ha2 = match self.qop {
            Some("auth-int") => h(&format!("{method}:{uri}:{}", self.algorithm.hash(body))),
            _ => h(&format!("{method}:{uri}")),
        };
        let response = match self.qop {
            Some(qop) => h(&format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", self.nonce)),
            None => h(&format!("{ha1}:{}:{ha2}", self.nonce)),
        };
        let username = if self.userhash {
            h(&format!("{}:{}", creds.user, self.realm))
        } else {
            quote(&creds.user)
        };
        let mut v = format!(
            "Digest username=\"{username}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", algorithm={}{}, response=\"{response}\"",
            quote(&self.realm),
            quote(&self.nonce),
            quote(uri),
            self.algorithm.name(),
            if self.sess { "-sess" } else { "" },
        );
        if let Some(qop) = self.qop {
            let _ = write!(v, ", qop={qop}, nc={nc}, cnonce=\"{cnonce}\"");
        }
        if let Some(opaque) = &self.opaque {
            let _ = write!(v, ", opaque=\"{}\"", quote(opaque));
        }
        if self.userhash {
            v.push_str(", userhash=true");
        }
        HeaderValue::from_str(&v).ok()
    }
}

/// Escapes `"` and `\` for a quoted-string.
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A fresh client nonce: 16 bytes of hex. Not a secret (the password never leaves), only
/// different per answer.
pub(crate) fn cnonce() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::with_capacity(32);
    for _ in 0..2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        let _ = write!(out, "{:016x}", h.finish());
    }
    out
}

/// Splits a `WWW-Authenticate` value into its challenges: `(scheme, [(param, value)])`.
/// Values may be tokens or quoted strings; a challenge may hold a token68 instead of params
/// (kept as a param with an empty name).
fn challenges(value: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut p = Parser {
        s: value.as_bytes(),
        i: 0,
    };
    loop {
        p.skip(b", \t");
        let Some(word) = p.token() else { break };
        p.skip(b" \t");
        if p.peek() == Some(b'=') {
            // `name=value` continues the current challenge.
            p.i += 1;
            p.skip(b" \t");
            let v = p.value();
            match out.last_mut() {
                Some((_, params)) => params.push((word, v)),
                None => break,
            }
        } else {
            out.push((word, Vec::new()));
        }
    }
    out
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip(&mut self, set: &[u8]) {
        while self.peek().is_some_and(|b| set.contains(&b)) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|b| !matches!(b, b' ' | b'\t' | b',' | b'=' | b'"'))
        {
            self.i += 1;
        }
        if self.i == start {
            // Skip a stray character so the loop always advances.
            self.i += usize::from(self.i < self.s.len());
            return if self.i < self.s.len() {
                Some(String::new())
            } else {
                None
            };
        }
        Some(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn value(&mut self) -> String {
        if self.peek() != Some(b'"') {
            return self.token().unwrap_or_default();
        }
        self.i += 1;
        let mut v = Vec::new();
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        v.push(n);
                        self.i += 1;
                    }
                }
                _ => v.push(b),
            }
        }
        String::from_utf8_lossy(&v).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            user: "Mufasa".into(),
            password: "Circle of Life".into(),
        }
    }

    /// The worked examples of RFC 7616, section 3.9.1.
    #[test]
    fn rfc_7616_examples() {
        let header = |alg: &str| {
            format!(
                "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm={alg}, \
                 nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
                 opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
            )
        };
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        for (alg, expected) in [
            ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
            (
                "SHA-256",
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
        ] {
            let h = header(alg);
            let c = Challenge::pick([h.as_bytes()].into_iter()).expect("a digest challenge");
            let v = c
                .answer(&creds(), "GET", "/dir/index.html", b"", cnonce)
                .unwrap();
            let v = v.to_str().unwrap();
            assert!(
                v.contains(&format!("response=\"{expected}\"")),
                "{alg}: {v}"
            );
            assert!(v.contains("qop=auth, nc=00000001"), "{v}");
            assert!(v.contains("opaque=\"FQhe/"), "{v}");
        }
    }

    #[test]
    fn the_strongest_offered_challenge_wins() {
        let values = [
            &b"Basic realm=\"x\", Digest realm=\"r\", nonce=\"n1\", algorithm=MD5, qop=\"auth\""[..],
            b"Digest realm=\"r\", nonce=\"n2\", algorithm=SHA-256, qop=\"auth\"",
            b"Digest realm=\"r\", nonce=\"n3\", algorithm=UNKNOWN",
        ];
        let c = Challenge::pick(values.into_iter()).unwrap();
        assert_eq!((c.algorithm, c.nonce.as_str()), (Algorithm::Sha256, "n2"));
        assert!(Challenge::pick([&b"Basic realm=\"x\""[..]].into_iter()).is_none());
        assert!(
            Challenge::pick([&b"Digest realm=\"x\""[..]].into_iter()).is_none(),
            "no nonce"
        );
    }

    #[test]
    fn rfc_2069_challenges_without_qop_are_answered() {
        let c = Challenge::pick([&b"Digest realm=\"r\", nonce=\"abc\""[..]].into_iter()).unwrap();
        let v = c.answer(&creds(), "GET", "/", b"", "cn").unwrap();
        let v = v.to_str().unwrap();
        let ha1 = Algorithm::Md5.hash(b"Mufasa:r:Circle of Life");
        let ha2 = Algorithm::Md5.hash(b"GET:/");
        let expected = Algorithm::Md5.hash(format!("{ha1}:abc:{ha2}").as_bytes());
        assert!(v.contains(&expected), "{v}");
        assert!(!v.contains("qop"), "{v}");
    }

    #[test]
    fn quoted_values_unescape_and_odd_input_does_not_loop() {
        let parsed = challenges(r#"Digest realm="a \"b\"", nonce=xyz, ,, =, "#);
        assert_eq!(parsed[0].0, "Digest");
        assert_eq!(parsed[0].1[0], ("realm".into(), "a \"b\"".into()));
        assert_eq!(parsed[0].1[1], ("nonce".into(), "xyz".into()));
        for odd in [
            "\"",
            "=",
            "a=\"unterminated",
            ",,,",
            "Digest =",
            "\u{1F600}=\u{1F600}",
        ] {
            let _ = challenges(odd);
        }
    }

    #[test]
    fn credentials_come_off_the_url_decoded() {
        let mut u = url::Url::parse("http://us%40er:p%3Ass@h/x").unwrap();
        let c = Credentials::take_from(&mut u).unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("us@er", "p:ss"));
        assert_eq!(u.as_str(), "http://h/x");
        assert_eq!(c.basic().to_str().unwrap(), "Basic dXNAZXI6cDpzcw==");
        assert!(Credentials::take_from(&mut url::Url::parse("http://h/").unwrap()).is_none());
    }
}
