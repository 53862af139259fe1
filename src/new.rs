//! `stampede new NAME --lang rust|js|python`: a script project that runs as generated.

use std::path::{Path, PathBuf};

use crate::cli::Lang;

/// Where the Rust SDK lives (the generated crate depends on it by path).
const SDK_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/guest-sdk");

const RUST_MAIN: &str = r#"//! A stampede script: each iteration GETs $BASE_URL/ and checks the answer.
//!
//!     stampede run . -e BASE_URL=http://127.0.0.1:8080

use stampede::{check, http, Options};

fn options() -> Options {
    Options::new()
        .vus(10)
        .duration("30s")
        .threshold("http_req_duration", "p(95)<250")
        .threshold("checks", "rate>0.99")
}

fn iteration() {
    let base = stampede::env("BASE_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let res = http::get(&format!("{base}/"));
    check!(res, {
        "status is 200" => |r| r.status() == 200,
    });
    stampede::sleep_secs(1.0);
}

stampede::script! {
    options: options,
    default: iteration,
}
"#;

const JS_MAIN: &str = r#"// A stampede script: each iteration GETs BASE_URL/ and checks the answer.
//
//     stampede run script.js -e BASE_URL=http://127.0.0.1:8080

import http from 'stampede/http';
import { check, sleep } from 'stampede';

export const options = {
  vus: 10,
  duration: '30s',
  thresholds: {
    http_req_duration: ['p(95)<250'],
    checks: ['rate>0.99'],
  },
};

export default function () {
  const base = __ENV.BASE_URL || 'http://127.0.0.1:8080';
  const res = http.get(`${base}/`);
  check(res, {
    'status is 200': (r) => r.status === 200,
  });
  sleep(1);
}
"#;

const PY_MAIN: &str = r#""""A stampede script: each iteration GETs BASE_URL/ and checks the answer.

    stampede run script.py -e BASE_URL=http://127.0.0.1:8080
"""

from stampede import check, env, http, sleep

options = {
    "vus": 10,
    "duration": "30s",
    "thresholds": {"http_req_duration": ["p(95)<250"], "checks": ["rate>0.99"]},
}


def default():
    base = env("BASE_URL", "http://127.0.0.1:8080")
    res = http.get(f"{base}/")
    check(res, {"status is 200": lambda r: r.status == 200})
    sleep(1)
"#;

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The crate name for `name`: letters, digits, `-` and `_`.
fn crate_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        s
    } else {
        format!("script-{s}")
    }
}

/// Creates the project; returns the command that runs it.
pub fn create(dir: &Path, lang: Lang) -> Result<String, String> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(format!("{} already exists and is not empty", dir.display()));
    }
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("script");
    let run = match lang {
        Lang::Rust => {
            write(
                &dir.join("Cargo.toml"),
                &format!(
                    "[package]\nname = \"{}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
                     # A script is its own crate, built for wasm32-wasip2 (see .cargo/config.toml).\n[workspace]\n\n\
                     [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\n\
                     stampede = {{ package = \"stampede-sdk\", path = {:?} }}\n\n\
                     [profile.release]\nopt-level = \"s\"\ndebug = \"line-tables-only\"\n",
                    crate_name(name),
                    SDK_DIR
                ),
            )?;
            write(
                &dir.join(".cargo/config.toml"),
                "[build]\ntarget = \"wasm32-wasip2\"\n",
            )?;
            write(&dir.join("src/lib.rs"), RUST_MAIN)?;
            write(&dir.join(".gitignore"), "target/\n")?;
            format!(
                "stampede run {} -e BASE_URL=http://127.0.0.1:8080",
                dir.display()
            )
        }
        Lang::Js => {
            write(&dir.join("script.js"), JS_MAIN)?;
            format!(
                "stampede run {} -e BASE_URL=http://127.0.0.1:8080",
                dir.join("script.js").display()
            )
        }
        Lang::Python => {
            write(&dir.join("script.py"), PY_MAIN)?;
            format!(
                "stampede run {} -e BASE_URL=http://127.0.0.1:8080",
                dir.join("script.py").display()
            )
        }
    };
    Ok(run)
}

/// The directory for `name` relative to the current one.
pub fn target(name: &str) -> PathBuf {
    PathBuf::from(name)
}
