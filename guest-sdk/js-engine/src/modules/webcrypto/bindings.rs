//! The JavaScript functions of `stampede:webcrypto`: bytes in (any BufferSource), `ArrayBuffer`s
//! out, a [`Fail`] thrown as an error with WebCrypto's name. `webcrypto.js` has checked the
//! parameters' types; numbers arrive as JavaScript numbers.

use rquickjs::module::Exports;
use rquickjs::{Array, Ctx, Function, IntoJs, Result, Value};

use super::{aes, ec, kdf, rsa, Fail};
use crate::modules::bytes;

type V<'js> = Value<'js>;
type Bytes = Vec<u8>;
type Out<'js> = Result<V<'js>>;

fn arg<'js>(ctx: &Ctx<'js>, v: &V<'js>) -> Result<Bytes> {
    bytes::of(ctx, v, "webcrypto")
}

/// `r` as a JavaScript value, its failure thrown.
fn out<'js, T: IntoJs<'js>>(ctx: &Ctx<'js>, r: std::result::Result<T, Fail>) -> Out<'js> {
    r.map_err(|f| f.throw(ctx))?.into_js(ctx)
}

fn buf<'js>(ctx: &Ctx<'js>, r: std::result::Result<Bytes, Fail>) -> Out<'js> {
    bytes::buffer(ctx, r.map_err(|f| f.throw(ctx))?)
}

/// `[a, b, …]` of `ArrayBuffer`s.
fn buffers<'js>(ctx: &Ctx<'js>, r: std::result::Result<Vec<Bytes>, Fail>) -> Out<'js> {
    let array = Array::new(ctx.clone())?;
    for (i, p) in r.map_err(|f| f.throw(ctx))?.into_iter().enumerate() {
        array.set(i, bytes::buffer(ctx, p)?)?;
    }
    Ok(array.into_value())
}

/// `[der, modulusLength, publicExponent]` of an RSA key.
fn rsa_key<'js>(ctx: &Ctx<'js>, r: std::result::Result<(Bytes, rsa::Facts), Fail>) -> Out<'js> {
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

/// A non-negative integer argument (checked by `webcrypto.js`); anything else is 0.
fn count(n: f64) -> u64 {
    if n.is_finite() && n > 0.0 {
        n as u64
    } else {
        0
    }
}

fn aes_gcm<'js>(
    ctx: Ctx<'js>,
    enc: bool,
    key: V<'js>,
    iv: V<'js>,
    data: V<'js>,
    aad: V<'js>,
    tag: f64,
) -> Out<'js> {
    let (key, iv, data, aad) = (
        arg(&ctx, &key)?,
        arg(&ctx, &iv)?,
        arg(&ctx, &data)?,
        arg(&ctx, &aad)?,
    );
    buf(
        &ctx,
        aes::gcm(enc, &key, &iv, &data, &aad, count(tag).min(1024) as u32),
    )
}

fn aes_cbc<'js>(ctx: Ctx<'js>, enc: bool, key: V<'js>, iv: V<'js>, data: V<'js>) -> Out<'js> {
    buf(
        &ctx,
        aes::cbc(enc, &arg(&ctx, &key)?, &arg(&ctx, &iv)?, &arg(&ctx, &data)?),
    )
}

fn aes_ctr<'js>(
    ctx: Ctx<'js>,
    key: V<'js>,
    counter: V<'js>,
    length: f64,
    data: V<'js>,
) -> Out<'js> {
    let length = count(length).min(1024) as u32;
    buf(
        &ctx,
        aes::ctr(
            &arg(&ctx, &key)?,
            &arg(&ctx, &counter)?,
            length,
            &arg(&ctx, &data)?,
        ),
    )
}

fn pbkdf2<'js>(
    ctx: Ctx<'js>,
    hash: String,
    pw: V<'js>,
    salt: V<'js>,
    iterations: f64,
    bits: f64,
) -> Out<'js> {
    let (pw, salt) = (arg(&ctx, &pw)?, arg(&ctx, &salt)?);
    buf(
        &ctx,
        kdf::pbkdf2(&hash, &pw, &salt, count(iterations), count(bits)),
    )
}

fn hkdf<'js>(
    ctx: Ctx<'js>,
    hash: String,
    ikm: V<'js>,
    salt: V<'js>,
    info: V<'js>,
    bits: f64,
) -> Out<'js> {
    let (ikm, salt, info) = (arg(&ctx, &ikm)?, arg(&ctx, &salt)?, arg(&ctx, &info)?);
    buf(&ctx, kdf::hkdf(&hash, &ikm, &salt, &info, count(bits)))
}

fn ec_generate<'js>(ctx: Ctx<'js>, name: String) -> Out<'js> {
    let (d, point) = ec::generate(curve(&ctx, &name)?);
    buffers(&ctx, Ok(vec![d, point]))
}

fn ec_import_public<'js>(ctx: Ctx<'js>, name: String, format: String, data: V<'js>) -> Out<'js> {
    buf(
        &ctx,
        ec::import_public(curve(&ctx, &name)?, &format, &arg(&ctx, &data)?),
    )
}

fn ec_import_private<'js>(ctx: Ctx<'js>, name: String, format: String, data: V<'js>) -> Out<'js> {
    let r = ec::import_private(curve(&ctx, &name)?, &format, &arg(&ctx, &data)?);
    buffers(&ctx, r.map(|(d, point)| vec![d, point]))
}

fn ec_export_spki<'js>(ctx: Ctx<'js>, name: String, point: V<'js>) -> Out<'js> {
    buf(
        &ctx,
        ec::export_spki(curve(&ctx, &name)?, &arg(&ctx, &point)?),
    )
}

fn ec_export_pkcs8<'js>(ctx: Ctx<'js>, name: String, d: V<'js>) -> Out<'js> {
    buf(&ctx, ec::export_pkcs8(curve(&ctx, &name)?, &arg(&ctx, &d)?))
}

fn ecdsa_sign<'js>(ctx: Ctx<'js>, name: String, hash: String, d: V<'js>, data: V<'js>) -> Out<'js> {
    buf(
        &ctx,
        ec::sign(
            curve(&ctx, &name)?,
            &hash,
            &arg(&ctx, &d)?,
            &arg(&ctx, &data)?,
        ),
    )
}

fn ecdsa_verify<'js>(
    ctx: Ctx<'js>,
    name: String,
    hash: String,
    point: V<'js>,
    sig: V<'js>,
    data: V<'js>,
) -> Out<'js> {
    let (point, sig, data) = (arg(&ctx, &point)?, arg(&ctx, &sig)?, arg(&ctx, &data)?);
    out(
        &ctx,
        ec::verify(curve(&ctx, &name)?, &hash, &point, &sig, &data),
    )
}

fn ecdh<'js>(ctx: Ctx<'js>, name: String, d: V<'js>, point: V<'js>) -> Out<'js> {
    buf(
        &ctx,
        ec::derive(curve(&ctx, &name)?, &arg(&ctx, &d)?, &arg(&ctx, &point)?),
    )
}

fn rsa_generate<'js>(ctx: Ctx<'js>, bits: f64, e: V<'js>) -> Out<'js> {
    let r = rsa::generate(count(bits).min(1 << 20) as usize, &arg(&ctx, &e)?);
    buffers(&ctx, r.map(|(private, public)| vec![private, public]))
}

fn rsa_import_private<'js>(ctx: Ctx<'js>, der: V<'js>) -> Out<'js> {
    rsa_key(&ctx, rsa::import_private(&arg(&ctx, &der)?))
}

fn rsa_import_public<'js>(ctx: Ctx<'js>, der: V<'js>) -> Out<'js> {
    rsa_key(&ctx, rsa::import_public(&arg(&ctx, &der)?))
}

fn rsa_public_of<'js>(ctx: Ctx<'js>, der: V<'js>) -> Out<'js> {
    buf(&ctx, rsa::public_of(&arg(&ctx, &der)?))
}

fn rsa_from_jwk<'js>(ctx: Ctx<'js>, parts: Array<'js>) -> Out<'js> {
    let parts = parts
        .iter::<V<'js>>()
        .map(|p| arg(&ctx, &p?))
        .collect::<Result<Vec<_>>>()?;
    rsa_key(&ctx, rsa::from_jwk(&parts))
}

fn rsa_to_jwk<'js>(ctx: Ctx<'js>, der: V<'js>, private: bool) -> Out<'js> {
    buffers(&ctx, rsa::to_jwk(&arg(&ctx, &der)?, private))
}

/// `rsa::encrypt` or `rsa::decrypt`: (hash, key, label, data) to bytes.
type OaepOp = fn(&str, &[u8], &[u8], &[u8]) -> std::result::Result<Vec<u8>, Fail>;

/// RSA-OAEP's encrypt or decrypt (`op`) over the JavaScript arguments.
fn rsa_oaep<'js>(ctx: Ctx<'js>, [hash, key, label, data]: [V<'js>; 4], op: OaepOp) -> Out<'js> {
    let hash: String = hash.get()?;
    let (key, label, data) = (arg(&ctx, &key)?, arg(&ctx, &label)?, arg(&ctx, &data)?);
    buf(&ctx, op(&hash, &key, &label, &data))
}

fn rsa_encrypt<'js>(
    ctx: Ctx<'js>,
    hash: V<'js>,
    key: V<'js>,
    label: V<'js>,
    data: V<'js>,
) -> Out<'js> {
    rsa_oaep(ctx, [hash, key, label, data], rsa::encrypt)
}

fn rsa_decrypt<'js>(
    ctx: Ctx<'js>,
    hash: V<'js>,
    key: V<'js>,
    label: V<'js>,
    data: V<'js>,
) -> Out<'js> {
    rsa_oaep(ctx, [hash, key, label, data], rsa::decrypt)
}

/// `salt` is RSA-PSS's saltLength, or `null` for RSASSA-PKCS1-v1_5.
fn rsa_sign<'js>(
    ctx: Ctx<'js>,
    hash: String,
    key: V<'js>,
    salt: Option<f64>,
    data: V<'js>,
) -> Out<'js> {
    let salt = salt.map(|n| count(n) as usize);
    buf(
        &ctx,
        rsa::sign(&hash, &arg(&ctx, &key)?, salt, &arg(&ctx, &data)?),
    )
}

fn rsa_verify<'js>(
    ctx: Ctx<'js>,
    hash: String,
    key: V<'js>,
    salt: Option<f64>,
    sig: V<'js>,
    data: V<'js>,
) -> Out<'js> {
    let salt = salt.map(|n| count(n) as usize);
    let (key, sig, data) = (arg(&ctx, &key)?, arg(&ctx, &sig)?, arg(&ctx, &data)?);
    out(&ctx, rsa::verify(&hash, &key, salt, &sig, &data))
}

/// Declares and exports every function: `name => rust_fn`.
macro_rules! functions {
    ($($name:literal => $f:ident),* $(,)?) => {
        /// The functions' JavaScript names.
        pub const NAMES: &[&str] = &[$($name),*];

        /// Exports every function on `exports`.
        pub fn export<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
            $(exports.export($name, Function::new(ctx.clone(), $f)?.with_name($name)?)?;)*
            Ok(())
        }
    };
}

functions! {
    "aesGcm" => aes_gcm,
    "aesCbc" => aes_cbc,
    "aesCtr" => aes_ctr,
    "pbkdf2" => pbkdf2,
    "hkdf" => hkdf,
    "ecGenerate" => ec_generate,
    "ecImportPublic" => ec_import_public,
    "ecImportPrivate" => ec_import_private,
    "ecExportSpki" => ec_export_spki,
    "ecExportPkcs8" => ec_export_pkcs8,
    "ecdsaSign" => ecdsa_sign,
    "ecdsaVerify" => ecdsa_verify,
    "ecdh" => ecdh,
    "rsaGenerate" => rsa_generate,
    "rsaImportPrivate" => rsa_import_private,
    "rsaImportPublic" => rsa_import_public,
    "rsaPublicOf" => rsa_public_of,
    "rsaFromJwk" => rsa_from_jwk,
    "rsaToJwk" => rsa_to_jwk,
    "rsaEncrypt" => rsa_encrypt,
    "rsaDecrypt" => rsa_decrypt,
    "rsaSign" => rsa_sign,
    "rsaVerify" => rsa_verify,
}
