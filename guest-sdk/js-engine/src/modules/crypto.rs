//! `k6/crypto`: hashes, HMAC and random bytes, as k6 has them; and `stampede:crypto`, the
//! primitives that WebCrypto (`crypto.subtle`, `webcrypto.js`) is written over.
//!
//!   import crypto from 'k6/crypto';
//!   crypto.sha256('hello', 'hex');                          // one call
//!   const h = crypto.createHMAC('sha256', secret);          // or piece by piece
//!   h.update(header); h.update('.'); h.update(payload);
//!   const signature = h.digest('base64rawurl');
//!
//! Algorithms: `md4`, `md5`, `sha1`, `sha256`, `sha384`, `sha512`, `sha512_224`, `sha512_256`,
//! `ripemd160`. Outputs: `hex`, `base64`, `base64url`, `base64rawurl` and `binary` (an
//! `ArrayBuffer`). A hasher's `digest` does not reset it, as in k6 (Go's `Sum`).

use digest::DynDigest;
use hmac::{Hmac, Mac};
use rquickjs::class::Trace;
use rquickjs::function::Opt;
use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::{Class, Ctx, Exception, Function, JsLifetime, Module, Object, Result, Value};

use super::{bytes, encoding};

/// A running hash of the algorithm `alg`, by k6's name.
pub(crate) fn hash(alg: &str) -> Option<Box<dyn DynDigest>> {
    Some(match alg {
        "md4" => Box::new(md4::Md4::default()),
        "md5" => Box::new(md5::Md5::default()),
        "sha1" => Box::new(sha1::Sha1::default()),
        "sha256" => Box::new(sha2::Sha256::default()),
        "sha384" => Box::new(sha2::Sha384::default()),
        "sha512" => Box::new(sha2::Sha512::default()),
        "sha512_224" => Box::new(sha2::Sha512_224::default()),
        "sha512_256" => Box::new(sha2::Sha512_256::default()),
        "ripemd160" => Box::new(ripemd::Ripemd160::default()),
        _ => return None,
    })
}

/// A running HMAC of the algorithm `alg` with `key`.
fn hmac(alg: &str, key: &[u8]) -> Option<Box<dyn DynDigest>> {
    // An HMAC takes a key of any length: `new_from_slice` cannot fail.
    macro_rules! of {
        ($d:ty) => {
            Box::new(<Hmac<$d> as Mac>::new_from_slice(key).expect("any key length"))
        };
    }
    Some(match alg {
        "md4" => of!(md4::Md4),
        "md5" => of!(md5::Md5),
        "sha1" => of!(sha1::Sha1),
        "sha256" => of!(sha2::Sha256),
        "sha384" => of!(sha2::Sha384),
        "sha512" => of!(sha2::Sha512),
        "sha512_224" => of!(sha2::Sha512_224),
        "sha512_256" => of!(sha2::Sha512_256),
        "ripemd160" => of!(ripemd::Ripemd160),
        _ => return None,
    })
}

/// The digest `sum` in k6's output encoding `encoding`.
fn output<'js>(ctx: &Ctx<'js>, sum: Vec<u8>, encoding: &str) -> Result<Value<'js>> {
    let text = match encoding {
        "hex" => hex(&sum),
        "base64" => encoding::encode(&sum, "std"),
        "base64url" => encoding::encode(&sum, "url"),
        "base64rawurl" => encoding::encode(&sum, "rawurl"),
        "binary" => return bytes::buffer(ctx, sum),
        other => {
            return Err(Exception::throw_type(
                ctx,
                &format!("invalid output encoding: {other} (use hex, base64, base64url, base64rawurl or binary)"),
            ))
        }
    };
    Ok(rquickjs::String::from_str(ctx.clone(), &text)?.into_value())
}

/// Lower-case hex, as Go's `hex.EncodeToString`.
pub fn hex(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(data.len() * 2);
    for b in data {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

fn unknown_algorithm(ctx: &Ctx<'_>, alg: &str) -> rquickjs::Error {
    Exception::throw_type(
        ctx,
        &format!(
            "invalid algorithm: {alg} (use md4, md5, sha1, sha256, sha384, sha512, sha512_224, sha512_256 or ripemd160)"
        ),
    )
}

/// k6's `Hasher`: `update(data)` as often as needed, then `digest(encoding)`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct Hasher {
    #[qjs(skip_trace)]
    state: Box<dyn DynDigest>,
}

#[rquickjs::methods]
impl Hasher {
    /// Adds `data` (a string as UTF-8, or bytes) to the hash.
    pub fn update<'js>(&mut self, ctx: Ctx<'js>, data: Value<'js>) -> Result<()> {
        let data = bytes::of(&ctx, &data, "update")?;
        self.state.update(&data);
        Ok(())
    }

    /// The hash of everything so far, in `encoding`; the hasher may go on.
    pub fn digest<'js>(&self, ctx: Ctx<'js>, encoding: Opt<bytes::OptText>) -> Result<Value<'js>> {
        let sum = self.state.box_clone().finalize().into_vec();
        output(&ctx, sum, bytes::text(encoding).as_deref().unwrap_or(""))
    }
}

fn create_hash(ctx: Ctx<'_>, alg: String) -> Result<Hasher> {
    match hash(&alg) {
        Some(state) => Ok(Hasher { state }),
        None => Err(unknown_algorithm(&ctx, &alg)),
    }
}

fn create_hmac<'js>(ctx: Ctx<'js>, alg: String, key: Value<'js>) -> Result<Hasher> {
    let key = bytes::of(&ctx, &key, "createHMAC key")?;
    match hmac(&alg, &key) {
        Some(state) => Ok(Hasher { state }),
        None => Err(unknown_algorithm(&ctx, &alg)),
    }
}

fn one_hmac<'js>(
    ctx: Ctx<'js>,
    alg: String,
    key: Value<'js>,
    data: Value<'js>,
    encoding: Opt<bytes::OptText>,
) -> Result<Value<'js>> {
    let mut h = create_hmac(ctx.clone(), alg, key)?;
    h.update(ctx.clone(), data)?;
    h.digest(ctx, encoding)
}

/// `size` random bytes from the host's secure source (`wasi:random`).
fn random(ctx: &Ctx<'_>, size: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; size];
    getrandom::fill(&mut out)
        .map_err(|e| Exception::throw_internal(ctx, &format!("no random bytes: {e}")))?;
    Ok(out)
}

/// The largest `randomBytes` / `getRandomValues` request: WebCrypto's limit (64 KiB).
const MAX_RANDOM: f64 = 65536.0;

fn random_bytes<'js>(ctx: Ctx<'js>, size: Value<'js>) -> Result<Value<'js>> {
    let n = size.as_number().unwrap_or(f64::NAN);
    if n.is_nan() || n < 1.0 || n.fract() != 0.0 {
        return Err(Exception::throw_type(&ctx, "randomBytes: invalid size"));
    }
    if n > MAX_RANDOM * 16.0 {
        return Err(Exception::throw_range(&ctx, "randomBytes: size over 1 MiB"));
    }
    let data = random(&ctx, n as usize)?;
    bytes::buffer(&ctx, data)
}

/// Declares every function of `k6/crypto` on `exports`.
const K6_FUNCTIONS: &[&str] = &[
    "createHash",
    "createHMAC",
    "hmac",
    "md4",
    "md5",
    "sha1",
    "sha256",
    "sha384",
    "sha512",
    "sha512_224",
    "sha512_256",
    "ripemd160",
    "randomBytes",
    "hexEncode",
];

struct CryptoModule;

impl ModuleDef for CryptoModule {
    fn declare(decl: &Declarations<'_>) -> Result<()> {
        for name in K6_FUNCTIONS {
            decl.declare(*name)?;
        }
        decl.declare("default")?;
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
        let default = Object::new(ctx.clone())?;
        let export = |name: &str, f: Function<'js>| -> Result<()> {
            let f = f.with_name(name)?;
            default.set(name, f.clone())?;
            exports.export(name, f)?;
            Ok(())
        };
        export("createHash", Function::new(ctx.clone(), create_hash)?)?;
        export("createHMAC", Function::new(ctx.clone(), create_hmac)?)?;
        export("hmac", Function::new(ctx.clone(), one_hmac)?)?;
        for alg in [
            "md4",
            "md5",
            "sha1",
            "sha256",
            "sha384",
            "sha512",
            "sha512_224",
            "sha512_256",
            "ripemd160",
        ] {
            let f = Function::new(
                ctx.clone(),
                move |ctx: Ctx<'js>, data: Value<'js>, encoding: Opt<bytes::OptText>| {
                    let mut state = hash(alg).expect("known algorithm");
                    state.update(&bytes::of(&ctx, &data, alg)?);
                    let sum = state.finalize().into_vec();
                    output(&ctx, sum, bytes::text(encoding).as_deref().unwrap_or(""))
                },
            )?;
            export(alg, f)?;
        }
        export("randomBytes", Function::new(ctx.clone(), random_bytes)?)?;
        export(
            "hexEncode",
            Function::new(ctx.clone(), |ctx: Ctx<'js>, data: Value<'js>| {
                Ok::<_, rquickjs::Error>(hex(&bytes::of(&ctx, &data, "hexEncode")?))
            })?,
        )?;
        exports.export("default", default)?;
        Ok(())
    }
}

/// Declares `k6/crypto` under `name`.
pub fn declare<'js>(ctx: &Ctx<'js>, name: &str) -> Result<Module<'js>> {
    Module::declare_def::<CryptoModule, _>(ctx.clone(), name)
}

/// `stampede:crypto`: what WebCrypto needs, bytes in and `ArrayBuffer`s out.
struct Primitives;

impl ModuleDef for Primitives {
    fn declare(decl: &Declarations<'_>) -> Result<()> {
        for name in ["digest", "hmac", "random"] {
            decl.declare(name)?;
        }
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
        exports.export(
            "digest",
            Function::new(
                ctx.clone(),
                |ctx: Ctx<'js>, alg: String, data: Value<'js>| {
                    let mut state = hash(&alg).ok_or_else(|| unknown_algorithm(&ctx, &alg))?;
                    state.update(&bytes::of(&ctx, &data, "digest")?);
                    bytes::buffer(&ctx, state.finalize().into_vec())
                },
            )?,
        )?;
        exports.export(
            "hmac",
            Function::new(
                ctx.clone(),
                |ctx: Ctx<'js>, alg: String, key: Value<'js>, data: Value<'js>| {
                    let key = bytes::of(&ctx, &key, "key")?;
                    let mut state =
                        hmac(&alg, &key).ok_or_else(|| unknown_algorithm(&ctx, &alg))?;
                    state.update(&bytes::of(&ctx, &data, "data")?);
                    bytes::buffer(&ctx, state.finalize().into_vec())
                },
            )?,
        )?;
        exports.export(
            "random",
            Function::new(ctx.clone(), |ctx: Ctx<'js>, n: f64| {
                let n = if n.is_finite() && n > 0.0 {
                    n.min(MAX_RANDOM) as usize
                } else {
                    0
                };
                let data = random(&ctx, n)?;
                bytes::buffer(&ctx, data)
            })?,
        )?;
        Ok(())
    }
}

/// Declares `stampede:crypto` under `name`.
pub fn declare_primitives<'js>(ctx: &Ctx<'js>, name: &str) -> Result<Module<'js>> {
    Module::declare_def::<Primitives, _>(ctx.clone(), name)
}

// Keeps `Class` in use for the `#[class]` expansion's paths.
#[allow(dead_code)]
type HasherClass<'js> = Class<'js, Hasher>;

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_of(mut state: Box<dyn DynDigest>, data: &[u8]) -> String {
        state.update(data);
        hex(&state.finalize())
    }

    #[test]
    fn digests_match_known_values() {
        let cases = [
            ("md4", "866437cb7a794bce2b727acc0362ee27"),
            ("md5", "5d41402abc4b2a76b9719d911017c592"),
            ("sha1", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"),
            (
                "sha256",
                "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            ),
            ("ripemd160", "108f07b8382412612c048d07d13f814118445acd"),
        ];
        for (alg, want) in cases {
            assert_eq!(hex_of(hash(alg).unwrap(), b"hello"), want, "{alg}");
        }
        assert!(hash("sha3").is_none());
        // RFC 4231, test case 2.
        let mac = hex_of(
            hmac("sha256", b"Jefe").unwrap(),
            b"what do ya want for nothing?",
        );
        assert_eq!(
            mac,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
