//! Builds examples/quickstart and examples/capacity into components that `stampede demo` and
//! `stampede demo capacity` carry inside the binary.
//! Set STAMPEDE_SKIP_GUEST_BUILD=1 to skip it (the demo then says how to get it).

use std::path::{Path, PathBuf};
use std::process::Command;

include!("src/cargo_env.rs");

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for path in [
        "examples/quickstart/src",
        "examples/quickstart/Cargo.toml",
        "examples/capacity/src",
        "examples/capacity/Cargo.toml",
        "guest-sdk/src",
        "guest-sdk/Cargo.toml",
        "host-api/wit",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=STAMPEDE_SKIP_GUEST_BUILD");
    if std::env::var_os("STAMPEDE_SKIP_GUEST_BUILD").is_some() {
        for name in DEMOS {
            std::fs::write(out_dir.join(format!("{name}.wasm")), b"").unwrap();
        }
        return;
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("guests");
    for name in DEMOS {
        let wasm = build(&root.join("examples").join(name), &target_dir, name);
        std::fs::copy(&wasm, out_dir.join(format!("{name}.wasm"))).unwrap();
    }
}

/// The examples the demos run.
const DEMOS: [&str; 2] = ["quickstart", "capacity"];

fn build(dir: &Path, target_dir: &Path, name: &str) -> PathBuf {
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
        .arg(target_dir);
    clear_outer_cargo(&mut cmd, &[]);
    let status = cmd
        .status()
        .expect("running cargo to build the demo script");
    if !status.success() {
        panic!(
            "building examples/{name} for wasm32-wasip2 failed. If the target is missing, run \
             `rustup target add wasm32-wasip2`; to build stampede without its demos, set STAMPEDE_SKIP_GUEST_BUILD=1"
        );
    }
    target_dir.join(format!("wasm32-wasip2/release/{name}.wasm"))
}
