// Whether a prebuilt JavaScript engine (STAMPEDE_JS_ENGINE, for build.rs) is one this stampede
// can run. Included by `build.rs`; compiled into the binary for its tests only.

/// The largest engine file taken (the engine is about 4 MB).
pub const MAX_ENGINE_BYTES: u64 = 64 << 20;

/// Checks that `wasm` is a WebAssembly component of the `js-engine` world of the host API
/// whose package line is `package` (as in script.wit: `stampede:script@0.3.0`): it imports
/// that version's `modules` and `execution` interfaces and exports `handle-summary` and
/// `wizer-initialize`. The error says what is wrong.
pub fn check_engine(wasm: &[u8], package: &str) -> Result<(), String> {
    match wasm.get(..8) {
        Some([0, b'a', b's', b'm', 0x0d, 0, 1, 0]) => {}
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => {
            return Err(
                "a core WebAssembly module, not a component: the engine is guest-sdk/js-engine built for \
                 wasm32-wasip2 (target/guests/wasm32-wasip2/release/stampede_js_engine.wasm)"
                    .into(),
            )
        }
        Some([0, b'a', b's', b'm', ..]) => {
            return Err("a WebAssembly binary of a version or layer stampede does not know".into())
        }
        _ => return Err("not a WebAssembly binary".into()),
    }
    let (name, version) = package
        .split_once('@')
        .ok_or_else(|| format!("the host API's package `{package}` has no version"))?;
    let imports = ["modules", "execution"].map(|i| format!("{name}/{i}@{version}"));
    let exports = ["handle-summary".to_owned(), "wizer-initialize".to_owned()];
    let missing: Vec<&str> = imports
        .iter()
        .chain(&exports)
        .filter(|n| !wasm.windows(n.len()).any(|w| w == n.as_bytes()))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "a component, but not this stampede's JavaScript engine (host API {package}): it does not \
             name {}; build it from this version's guest-sdk/js-engine",
            missing.join(", ")
        ))
    }
}

/// The package line of script.wit (`stampede:script@0.3.0`).
pub fn wit_package(script_wit: &str) -> Option<&str> {
    script_wit
        .lines()
        .find_map(|l| l.trim().strip_prefix("package "))
        .map(|p| p.trim().trim_end_matches(';').trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIT: &str = include_str!("../host-api/wit/script.wit");

    #[test]
    fn the_engine_built_here_passes_and_other_wasm_is_refused_with_the_reason() {
        let package = wit_package(WIT).unwrap();
        assert!(package.starts_with("stampede:script@"), "{package}");
        if !crate::lang::JS_ENGINE.is_empty() {
            check_engine(crate::lang::JS_ENGINE, package).unwrap();
            assert!(crate::lang::JS_ENGINE.len() as u64 <= MAX_ENGINE_BYTES / 4);
            // The same engine for another version of the host API.
            let err = check_engine(crate::lang::JS_ENGINE, "stampede:script@0.1.0").unwrap_err();
            assert!(err.contains("stampede:script/modules@0.1.0"), "{err}");
        }
        // A Rust script (the demo): a component, but no engine.
        if !crate::commands::QUICKSTART.is_empty() {
            let err = check_engine(crate::commands::QUICKSTART, package).unwrap_err();
            assert!(
                err.contains("not this stampede's JavaScript engine"),
                "{err}"
            );
            assert!(err.contains("/modules@"), "{err}");
        }
        let core = b"\0asm\x01\0\0\0";
        assert!(check_engine(core, package)
            .unwrap_err()
            .contains("core WebAssembly module"));
        let text = b"function f() {}";
        assert_eq!(
            check_engine(text, package).unwrap_err(),
            "not a WebAssembly binary"
        );
        assert_eq!(
            check_engine(b"", package).unwrap_err(),
            "not a WebAssembly binary"
        );
    }
}
