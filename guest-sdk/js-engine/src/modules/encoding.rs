//! `k6/encoding`: base64 as k6 has it (Go's `encoding/base64`).
//!
//!   import encoding from 'k6/encoding';
//!   const token = encoding.b64encode(`${user}:${pass}`);          // std, padded
//!   const raw = encoding.b64decode(data, 'rawurl');                // an ArrayBuffer
//!   const text = encoding.b64decode(data, 'std', 's');             // a string
//!
//! Variants: `std` (the default), `rawstd` (no padding), `url` (`-` and `_`), `rawurl`. As in
//! Go, decoding skips line breaks, requires padding exactly when the variant has it and
//! accepts non-zero bits after the last character.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use rquickjs::function::Opt;
use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::{Ctx, Exception, Function, Module, Object, Result, Value};

use super::bytes;

const fn config(pad: bool) -> GeneralPurposeConfig {
    GeneralPurposeConfig::new()
        .with_encode_padding(pad)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(if pad {
            DecodePaddingMode::RequireCanonical
        } else {
            DecodePaddingMode::RequireNone
        })
}

const STD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, config(true));
const RAW_STD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, config(false));
const URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, config(true));
const RAW_URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, config(false));

/// The engine for k6's variant name; anything else is `std`, as in k6.
fn engine(variant: &str) -> &'static GeneralPurpose {
    match variant {
        "rawstd" => &RAW_STD,
        "url" => &URL,
        "rawurl" => &RAW_URL,
        _ => &STD,
    }
}

/// `bytes` in base64 of the variant `variant` (`std`, `rawstd`, `url`, `rawurl`).
pub fn encode(bytes: &[u8], variant: &str) -> String {
    engine(variant).encode(bytes)
}

/// Decodes `text` in the variant `variant`, skipping line breaks as Go does.
pub fn decode(text: &str, variant: &str) -> std::result::Result<Vec<u8>, String> {
    let cleaned: std::borrow::Cow<'_, str> = if text.contains(['\r', '\n']) {
        text.chars()
            .filter(|c| *c != '\r' && *c != '\n')
            .collect::<String>()
            .into()
    } else {
        text.into()
    };
    engine(variant).decode(cleaned.as_bytes()).map_err(|_| {
        let url = matches!(variant, "url" | "rawurl");
        let padded = !matches!(variant, "rawstd" | "rawurl");
        let at = go_error_offset(text.as_bytes(), url, padded);
        format!("illegal base64 data at input byte {at}")
    })
}

/// Where Go's decoder (which k6 uses) reports input that does not decode: it reads quanta of
/// four symbols, skipping line breaks, and names the byte of the original input where it gave
/// up — the start of a quantum cut short, a symbol of no alphabet, a misplaced `=` or what
/// follows the padding. (Only asked once decoding has failed; on input that decodes it gives
/// its length.)
fn go_error_offset(src: &[u8], url: bool, padded: bool) -> usize {
    let symbol = |c: u8| {
        c.is_ascii_alphanumeric()
            || if url {
                c == b'-' || c == b'_'
            } else {
                c == b'+' || c == b'/'
            }
    };
    let skip_breaks = |mut i: usize| {
        while i < src.len() && (src[i] == b'\n' || src[i] == b'\r') {
            i += 1;
        }
        i
    };
    let mut si = 0;
    loop {
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return src.len();
                }
                if j == 1 || padded {
                    return si - j;
                }
                // A short last quantum, allowed without padding.
                return src.len();
            }
            let c = src[si];
            si += 1;
            if symbol(c) {
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' || !padded || j < 2 {
                return si - 1;
            }
            if j == 2 {
                // `xx=` wants a second `=`.
                si = skip_breaks(si);
                if si == src.len() {
                    return src.len();
                }
                if src[si] != b'=' {
                    return si - 1;
                }
                si += 1;
            }
            si = skip_breaks(si);
            return if si < src.len() { si } else { src.len() };
        }
    }
}

fn b64encode<'js>(
    ctx: Ctx<'js>,
    input: Value<'js>,
    variant: Opt<bytes::OptText>,
) -> Result<String> {
    let data = bytes::of(&ctx, &input, "b64encode")?;
    Ok(encode(
        &data,
        bytes::text(variant).as_deref().unwrap_or("std"),
    ))
}

fn b64decode<'js>(
    ctx: Ctx<'js>,
    input: Value<'js>,
    variant: Opt<bytes::OptText>,
    format: Opt<bytes::OptText>,
) -> Result<Value<'js>> {
    let text = match input.as_string() {
        Some(s) => s.to_string()?,
        None => String::from_utf8_lossy(&bytes::of(&ctx, &input, "b64decode")?).into_owned(),
    };
    let out = decode(&text, bytes::text(variant).as_deref().unwrap_or("std"))
        .map_err(|e| Exception::throw_message(&ctx, &e))?;
    if bytes::text(format).as_deref() == Some("s") {
        let s = String::from_utf8_lossy(&out).into_owned();
        return Ok(rquickjs::String::from_str(ctx, &s)?.into_value());
    }
    bytes::buffer(&ctx, out)
}

struct EncodingModule;

impl ModuleDef for EncodingModule {
    fn declare(decl: &Declarations<'_>) -> Result<()> {
        decl.declare("b64encode")?;
        decl.declare("b64decode")?;
        decl.declare("default")?;
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
        let encode = Function::new(ctx.clone(), b64encode)?.with_name("b64encode")?;
        let decode = Function::new(ctx.clone(), b64decode)?.with_name("b64decode")?;
        let default = Object::new(ctx.clone())?;
        default.set("b64encode", encode.clone())?;
        default.set("b64decode", decode.clone())?;
        exports.export("b64encode", encode)?;
        exports.export("b64decode", decode)?;
        exports.export("default", default)?;
        Ok(())
    }
}

/// Declares `k6/encoding` under `name`.
pub fn declare<'js>(ctx: &Ctx<'js>, name: &str) -> Result<Module<'js>> {
    Module::declare_def::<EncodingModule, _>(ctx.clone(), name)
}

/// `stampede:text`: UTF-8 for `TextEncoder` and `TextDecoder` (`webapi.js`).
struct TextModule;

impl ModuleDef for TextModule {
    fn declare(decl: &Declarations<'_>) -> Result<()> {
        decl.declare("utf8Encode")?;
        decl.declare("utf8Decode")?;
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
        exports.export(
            "utf8Encode",
            Function::new(
                ctx.clone(),
                |ctx: Ctx<'js>, s: rquickjs::Coerced<String>| bytes::buffer(&ctx, s.0.into_bytes()),
            )?,
        )?;
        exports.export(
            "utf8Decode",
            Function::new(
                ctx.clone(),
                |ctx: Ctx<'js>, data: Value<'js>, fatal: Opt<bool>| -> Result<String> {
                    let data = if data.is_undefined() {
                        Vec::new()
                    } else {
                        bytes::of(&ctx, &data, "decode")?
                    };
                    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&data);
                    match std::str::from_utf8(data) {
                        Ok(s) => Ok(s.to_string()),
                        Err(_) if fatal.0.unwrap_or(false) => Err(Exception::throw_type(
                            &ctx,
                            "The encoded data was not valid for encoding utf-8",
                        )),
                        Err(_) => Ok(String::from_utf8_lossy(data).into_owned()),
                    }
                },
            )?,
        )?;
        Ok(())
    }
}

/// Declares `stampede:text` under `name`.
pub fn declare_text<'js>(ctx: &Ctx<'js>, name: &str) -> Result<Module<'js>> {
    Module::declare_def::<TextModule, _>(ctx.clone(), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_match_go() {
        assert_eq!(encode(b"hello?>", "std"), "aGVsbG8/Pg==");
        assert_eq!(encode(b"hello?>", "rawstd"), "aGVsbG8/Pg");
        assert_eq!(encode(b"hello?>", "url"), "aGVsbG8_Pg==");
        assert_eq!(encode(b"hello?>", "rawurl"), "aGVsbG8_Pg");
        assert_eq!(encode(b"x", "nonsense"), "eA==");
        assert_eq!(decode("aGVsbG8/Pg==", "std").unwrap(), b"hello?>");
        assert_eq!(decode("aGVs\r\nbG8/Pg==", "std").unwrap(), b"hello?>");
        assert_eq!(decode("aGVsbG8_Pg", "rawurl").unwrap(), b"hello?>");
        // Padding exactly when the variant has it.
        assert!(decode("aGVsbG8/Pg", "std").is_err());
        assert!(decode("aGVsbG8/Pg==", "rawstd").is_err());
        // Go accepts non-canonical trailing bits.
        assert_eq!(decode("eB==", "std").unwrap(), b"x");
        let e = decode("a$==", "std").unwrap_err();
        assert_eq!(e, "illegal base64 data at input byte 1");
    }

    #[test]
    fn errors_name_the_byte_go_names() {
        // What k6 v2.2 said for each (Go's encoding/base64).
        for (text, variant, at) in [
            ("aGk", "std", 0),
            ("aGVsbG8", "std", 4),
            ("a", "std", 0),
            ("a", "rawstd", 0),
            ("aGk=", "rawstd", 3),
            ("aGk==", "std", 4),
            ("aGVsbG8=x", "std", 8),
            ("aG==", "rawstd", 2),
            ("aGVs\nbG8", "std", 5),
            ("aGVsbG8gd29ybGQ", "std", 12),
            ("aGk=aGk=", "std", 4),
            ("a$==", "std", 1),
        ] {
            let e = decode(text, variant).unwrap_err();
            assert_eq!(
                e,
                format!("illegal base64 data at input byte {at}"),
                "{text:?} {variant}"
            );
        }
    }
}
