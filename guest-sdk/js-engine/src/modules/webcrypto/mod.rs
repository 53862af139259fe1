//! `stampede:webcrypto` (internal): the native half of WebCrypto's AES, ECDSA, ECDH, RSA, PBKDF2
//! and HKDF, over bytes. `webcrypto.js` is the other half: algorithm parameters, `CryptoKey`s,
//! usages and key formats (JWK is taken apart there).
//!
//! Errors carry WebCrypto's names (`OperationError`, `DataError`, `NotSupportedError`), as
//! k6's do; randomness comes from the host (`wasi:random`, through `getrandom`).

pub mod aes;
pub mod ec;
pub mod kdf;
pub mod rsa;

use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::{Array, Ctx, Exception, Function, IntoJs, Module, Result, Value};

use super::bytes;

/// A failed operation: WebCrypto's error name and a message.
#[derive(Debug)]
pub struct Fail {
    pub name: &'static str,
    pub message: String,
}

impl Fail {
    pub fn operation(message: impl Into<String>) -> Self {
        Self {
            name: "OperationError",
            message: message.into(),
        }
    }

    pub fn data(message: impl Into<String>) -> Self {
        Self {
            name: "DataError",
            message: message.into(),
        }
    }

    pub fn not_supported(message: impl Into<String>) -> Self {
        Self {
            name: "NotSupportedError",
            message: message.into(),
        }
    }

    /// Throws this as an `Error` whose `name` is WebCrypto's.
    fn throw(self, ctx: &Ctx<'_>) -> rquickjs::Error {
        match Exception::from_message(ctx.clone(), &self.message) {
            Ok(e) => {
                if let Err(err) = e.set("name", self.name) {
                    return err;
                }
                ctx.throw(e.into_value())
            }
            Err(err) => err,
        }
    }
}

/// The host's random source for the crates that take a `rand_core` generator.
pub struct HostRng;

impl rand_core::RngCore for HostRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // The host's `wasi:random` does not fail; a failure here would be a broken host.
        getrandom::fill(dest).expect("wasi:random gives bytes");
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> std::result::Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for HostRng {}

/// Raw bytes, or JavaScript `null`, for an optional key part.
type Bytes = Vec<u8>;

fn arg<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> Result<Bytes> {
    bytes::of(ctx, v, "webcrypto")
}

/// `r` as a JavaScript value, its failure thrown.
fn out<'js, T: IntoJs<'js>>(ctx: &Ctx<'js>, r: std::result::Result<T, Fail>) -> Result<Value<'js>> {
    r.map_err(|f| f.throw(ctx))?.into_js(ctx)
}

fn buf<'js>(ctx: &Ctx<'js>, r: std::result::Result<Bytes, Fail>) -> Result<Value<'js>> {
    bytes::buffer(ctx, r.map_err(|f| f.throw(ctx))?)
}

/// `[a, b, …]` of `ArrayBuffer`s.
fn buffers<'js>(ctx: &Ctx<'js>, parts: Vec<Bytes>) -> Result<Value<'js>> {
    let array = Array::new(ctx.clone())?;
    for (i, p) in parts.into_iter().enumerate() {
        array.set(i, bytes::buffer(ctx, p)?)?;
    }
    Ok(array.into_value())
}

/// `[der, modulusLength, publicExponent]` of an RSA key.
fn rsa_key<'js>(
    ctx: &Ctx<'js>,
    r: std::result::Result<(Bytes, rsa::Facts), Fail>,
) -> Result<Value<'js>> {
    let (der, (bits, e)) = r.map_err(|f| f.throw(ctx))?;
    let array = Array::new(ctx.clone())?;
    array.set(0, bytes::buffer(ctx, der)?)?;
    array.set(1, bits as f64)?;
    array.set(2, bytes::buffer(ctx, e)?)?;
    Ok(array.into_value())
}

fn curve(ctx: &Ctx<'_>, name: &str) -> Result<ec::Curve> {
    ec::Curve::named(name).map_err(|f| f.throw(ctx))
}

/// A non-negative integer argument (already checked by `webcrypto.js`).
fn count(n: f64) -> u64 {
    if n.is_finite() && n > 0.0 {
        n as u64
    } else {
        0
    }
}

fn salt(n: Option<f64>) -> Option<usize> {
    n.map(|n| count(n) as usize)
}

struct Native;

const NAMES: &[&str] = &[
    "aesGcm",
    "aesCbc",
    "aesCtr",
    "ecGenerate",
    "ecImportPublic",
    "ecImportPrivate",
    "ecExportSpki",
    "ecExportPkcs8",
    "ecdsaSign",
    "ecdsaVerify",
    "ecdh",
    "rsaGenerate",
    "rsaImportPrivate",
    "rsaImportPublic",
    "rsaPublicOf",
    "rsaFromJwk",
    "rsaToJwk",
    "rsaEncrypt",
    "rsaDecrypt",
    "rsaSign",
    "rsaVerify",
    "pbkdf2",
    "hkdf",
];

impl ModuleDef for Native {
    fn declare(decl: &Declarations<'_>) -> Result<()> {
        for name in NAMES {
            decl.declare(*name)?;
        }
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
        export_symmetric(ctx, exports)?;
        export_ec(ctx, exports)?;
        export_rsa(ctx, exports)
    }
}

type V<'js> = Value<'js>;

fn export_symmetric<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
    let f = |name: &str, f: Function<'js>| exports.export(name, f);
    f(
        "aesGcm",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             enc: bool,
             key: V<'js>,
             iv: V<'js>,
             data: V<'js>,
             aad: V<'js>,
             tag: f64| {
                let r = aes::gcm(
                    enc,
                    &arg(&ctx, &key)?,
                    &arg(&ctx, &iv)?,
                    &arg(&ctx, &data)?,
                    &arg(&ctx, &aad)?,
                    count(tag) as u32,
                );
                buf(&ctx, r)
            },
        )?,
    )?;
    f(
        "aesCbc",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, enc: bool, key: V<'js>, iv: V<'js>, data: V<'js>| {
                buf(
                    &ctx,
                    aes::cbc(enc, &arg(&ctx, &key)?, &arg(&ctx, &iv)?, &arg(&ctx, &data)?),
                )
            },
        )?,
    )?;
    f(
        "aesCtr",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, key: V<'js>, counter: V<'js>, length: f64, data: V<'js>| {
                buf(
                    &ctx,
                    aes::ctr(
                        &arg(&ctx, &key)?,
                        &arg(&ctx, &counter)?,
                        count(length).min(1024) as u32,
                        &arg(&ctx, &data)?,
                    ),
                )
            },
        )?,
    )?;
    f(
        "pbkdf2",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, hash: String, pw: V<'js>, salt: V<'js>, iterations: f64, bits: f64| {
                buf(
                    &ctx,
                    kdf::pbkdf2(
                        &hash,
                        &arg(&ctx, &pw)?,
                        &arg(&ctx, &salt)?,
                        count(iterations),
                        count(bits),
                    ),
                )
            },
        )?,
    )?;
    f(
        "hkdf",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, hash: String, ikm: V<'js>, salt: V<'js>, info: V<'js>, bits: f64| {
                buf(
                    &ctx,
                    kdf::hkdf(
                        &hash,
                        &arg(&ctx, &ikm)?,
                        &arg(&ctx, &salt)?,
                        &arg(&ctx, &info)?,
                        count(bits),
                    ),
                )
            },
        )?,
    )?;
    Ok(())
}

fn export_ec<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
    let f = |name: &str, f: Function<'js>| exports.export(name, f);
    f(
        "ecGenerate",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, name: String| {
            let (d, point) = ec::generate(curve(&ctx, &name)?);
            buffers(&ctx, vec![d, point])
        })?,
    )?;
    f(
        "ecImportPublic",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, name: String, format: String, data: V<'js>| {
                buf(
                    &ctx,
                    ec::import_public(curve(&ctx, &name)?, &format, &arg(&ctx, &data)?),
                )
            },
        )?,
    )?;
    f(
        "ecImportPrivate",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, name: String, format: String, data: V<'js>| {
                let (d, point) =
                    ec::import_private(curve(&ctx, &name)?, &format, &arg(&ctx, &data)?)
                        .map_err(|f| f.throw(&ctx))?;
                buffers(&ctx, vec![d, point])
            },
        )?,
    )?;
    f(
        "ecExportSpki",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, name: String, point: V<'js>| {
            buf(
                &ctx,
                ec::export_spki(curve(&ctx, &name)?, &arg(&ctx, &point)?),
            )
        })?,
    )?;
    f(
        "ecExportPkcs8",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, name: String, d: V<'js>| {
            buf(&ctx, ec::export_pkcs8(curve(&ctx, &name)?, &arg(&ctx, &d)?))
        })?,
    )?;
    f(
        "ecdsaSign",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, name: String, hash: String, d: V<'js>, data: V<'js>| {
                buf(
                    &ctx,
                    ec::sign(
                        curve(&ctx, &name)?,
                        &hash,
                        &arg(&ctx, &d)?,
                        &arg(&ctx, &data)?,
                    ),
                )
            },
        )?,
    )?;
    f(
        "ecdsaVerify",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             name: String,
             hash: String,
             point: V<'js>,
             sig: V<'js>,
             data: V<'js>| {
                let r = ec::verify(
                    curve(&ctx, &name)?,
                    &hash,
                    &arg(&ctx, &point)?,
                    &arg(&ctx, &sig)?,
                    &arg(&ctx, &data)?,
                );
                out(&ctx, r)
            },
        )?,
    )?;
    f(
        "ecdh",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, name: String, d: V<'js>, point: V<'js>| {
                buf(
                    &ctx,
                    ec::derive(curve(&ctx, &name)?, &arg(&ctx, &d)?, &arg(&ctx, &point)?),
                )
            },
        )?,
    )?;
    Ok(())
}

fn export_rsa<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
    let f = |name: &str, f: Function<'js>| exports.export(name, f);
    f(
        "rsaGenerate",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, bits: f64, e: V<'js>| {
            let (private, public) =
                rsa::generate(count(bits) as usize, &arg(&ctx, &e)?).map_err(|f| f.throw(&ctx))?;
            buffers(&ctx, vec![private, public])
        })?,
    )?;
    f(
        "rsaImportPrivate",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, der: V<'js>| {
            rsa_key(&ctx, rsa::import_private(&arg(&ctx, &der)?))
        })?,
    )?;
    f(
        "rsaImportPublic",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, der: V<'js>| {
            rsa_key(&ctx, rsa::import_public(&arg(&ctx, &der)?))
        })?,
    )?;
    f(
        "rsaPublicOf",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, der: V<'js>| {
            buf(&ctx, rsa::public_of(&arg(&ctx, &der)?))
        })?,
    )?;
    f(
        "rsaFromJwk",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, parts: Array<'js>| {
            let parts = parts
                .iter::<V<'js>>()
                .map(|p| arg(&ctx, &p?))
                .collect::<Result<Vec<_>>>()?;
            rsa_key(&ctx, rsa::from_jwk(&parts))
        })?,
    )?;
    f(
        "rsaToJwk",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, der: V<'js>, private: bool| {
            let parts = rsa::to_jwk(&arg(&ctx, &der)?, private).map_err(|f| f.throw(&ctx))?;
            buffers(&ctx, parts)
        })?,
    )?;
    f(
        "rsaEncrypt",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, hash: String, key: V<'js>, label: V<'js>, data: V<'js>| {
                buf(
                    &ctx,
                    rsa::encrypt(
                        &hash,
                        &arg(&ctx, &key)?,
                        &arg(&ctx, &label)?,
                        &arg(&ctx, &data)?,
                    ),
                )
            },
        )?,
    )?;
    f(
        "rsaDecrypt",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, hash: String, key: V<'js>, label: V<'js>, data: V<'js>| {
                buf(
                    &ctx,
                    rsa::decrypt(
                        &hash,
                        &arg(&ctx, &key)?,
                        &arg(&ctx, &label)?,
                        &arg(&ctx, &data)?,
                    ),
                )
            },
        )?,
    )?;
    f(
        "rsaSign",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, hash: String, key: V<'js>, s: Option<f64>, data: V<'js>| {
                buf(
                    &ctx,
                    rsa::sign(&hash, &arg(&ctx, &key)?, salt(s), &arg(&ctx, &data)?),
                )
            },
        )?,
    )?;
    f(
        "rsaVerify",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             hash: String,
             key: V<'js>,
             s: Option<f64>,
             sig: V<'js>,
             data: V<'js>| {
                let r = rsa::verify(
                    &hash,
                    &arg(&ctx, &key)?,
                    salt(s),
                    &arg(&ctx, &sig)?,
                    &arg(&ctx, &data)?,
                );
                out(&ctx, r)
            },
        )?,
    )?;
    Ok(())
}

/// Declares `stampede:webcrypto` under `name`.
pub fn declare<'js>(ctx: &Ctx<'js>, name: &str) -> Result<Module<'js>> {
    Module::declare_def::<Native, _>(ctx.clone(), name)
}
