//! Source maps: where a place in a module's code came from (a bundle's original files, a
//! TypeScript file before its types were removed), so that errors name the user's own files.
//!
//! As k6 does, a module's map is the one its last `//# sourceMappingURL=` comment names: a
//! `data:application/json;base64,` URL inline, or a file resolved against the module's folder.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use swc_sourcemap::DecodedMap;

/// A module's source map, ready for look-ups.
pub struct Map {
    map: DecodedMap,
    /// The folder the map's relative `sources` are resolved against: the map file's own.
    base: PathBuf,
    /// Every place maps to this file (a TypeScript file's own map), whatever `sources` says.
    file: Option<PathBuf>,
}

impl std::fmt::Debug for Map {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Map").field("base", &self.base).finish()
    }
}

/// Where a module's source map is: the URL of its last `sourceMappingURL` comment.
pub fn url(code: &str) -> Option<&str> {
    // The comment is at the end of the file; a bundle's last lines are enough to find it.
    let tail = code.len().saturating_sub(1 << 20);
    let tail = (tail..=code.len())
        .find(|i| code.is_char_boundary(*i))
        .unwrap_or(code.len());
    let text = &code[tail..];
    let at = text
        .rfind("//# sourceMappingURL=")
        .or_else(|| text.rfind("//@ sourceMappingURL="))?;
    let rest = &text[at + "//# sourceMappingURL=".len()..];
    let url = rest.split(['\n', '\r']).next().unwrap_or("").trim();
    (!url.is_empty()).then_some(url)
}

/// The bytes of a `data:` URL's map (base64 JSON), or `None` when `url` is not one.
pub fn data(url: &str) -> Option<Result<Vec<u8>, String>> {
    let rest = url.strip_prefix("data:")?;
    let Some((kind, payload)) = rest.split_once(',') else {
        return Some(Err("a data: URL without ','".into()));
    };
    if !kind.ends_with(";base64") {
        return Some(Err(format!(
            "a data: URL of '{kind}': only base64 JSON is read"
        )));
    }
    Some(
        base64::engine::general_purpose::STANDARD
            .decode(payload.trim())
            .map_err(|e| format!("its base64 cannot be decoded: {e}")),
    )
}

impl Map {
    /// The map in `json`, whose relative sources are files next to `base` (a folder). With
    /// `file`, every place it names is in that file.
    pub fn parse(json: &[u8], base: &Path, file: Option<PathBuf>) -> Result<Map, String> {
        let map =
            swc_sourcemap::decode_slice(json).map_err(|e| format!("not a source map: {e}"))?;
        Ok(Map {
            map,
            base: base.to_owned(),
            file,
        })
    }

    /// Where the 1-based `line:column` of the code came from: the file and its 1-based line
    /// and column.
    pub fn original(&self, line: u32, column: u32) -> Option<(String, u32, u32)> {
        let token = self
            .map
            .lookup_token(line.checked_sub(1)?, column.saturating_sub(1))?;
        if !token.has_source() {
            return None;
        }
        let path = match &self.file {
            Some(file) => file.display().to_string(),
            None => self.resolve(token.get_source()?),
        };
        Some((path, token.get_src_line() + 1, token.get_src_col() + 1))
    }

    /// A source's name as a path: relative ones against the map's folder (a URL's, for a
    /// remote module's map); URLs of another scheme (`webpack://…`) as they are.
    fn resolve(&self, source: &str) -> String {
        let remote = self.base.to_str().filter(|b| b.starts_with("https://"));
        if let (Some(base), false) = (remote, source.contains("://")) {
            if let Ok(url) = url::Url::parse(&format!("{base}/")).and_then(|u| u.join(source)) {
                return url.to_string();
            }
        }
        let source = source.strip_prefix("file://").unwrap_or(source);
        if source.starts_with('/') {
            return normalize(Path::new(source));
        }
        if source.contains("://") {
            return source.to_string();
        }
        normalize(&self.base.join(source))
    }
}

/// `path` without `.` and `..` parts.
fn normalize(path: &Path) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.to_str().unwrap_or_default().split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One mapping per line: generated line N (0-based) is line N+10 of `src/a.js`, column 0.
    const MAP: &str =
        r#"{"version":3,"sources":["../src/a.js"],"names":[],"mappings":"AAUA;AACA"}"#;

    #[test]
    fn the_last_url_comment_is_the_map() {
        assert_eq!(url("x\n//# sourceMappingURL=a.map\n"), Some("a.map"));
        assert_eq!(
            url("//# sourceMappingURL=old.map\nx\n//# sourceMappingURL=new.js.map"),
            Some("new.js.map")
        );
        assert_eq!(url("no map here"), None);
    }

    #[test]
    fn data_urls_are_decoded() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(MAP);
        let bytes = data(&format!("data:application/json;base64,{encoded}"))
            .unwrap()
            .unwrap();
        assert_eq!(bytes, MAP.as_bytes());
        assert!(data("app.js.map").is_none());
        assert!(data("data:application/json,{}").unwrap().is_err());
    }

    #[test]
    fn places_map_to_the_original_file() {
        let map = Map::parse(MAP.as_bytes(), Path::new("/w/dist"), None).unwrap();
        assert_eq!(map.original(1, 1), Some(("/w/src/a.js".into(), 11, 1)));
        assert_eq!(map.original(2, 5), Some(("/w/src/a.js".into(), 12, 1)));
        assert_eq!(map.original(0, 1), None);
        assert!(Map::parse(b"not json", Path::new("/"), None).is_err());
    }

    #[test]
    fn a_remote_map_s_sources_are_urls_of_its_server() {
        let base = Path::new("https://h.test:8443/lib/dist");
        let map = Map::parse(MAP.as_bytes(), base, None).unwrap();
        let at = |s: &str| map.resolve(s);
        assert_eq!(
            map.original(1, 1).unwrap().0,
            "https://h.test:8443/lib/src/a.js"
        );
        assert_eq!(at("/abs/b.js"), "https://h.test:8443/abs/b.js");
        assert_eq!(at("webpack://lib/./c.js"), "webpack://lib/./c.js");
    }
}
