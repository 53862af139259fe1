//! Request bodies compressed with k6's `compression` param: `"gzip"`, `"deflate"` (zlib, as
//! k6 sends it), `"br"`, `"zstd"`, or a comma-separated list applied in order. The request
//! then carries `Content-Encoding` (the codings, joined by `, `) and the compressed length.

use std::io::Write;

use super::decompress::Coding;
use super::errors::{self, RequestError};

/// Parses k6's `compression` value; an unknown name is an error naming it.
pub(crate) fn parse(list: &str) -> Result<Vec<Coding>, RequestError> {
    list.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            Coding::from_token(t).filter(|_| t != "x-gzip").ok_or_else(|| {
                RequestError::new(
                    errors::GENERIC,
                    format!(
                        "unknown compression algorithm {t}, supported algorithms are [gzip deflate zstd br]"
                    ),
                )
            })
        })
        .collect()
}

/// The `Content-Encoding` of a body compressed with `codings`.
pub(crate) fn content_encoding(codings: &[Coding]) -> String {
    codings
        .iter()
        .map(|c| c.token())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compresses `body` with each of `codings` in turn.
pub(crate) fn encode(codings: &[Coding], body: &[u8]) -> Result<Vec<u8>, RequestError> {
    let mut data = body.to_vec();
    for coding in codings {
        data = encode_one(*coding, &data).map_err(|e| {
            RequestError::new(
                errors::GENERIC,
                format!("compressing the request body ({}): {e}", coding.token()),
            )
        })?;
    }
    Ok(data)
}

fn encode_one(coding: Coding, data: &[u8]) -> std::io::Result<Vec<u8>> {
    let out = Vec::with_capacity(data.len() / 2 + 64);
    match coding {
        Coding::Gzip => {
            let mut e = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            e.write_all(data)?;
            e.finish()
        }
        Coding::Deflate => {
            let mut e = flate2::write::ZlibEncoder::new(out, flate2::Compression::default());
            e.write_all(data)?;
            e.finish()
        }
        Coding::Br => {
            // Quality 6 and a 4 MiB window, as Go's brotli writer that k6 uses.
            let mut e = brotli::CompressorWriter::new(out, 8 << 10, 6, 22);
            e.write_all(data)?;
            e.flush()?;
            Ok(e.into_inner())
        }
        Coding::Zstd => zstd::stream::encode_all(data, 3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_k6s_and_unknown_ones_are_errors() {
        assert_eq!(parse("gzip, br").unwrap(), vec![Coding::Gzip, Coding::Br]);
        assert_eq!(
            parse(" zstd ,deflate").unwrap(),
            vec![Coding::Zstd, Coding::Deflate]
        );
        assert!(parse("").unwrap().is_empty());
        let err = parse("gzip,lzma").unwrap_err();
        assert!(
            err.message.contains("unknown compression algorithm lzma"),
            "{}",
            err.message
        );
        assert_eq!(content_encoding(&[Coding::Gzip, Coding::Br]), "gzip, br");
    }
}
