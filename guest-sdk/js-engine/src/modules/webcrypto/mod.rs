//! `stampede:webcrypto` (internal): the native half of WebCrypto's AES, ECDSA, ECDH, RSA, PBKDF2
//! and HKDF, over bytes. `webcrypto.js` is the other half: algorithm parameters, `CryptoKey`s,
//! usages and key formats (JWK is taken apart there).
//!
//! Errors carry WebCrypto's names (`OperationError`, `DataError`, `NotSupportedError`), as
//! k6's do; randomness comes from the host (`wasi:random`, through `getrandom`).

/// Runs `$body` with `$d` the digest type of WebCrypto's hash `name` (k6's spelling:
/// `sha256`), for `kdf` and `rsa`.
macro_rules! with_hash {
    ($name:expr, $d:ident => $body:expr) => {
        match $name {
            "sha1" => {
                type $d = sha1::Sha1;
                $body
            }
            "sha256" => {
                type $d = sha2::Sha256;
                $body
            }
            "sha384" => {
                type $d = sha2::Sha384;
                $body
            }
            "sha512" => {
                type $d = sha2::Sha512;
                $body
            }
            other => Err(Fail::not_supported(format!("unsupported hash: {other}"))),
        }
    };
}

pub mod aes;
mod bindings;
pub mod ec;
pub mod kdf;
pub mod rsa;

use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::{Ctx, Exception, Module, Result};

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
    pub(super) fn throw(self, ctx: &Ctx<'_>) -> rquickjs::Error {
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

struct Native;

impl ModuleDef for Native {
    fn declare(decl: &Declarations<'_>) -> Result<()> {
        for name in bindings::NAMES {
            decl.declare(*name)?;
        }
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
        bindings::export(ctx, exports)
    }
}

/// Declares `stampede:webcrypto` under `name`.
pub fn declare<'js>(ctx: &Ctx<'js>, name: &str) -> Result<Module<'js>> {
    Module::declare_def::<Native, _>(ctx.clone(), name)
}

/// Hex text to bytes, for the known-answer tests.
#[cfg(test)]
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
