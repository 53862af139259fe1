//! Scripts in other languages. `stampede run script.py` builds the script into a component with
//! componentize-py, installed on first use into stampede's cache, and keeps the result keyed by
//! the hash of everything that went into it. `stampede run script.js` builds nothing: the
//! JavaScript engine carried inside the binary runs the script as data.
//!
//! The Python SDK and its build script are carried inside the binary, as is the WIT: a stampede
//! binary builds scripts for exactly the host API it serves.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// The host API, as scripts see it.
const WIT: &str = include_str!("../host-api/wit/script.wit");

/// componentize-py, pinned: the SDK is written against its bindings.
const COMPONENTIZE_PY: &str = "0.25.1";

/// The Python SDK and its build script, by path relative to the SDK directory.
const PYTHON_SDK: &[(&str, &str)] = &[
    ("build.py", include_str!("../guest-sdk/python/build.py")),
    (
        "stampede/__init__.py",
        include_str!("../guest-sdk/python/stampede/__init__.py"),
    ),
    (
        "stampede/http.py",
        include_str!("../guest-sdk/python/stampede/http.py"),
    ),
    (
        "stampede/_wit.py",
        include_str!("../guest-sdk/python/stampede/_wit.py"),
    ),
    (
        "stampede/_world.py",
        include_str!("../guest-sdk/python/stampede/_world.py"),
    ),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Writes `files` under `dir/<name>-<hash>` unless already there; returns that directory.
fn materialize(dir: &Path, name: &str, files: &[(&str, &str)]) -> Result<PathBuf, String> {
    let mut h = Sha256::new();
    for (path, text) in files {
        h.update(path.as_bytes());
        h.update(text.as_bytes());
    }
    let root = dir.join(format!("{name}-{}", hex(&h.finalize())));
    if root.join(".complete").exists() {
        return Ok(root);
    }
    let write = |path: &Path, text: &str| -> Result<(), String> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    for (path, text) in files {
        write(&root.join(path), text)?;
    }
    write(&root.join(".complete"), "")?;
    Ok(root)
}

/// The WIT directory, written out for the componentizers.
fn wit_dir(cache: &Path) -> Result<PathBuf, String> {
    materialize(&cache.join("sdk"), "wit", &[("script.wit", WIT)])
}

/// The hash of a script and the files next to it it may import.
fn script_key(script: &Path, extensions: &[&str], salt: &str) -> Result<String, String> {
    let dir = script.parent().unwrap_or(Path::new("."));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|x| extensions.iter().any(|e| x == *e))
        })
        .collect();
    files.sort();
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(
        script
            .file_name()
            .map(|n| n.as_encoded_bytes())
            .unwrap_or_default(),
    );
    for f in files {
        h.update(
            f.file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or_default(),
        );
        h.update(std::fs::read(&f).map_err(|e| format!("cannot read {}: {e}", f.display()))?);
    }
    Ok(hex(&h.finalize()))
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {what} ({:?}): {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// componentize-py in a virtual environment of stampede's cache, installed on first use.
fn python_toolchain(cache: &Path, quiet: bool) -> Result<PathBuf, String> {
    let venv = cache
        .join("toolchains")
        .join(format!("componentize-py-{COMPONENTIZE_PY}"));
    let python = venv.join("bin/python");
    if venv.join("bin/componentize-py").exists() {
        return Ok(python);
    }
    let python3 = std::env::var_os("STAMPEDE_PYTHON").unwrap_or_else(|| "python3".into());
    if !quiet {
        eprintln!(
            "installing componentize-py {COMPONENTIZE_PY} into {} (once; needs Python 3 with venv, and PyPI)…",
            venv.display()
        );
    }
    let hint = "`stampede run script.py` needs Python 3 with its venv module (e.g. `apt-get install python3 python3-venv`) \
                and access to PyPI the first time";
    run(
        Command::new(&python3).arg("-m").arg("venv").arg(&venv),
        "creating a Python virtual environment",
    )
    .map_err(|e| format!("{e}: {hint}"))?;
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("componentize-py=={COMPONENTIZE_PY}")),
        "installing componentize-py",
    )
    .map_err(|e| {
        let _ = std::fs::remove_dir_all(&venv);
        format!("{e}: {hint}")
    })?;
    Ok(python)
}

/// Builds a Python script into a component; returns its path in the cache.
pub fn python(script: &Path, cache: &Path, rebuild: bool, quiet: bool) -> Result<PathBuf, String> {
    let sdk = materialize(&cache.join("sdk"), "python", PYTHON_SDK)?;
    let key = script_key(
        script,
        &["py"],
        &format!("{}{COMPONENTIZE_PY}", sdk.display()),
    )?;
    let out = cache.join("components").join(format!("py-{key}.wasm"));
    if out.exists() && !rebuild {
        return Ok(out);
    }
    let python = python_toolchain(cache, quiet)?;
    let wit = wit_dir(cache)?;
    if !quiet {
        eprintln!("building {} with componentize-py…", script.display());
    }
    std::fs::create_dir_all(out.parent().expect("components dir")).map_err(|e| e.to_string())?;
    let tmp = out.with_extension(format!("tmp{}.wasm", std::process::id()));
    let mut cmd = Command::new(python);
    cmd.arg(sdk.join("build.py"))
        .arg(script)
        .arg("-o")
        .arg(&tmp)
        .arg("--wit")
        .arg(&wit);
    if quiet {
        cmd.stdout(std::process::Stdio::null());
    }
    run(&mut cmd, "building the Python script")
        .map_err(|e| format!("{e}: see the messages above"))?;
    std::fs::rename(&tmp, &out).map_err(|e| format!("cannot store the built script: {e}"))?;
    Ok(out)
}

/// The JavaScript engine (guest-sdk/js-engine), built by build.rs (empty if it could not be).
pub(crate) const JS_ENGINE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/js_engine.wasm"));

/// The JavaScript engine component, pre-initialised (from the cache when it was made before).
pub fn js_engine(cache: Option<&Path>) -> Result<Vec<u8>, String> {
    if JS_ENGINE.is_empty() {
        return Err(
            "this stampede was built without its JavaScript engine: install clang-19, llvm-19 and \
             wasi-libc (Debian: apt-get install clang-19 llvm-19 wasi-libc) and build stampede again"
                .into(),
        );
    }
    stampede_runtime::preinit::preinitialized(
        JS_ENGINE,
        cache.map(|c| c.join("engines")).as_deref(),
    )
}
