//! The end-of-test summary's text as k6 v2.2 prints it, for what an outside comparison with
//! `k6 run` found: rates and times cut (not rounded), the CUSTOM section first, no
//! `group_duration`, checks listed flat in compact mode, and in full mode the groups nested
//! (`█ GROUP: g1`, then `↳ GROUP: inner`) with no section for the scenario `default`.

use crate::js_engine::{js_cache, write_files};
use crate::support::{run_command, stampede, RunResult, TempDir};

fn run_script(tag: &str, script: &str, args: &[&str]) -> RunResult {
    let dir = TempDir::new(tag);
    write_files(&dir, &[("script.js", script)]);
    let mut cmd = stampede();
    cmd.current_dir(dir.path(""))
        .env("STAMPEDE_CACHE_DIR", js_cache())
        .args(["run", "script.js", "-q"])
        .args(args);
    run_command(cmd, None)
}

const SCRIPT: &str = r#"
import { check, group } from 'k6';
import { Rate, Trend } from 'k6/metrics';
const r = new Rate('my_rate');
const a = new Trend('t_a', true);
const e = new Trend('t_e', true);
const f = new Trend('t_f');
export const options = { iterations: 2 };
export default function () {
  [1, 0, 0].forEach((v) => r.add(v));
  a.add(1234.567);
  e.add(65432.1);
  f.add(123.456789);
  check(1, { top: () => true });
  group('g1', () => {
    check(1, { ok: () => true });
    group('inner', () => check(1, { deep: () => false }));
  });
}
"#;

/// k6 v2.2 prints, for this script (the CUSTOM section before EXECUTION):
#[test]
fn the_compact_summary_reads_like_k6s() {
    let r = run_script("summary-compact", SCRIPT, &[]);
    assert_eq!(r.code, 0, "{}", r.output());
    let out = &r.stdout;
    assert!(
        out.contains(
            "    checks_succeeded...: 66.66% 4 out of 6\n    checks_failed......: 33.33% 2 out of 6\n\n    \
             ✓ top\n    ✓ ok\n    ✗ deep\n      ↳  0% — ✓ 0 / ✗ 2\n\n    CUSTOM\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("    my_rate..............: 33.33% 2 out of 6"),
        "{out}"
    );
    assert!(
        out.contains(
            "    t_a..................: avg=1.23s      min=1.23s      med=1.23s      max=1.23s      p(90)=1.23s      p(95)=1.23s     \n    \
             t_e..................: avg=1m5s       min=1m5s       med=1m5s       max=1m5s       p(90)=1m5s       p(95)=1m5s      \n    \
             t_f..................: avg=123.456789 min=123.456789 med=123.456789 max=123.456789 p(90)=123.456789 p(95)=123.456789\n\n    EXECUTION\n"
        ),
        "{out}"
    );
    // Nor vus and vus_max: k6 samples them each second, and this test takes less.
    for absent in [
        "group_duration",
        "█ g1",
        "GROUP",
        "SCENARIO",
        "\n    vus..",
        "\n    vus_max..",
    ] {
        assert!(!out.contains(absent), "{absent}: {out}");
    }
}

#[test]
fn the_full_summary_nests_groups_like_k6s() {
    let r = run_script("summary-full", SCRIPT, &["--summary-mode", "full"]);
    assert_eq!(r.code, 0, "{}", r.output());
    let out = &r.stdout;
    let g1 = out.find("\n  █ GROUP: g1 \n\n    checks_total.......: 2 ");
    assert!(g1.is_some(), "{out}");
    assert!(
        out.contains(
            "    checks_succeeded...: 100.00% 2 out of 2\n    checks_failed......: 0.00%   0 out of 2\n\n    \
             ✓ ok\n\n    ↳ GROUP: inner \n\n      checks_total.......: 2 "
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "      checks_succeeded...: 0.00%   0 out of 2\n      checks_failed......: 100.00% 2 out of 2\n\n      \
             ✗ deep\n          ↳  0% — ✓ 0 / ✗ 2\n"
        ),
        "{out}"
    );
    for absent in ["group_duration", "SCENARIO: default", "› inner"] {
        assert!(!out.contains(absent), "{absent}: {out}");
    }
}
