//! Finding the component to run: a `.wasm` file, or a Rust script crate built on the spot.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use stampede_host_api::modules::ScriptFiles;

/// Where stampede keeps built and compiled scripts: `$STAMPEDE_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/stampede`, else `~/.cache/stampede`.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("STAMPEDE_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("stampede"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/stampede"))
}

/// A script ready to run: the component, its name for messages, and for JavaScript the files
/// the engine component loads.
pub struct Loaded {
    /// The component.
    pub wasm: Vec<u8>,
    /// The script's name.
    pub name: String,
    /// The script's files, for an engine component.
    pub files: Option<Arc<ScriptFiles>>,
}

/// Reads the component at `path`: a `.wasm` file as it is; a Rust crate directory or a `.py`
/// script built into one first; a `.js` or `.ts` script run by the JavaScript engine.
/// `rebuild` ignores a cached build.
pub fn load(path: &Path, quiet: bool, rebuild: bool) -> Result<Loaded, String> {
    if path == Path::new("-") {
        return from_stdin(rebuild);
    }
    let cache = || {
        cache_dir()
            .ok_or_else(|| "cannot find a cache directory: set STAMPEDE_CACHE_DIR".to_string())
    };
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let wasm_path = if path.is_dir() {
        build_crate(path, quiet)?
    } else if ext == "py" && path.is_file() {
        crate::lang::python(
            &path.canonicalize().map_err(|e| e.to_string())?,
            &cache()?,
            rebuild,
            quiet,
        )?
    } else if is_javascript(ext) && path.is_file() {
        let script = path.canonicalize().map_err(|e| e.to_string())?;
        let cache = if rebuild { None } else { cache_dir() };
        let wasm = crate::lang::js_engine(cache.as_deref())?;
        return Ok(Loaded {
            wasm,
            name: path.display().to_string(),
            files: Some(Arc::new(ScriptFiles::new(script))),
        });
    } else {
        path.to_owned()
    };
    let bytes = std::fs::read(&wasm_path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("script {} not found", wasm_path.display()),
        _ => format!("cannot read script {}: {e}", wasm_path.display()),
    })?;
    if bytes.is_empty() {
        return Err(format!("script {} is empty", wasm_path.display()));
    }
    let bytes = gunzip(bytes).map_err(|e| format!("script {}: {e}", wasm_path.display()))?;
    Ok(Loaded {
        wasm: bytes,
        name: wasm_path.display().to_string(),
        files: None,
    })
}

/// `stampede run -`, as `k6 run -`: the script is read from stdin — a component (`.wasm`, or
/// gzip-compressed) as it is, anything else as JavaScript whose imports and `open()` resolve
/// against the working directory.
fn from_stdin(rebuild: bool) -> Result<Loaded, String> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_COMPONENT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the script from stdin: {e}"))?;
    if bytes.len() as u64 > MAX_COMPONENT {
        return Err(format!(
            "the script on stdin is larger than {MAX_COMPONENT} bytes"
        ));
    }
    if bytes.is_empty() {
        return Err("the script on stdin is empty".into());
    }
    if bytes.starts_with(b"\0asm") || bytes.starts_with(&[0x1f, 0x8b]) {
        let wasm = gunzip(bytes).map_err(|e| format!("the script on stdin: {e}"))?;
        return Ok(Loaded {
            wasm,
            name: "-".into(),
            files: None,
        });
    }
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot find the working directory: {e}"))?;
    let cache = if rebuild { None } else { cache_dir() };
    let wasm = crate::lang::js_engine(cache.as_deref())?;
    Ok(Loaded {
        wasm,
        name: "-".into(),
        files: Some(Arc::new(ScriptFiles::with_main_code(cwd.join("-"), bytes))),
    })
}

/// Whether a script with the extension `ext` is run by the JavaScript engine: JavaScript, or
/// TypeScript (its types removed as it is loaded).
pub fn is_javascript(ext: &str) -> bool {
    matches!(ext, "js" | "mjs" | "ts" | "mts" | "cts")
}

/// The largest component read from a gzip-compressed file.
const MAX_COMPONENT: u64 = 512 << 20;

/// A component compressed with gzip (`NAME.wasm.gz`, as `stampede kubernetes render` puts it
/// in a ConfigMap) is read decompressed; anything else as it is.
fn gunzip(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .take(MAX_COMPONENT + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot decompress it (gzip): {e}"))?;
    if out.len() as u64 > MAX_COMPONENT {
        return Err(format!(
            "it decompresses to more than {MAX_COMPONENT} bytes"
        ));
    }
    Ok(out)
}

/// `bytes` compressed with gzip, as [`load`] reads them back.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

/// Builds the crate in `dir` for wasm32-wasip2 in release mode and returns its component.
pub fn build_crate(dir: &Path, quiet: bool) -> Result<PathBuf, String> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(format!(
            "{} is a directory without a Cargo.toml: give a .wasm component or a Rust script crate",
            dir.display()
        ));
    }
    if !quiet {
        eprintln!("building {} for wasm32-wasip2…", dir.display());
    }
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(dir)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--message-format=json-render-diagnostics",
        ])
        .stdout(Stdio::piped())
        .stderr(if quiet {
            Stdio::piped()
        } else {
            Stdio::inherit()
        });
    // Settings meant for an outer cargo must not leak into the guest's build; where its output
    // goes is the user's to say.
    crate::cargo_env::clear_outer_cargo(&mut cmd, &["CARGO_TARGET_DIR"]);
    let out = cmd.output().map_err(|e| {
        format!(
            "cannot run cargo to build {}: {e} (is Rust installed?)",
            dir.display()
        )
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let hint =
            if stderr.contains("wasm32-wasip2") && stderr.contains("target may not be installed") {
                " — the wasm32-wasip2 target is missing: run `rustup target add wasm32-wasip2`"
            } else {
                ""
            };
        if quiet {
            eprint!("{stderr}");
        }
        return Err(format!(
            "building the script crate {} failed{hint}",
            dir.display()
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut found = None;
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let kinds = msg["target"]["kind"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !kinds.iter().any(|k| k == "cdylib") {
            continue;
        }
        if let Some(files) = msg["filenames"].as_array() {
            for f in files.iter().filter_map(|f| f.as_str()) {
                if f.ends_with(".wasm") {
                    found = Some(PathBuf::from(f));
                }
            }
        }
    }
    found.ok_or_else(|| {
        format!(
            "building {} produced no .wasm component: a script crate needs `crate-type = [\"cdylib\"]`",
            dir.display()
        )
    })
}
