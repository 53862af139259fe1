//! Builds what the stampede binary carries inside it:
//! - examples/quickstart and examples/capacity, the scripts `stampede demo` and `stampede demo
//!   capacity` run;
//! - guest-sdk/js-engine, the JavaScript engine that runs `.js` scripts.
//!
//! Set STAMPEDE_SKIP_GUEST_BUILD=1 to skip them all (the demos and `.js` scripts then say how to
//! get them). The engine needs a C compiler for wasm (Debian: clang-19, lld-19, llvm-19 and
//! wasi-libc): without it stampede is built without the engine, with a warning, and everything
//! else works.
//!
//! STAMPEDE_JS_ENGINE=FILE takes the engine from FILE instead of building it, even with
//! STAMPEDE_SKIP_GUEST_BUILD set: an engine built elsewhere from the same sources
//! (target/guests/wasm32-wasip2/release/stampede_js_engine.wasm), as tests/container.sh hands
//! one into the container build. It is checked to be a component of this version's engine world.

use std::path::{Path, PathBuf};
use std::process::Command;

include!("src/cargo_env.rs");
include!("src/engine_check.rs");
include!("src/quickjs_patch.rs");

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
        "guest-sdk/js-engine/src",
        "guest-sdk/js-engine/Cargo.toml",
        "guest-sdk/js-engine/Cargo.lock",
        "guest-sdk/js-engine/.cargo/config.toml",
        "src/quickjs_patch.rs",
        "host-api/wit",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    // The engine's patched QuickJS (src/quickjs_patch.rs): made again when it is gone.
    println!("cargo:rerun-if-changed=guest-sdk/js-engine/patched/rquickjs-sys/.stampede-patch");
    println!("cargo:rerun-if-env-changed=STAMPEDE_SKIP_GUEST_BUILD");
    println!("cargo:rerun-if-env-changed=STAMPEDE_JS_ENGINE");
    let prebuilt_engine = std::env::var_os("STAMPEDE_JS_ENGINE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    if let Some(path) = &prebuilt_engine {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    // The engine's unit tests run natively, on this target (tests/all/sdk_units.rs).
    println!(
        "cargo:rustc-env=STAMPEDE_HOST_TARGET={}",
        std::env::var("TARGET").unwrap()
    );
    let engine_out = out_dir.join("js_engine.wasm");
    if std::env::var_os("STAMPEDE_SKIP_GUEST_BUILD").is_some() {
        for name in DEMOS {
            std::fs::write(fresh(&out_dir.join(format!("{name}.wasm"))), b"").unwrap();
        }
        match &prebuilt_engine {
            Some(path) => take_engine(&root, path, &engine_out),
            None => std::fs::write(fresh(&engine_out), b"").unwrap(),
        }
        return;
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("guests");
    for name in DEMOS {
        let wasm = build(&root.join("examples").join(name), &target_dir).unwrap_or_else(|| {
            panic!(
                "building examples/{name} for wasm32-wasip2 failed. If the target is missing, run \
                 `rustup target add wasm32-wasip2`; to build stampede without its demos, set STAMPEDE_SKIP_GUEST_BUILD=1"
            )
        });
        std::fs::copy(
            wasm.join(format!("{name}.wasm")),
            fresh(&out_dir.join(format!("{name}.wasm"))),
        )
        .unwrap();
    }

    if let Some(path) = &prebuilt_engine {
        take_engine(&root, path, &engine_out);
        return;
    }
    // The engine's C (QuickJS) needs clang and wasi-libc: without them, build the rest.
    if !c_for_wasm_available() {
        println!(
            "cargo:warning=stampede is built without its JavaScript engine: it needs clang-19, llvm-19 and \
             wasi-libc (Debian: apt-get install clang-19 llvm-19 wasi-libc); `.js` scripts will say so"
        );
        std::fs::write(fresh(&engine_out), b"").unwrap();
        // Looked at again once they are installed.
        println!("cargo:rerun-if-changed=/usr/include/wasm32-wasi/stdio.h");
        return;
    }
    if let Err(why) = prepare_quickjs(&root, &out_dir) {
        panic!(
            "preparing QuickJS for the JavaScript engine failed: {why}; to build stampede without the \
             engine, set STAMPEDE_SKIP_GUEST_BUILD=1"
        );
    }
    match build(&root.join("guest-sdk/js-engine"), &target_dir) {
        Some(dir) => {
            std::fs::copy(dir.join("stampede_js_engine.wasm"), fresh(&engine_out)).unwrap();
        }
        None => panic!(
            "building the JavaScript engine (guest-sdk/js-engine) for wasm32-wasip2 failed: see cargo's messages \
             above; to build stampede without it, set STAMPEDE_SKIP_GUEST_BUILD=1"
        ),
    }
}

/// `path`, with any file there removed first: written to, a file that is a hard link (a build
/// directory copied with `cp -al` for a second worktree) would change in both places.
fn fresh(path: &Path) -> &Path {
    let _ = std::fs::remove_file(path);
    path
}

/// Copies the prebuilt engine at `path` (STAMPEDE_JS_ENGINE) to `out`, once checked to be one
/// this stampede can run; a build error saying what is wrong otherwise.
fn take_engine(root: &Path, path: &Path, out: &Path) {
    let fail = |why: String| -> ! {
        panic!(
            "STAMPEDE_JS_ENGINE={}: {why}. Unset it to build the engine here (guest-sdk/js-engine)",
            path.display()
        )
    };
    let size = std::fs::metadata(path)
        .unwrap_or_else(|e| fail(format!("cannot read it: {e}")))
        .len();
    if size > MAX_ENGINE_BYTES {
        fail(format!(
            "{size} bytes, more than an engine's {MAX_ENGINE_BYTES}"
        ));
    }
    let wasm = std::fs::read(path).unwrap_or_else(|e| fail(format!("cannot read it: {e}")));
    let wit = std::fs::read_to_string(root.join("host-api/wit/script.wit")).unwrap();
    let package = wit_package(&wit).expect("script.wit has a package line");
    if let Err(why) = check_engine(&wasm, package) {
        fail(why);
    }
    std::fs::write(fresh(out), wasm).unwrap();
}

/// Whether Debian's clang-19, llvm-ar-19 and the wasi-libc headers are there.
fn c_for_wasm_available() -> bool {
    let runs = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    runs("clang-19")
        && runs("llvm-ar-19")
        && Path::new("/usr/include/wasm32-wasi/stdio.h").is_file()
}

/// The examples the demos run.
const DEMOS: [&str; 2] = ["quickstart", "capacity"];

/// Builds the crate in `dir` for wasm32-wasip2 in release mode; returns the directory of its
/// artifacts, or `None` when the build failed.
fn build(dir: &Path, target_dir: &Path) -> Option<PathBuf> {
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
    let status = cmd.status().expect("running cargo to build a guest");
    status
        .success()
        .then(|| target_dir.join("wasm32-wasip2/release"))
}
