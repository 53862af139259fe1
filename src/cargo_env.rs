// Running cargo from inside cargo: the outer build's settings (its flags, wrappers such as
// clippy's, its jobserver, its target) must not leak into the build of a guest. Shared by
// `build.rs`, the binary and the tests (each includes this file).

/// Removes the outer cargo's variables from `cmd`'s environment, except those in `keep`.
pub fn clear_outer_cargo(cmd: &mut std::process::Command, keep: &[&str]) {
    for (var, _) in std::env::vars_os() {
        let var = var.to_string_lossy().into_owned();
        let outer = (var.starts_with("CARGO_") && var != "CARGO_HOME")
            || var.starts_with("RUSTC")
            || var == "RUSTFLAGS"
            || var == "RUSTDOC";
        if outer && !keep.contains(&var.as_str()) {
            cmd.env_remove(var);
        }
    }
}
