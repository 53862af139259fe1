//! Builds the test guests and examples once per test run, into `target/guests`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

#[path = "../../src/cargo_env.rs"]
pub mod cargo_env;

/// Where guest builds go (shared with build.rs, so the quickstart is built once).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("guests")
}

fn cargo_build(dir: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(dir)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(target_dir());
    cargo_env::clear_outer_cargo(&mut cmd, &[]);
    let status = cmd.status().map_err(|e| format!("running cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "building the guests in {} failed (cargo's output is above; if the wasm32-wasip2 target is missing: \
             `rustup target add wasm32-wasip2`)",
            dir.display()
        ))
    }
}

/// The component built from the test guest or example named `name`.
pub fn guest(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        cargo_build(&root.join("tests/guests"))?;
        for example in [
            "quickstart",
            "api-flow",
            "ramping",
            "arrival-rate",
            "wasi-http",
            "capacity",
        ] {
            cargo_build(&root.join("examples").join(example))?;
        }
        Ok(())
    });
    if let Err(e) = built {
        panic!("{e}");
    }
    let file = name.replace('-', "_");
    let path = target_dir()
        .join("wasm32-wasip2/release")
        .join(format!("{file}.wasm"));
    let path = if path.exists() {
        path
    } else {
        target_dir()
            .join("wasm32-wasip2/release")
            .join(format!("{name}.wasm"))
    };
    assert!(path.exists(), "no guest named {name} at {}", path.display());
    path
}
