//! The JavaScript engine's and the Python SDK's own unit tests (against fake hosts), run with
//! their own test runners.

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The engine's modules against a fake host, natively (the engine's crate is built for wasm;
/// its unit tests run on the machine's own target).
#[test]
fn the_javascript_engine_passes_its_unit_tests() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "test",
        "--target",
        env!("STAMPEDE_HOST_TARGET"),
        "--target-dir",
    ])
    .arg(crate::guests::target_dir().join("native"))
    .current_dir(root().join("guest-sdk/js-engine"));
    crate::guests::cargo_env::clear_outer_cargo(&mut cmd, &[]);
    let out = cmd.output().expect("running cargo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("test result: ok"), "{text}");
}

#[test]
fn the_python_sdk_passes_its_unit_tests() {
    // A virtual environment with componentize-py (the tests generate the bindings with it)
    // and pytest, made once under target/.
    let venv = root().join("target/python-sdk-venv");
    let python = venv.join("bin/python");
    if !venv.join("bin/pytest").exists() {
        let ok = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()
            .expect("python3")
            .success()
            && Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "componentize-py==0.25.1",
                    "pytest",
                ])
                .status()
                .expect("pip")
                .success();
        assert!(ok, "could not make {} (see tests/run.sh)", venv.display());
    }
    let out = Command::new(&python)
        .args(["-m", "pytest", "-q", "guest-sdk/python/tests"])
        .current_dir(root())
        .output()
        .expect("running pytest");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("passed") && !text.contains("failed"),
        "{text}"
    );
}
