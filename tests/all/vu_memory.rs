//! What an idle VU costs in memory: a stampede process holding 1 and then 300 VUs that sleep,
//! read from /proc/PID/smaps (Linux only). The bounds are several times what a VU costs now
//! (README "Performance", "VUs that sleep": about 40 KiB of PSS with the release build), so they
//! catch a change of kind — a huge page per fiber stack, tables or memory images written at
//! instantiation, a fiber stack touched deep — not noise.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use stampede_runtime::engine::ASYNC_STACK_SIZE;

use crate::guests::guest;
use crate::js_engine::{js_cache, write_files};
use crate::support::{stampede, TempDir};

/// Sums of the smaps fields of one process, in KiB, split between the fiber stacks and the rest.
#[derive(Debug, Default, Clone, Copy)]
struct Smaps {
    rss: u64,
    pss: u64,
    anon_huge: u64,
    /// Resident KiB in mappings of the fiber stacks' size behind a one-page guard.
    stacks: u64,
    /// How many of those have resident pages: one per VU asleep in a call, and a few more.
    stacks_in_use: u64,
}

fn field(line: &str, name: &str) -> Option<u64> {
    let rest = line.strip_prefix(name)?.strip_prefix(':')?;
    rest.trim().strip_suffix("kB")?.trim().parse().ok()
}

/// The start and end of the mapping a line of smaps opens (`start-end perms …`), or `None` for
/// a line of fields.
fn mapping_range(line: &str) -> Option<(u64, u64)> {
    let (a, b) = line.split_whitespace().next()?.split_once('-')?;
    Some((
        u64::from_str_radix(a, 16).ok()?,
        u64::from_str_radix(b, 16).ok()?,
    ))
}

fn read_smaps(pid: u32) -> Smaps {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps")).expect("reading smaps");
    let mut s = Smaps::default();
    // (start, end, perms, named) of the mapping the fields below belong to.
    let mut cur: Option<(u64, u64, String, bool)> = None;
    let mut cur_is_stack = false;
    for line in text.lines() {
        if let Some((a, b)) = mapping_range(line) {
            let mut parts = line.split_whitespace().skip(1);
            let perms = parts.next().unwrap_or("").to_string();
            let named = parts.nth(3).is_some();
            let prev = cur.take();
            cur_is_stack = !named
                && perms == "rw-p"
                && b - a == ASYNC_STACK_SIZE as u64
                && prev.as_ref().is_some_and(|(pa, pb, pp, pn)| {
                    *pb == a && pp == "---p" && !pn && pb - pa == 4096
                });
            cur = Some((a, b, perms, named));
            continue;
        }
        if let Some(v) = field(line, "Rss") {
            s.rss += v;
            if cur_is_stack {
                s.stacks += v;
                s.stacks_in_use += u64::from(v > 0);
            }
        } else if let Some(v) = field(line, "Pss") {
            s.pss += v;
        } else if let Some(v) = field(line, "AnonHugePages") {
            s.anon_huge += v;
        }
    }
    s
}

struct Sleepers(Child);

impl Drop for Sleepers {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `vus` VUs of the probe that sleep, and reads the process's memory once each VU is
/// asleep in a call (has a fiber stack in use) and the RSS stops growing.
fn idle(vus: u32) -> Smaps {
    let mut cmd = stampede();
    cmd.arg("run")
        .arg(guest("probe"))
        .args(["-q", "--no-summary", "-e", "MODE=sleep", "-e", "SLEEP=60"])
        .args(["-u", &vus.to_string(), "-d", "60s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = Sleepers(cmd.spawn().expect("starting stampede"));
    let pid = child.0.id();
    let started = Instant::now();
    let mut last = 0;
    std::thread::sleep(Duration::from_secs(2));
    loop {
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "stampede with {vus} sleeping VUs ended early"
        );
        let now = read_smaps(pid);
        let asleep = now.stacks_in_use >= u64::from(vus);
        if asleep && last > 0 && now.rss.abs_diff(last) <= 256.max(now.rss / 200) {
            return now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the RSS of {vus} VUs never settled"
        );
        last = now.rss;
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn an_idle_vu_costs_kilobytes_not_pages_of_its_reservations() {
    if !std::path::Path::new("/proc/self/smaps").exists() {
        return; // not Linux
    }
    let one = idle(1);
    let many = idle(301);
    let per_vu = |f: fn(&Smaps) -> u64| (f(&many).saturating_sub(f(&one))) as f64 / 300.0;
    let (rss, pss, stacks) = (per_vu(|s| s.rss), per_vu(|s| s.pss), per_vu(|s| s.stacks));
    let report = format!("per VU: RSS {rss:.1} KiB, PSS {pss:.1} KiB, fiber stack {stacks:.1} KiB");
    eprintln!("{report}");
    // PSS splits the memory image's shared pages among the VUs: what a VU really costs.
    assert!(pss < 160.0, "{report}");
    // RSS counts the image's pages in every VU that maps them (about 52 KiB for the probe).
    assert!(rss < 240.0, "{report}");
    // A VU asleep in a host call uses the top few pages of its 1 MiB fiber stack.
    assert!(stacks > 0.0 && stacks < 64.0, "{report}");
    // No transparent huge page backs a stack, a table or a linear memory.
    assert!(
        many.anon_huge.saturating_sub(one.anon_huge) < 2048,
        "{report}; AnonHugePages {} KiB with 301 VUs, {} KiB with 1",
        many.anon_huge,
        one.anon_huge
    );
}

/// A JavaScript VU that sleeps: what k6 scripts do between requests.
const SLEEPING_JS: &str = r#"
import http from 'k6/http';
import { check, sleep } from 'k6';

export default function () {
  if (__ENV.MODE === 'sleep') {
    sleep(60);
    return;
  }
  check(http.get(__ENV.URL), { 'status is 200': (r) => r.status === 200 });
}
"#;

/// For each memory image mapping of process `pid` (one per VU): its private (copied) KiB and
/// its resident KiB (copied or mapped from the image).
fn image_pages(pid: u32) -> Vec<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps")).expect("reading smaps");
    let mut pages = Vec::new();
    let mut in_image = false;
    for line in text.lines() {
        if mapping_range(line).is_some() {
            in_image = line.contains("/memfd:wasm-memory-image");
            if in_image {
                pages.push((0, 0));
            }
        } else if in_image {
            let last = pages.last_mut().unwrap();
            if let Some(v) = field(line, "Private_Dirty") {
                last.0 += v;
            } else if let Some(v) = field(line, "Rss") {
                last.1 += v;
            }
        }
    }
    pages
}

/// Every JavaScript VU starts from a copy-on-write image of the engine, made once; a VU owns
/// only the pages it writes. QuickJS's reference counts live in the objects: before the
/// snapshot's objects were made immortal (src/quickjs_patch.rs), an idle VU of this script
/// had written 38 of the image's pages (152 KiB), most for a count or two. Now 15 (60 KiB):
/// its own stack, its new objects, and the runtime's few counters and tables.
///
/// And a VU has mapped (is charged in RSS for) only the pages of the image it touched: the
/// engine's `memory.settle` turns the kernel's fault-around off in its memory
/// (host-api/src/memory.rs). With it on, each VU mapped 177 of the image's 306 pages (708
/// KiB); now 61 (244 KiB).
#[test]
fn a_javascript_vu_maps_and_copies_few_pages_of_the_engine_snapshot() {
    if !std::path::Path::new("/proc/self/smaps").exists() {
        return; // not Linux
    }
    const VUS: usize = 20;
    let dir = TempDir::new("js-vu-memory");
    write_files(&dir, &[("script.js", SLEEPING_JS)]);
    let mut cmd = stampede();
    cmd.env("STAMPEDE_CACHE_DIR", js_cache())
        .arg("run")
        .arg(dir.path("script.js"))
        .args([
            "-q",
            "--no-summary",
            "-e",
            "MODE=sleep",
            "-u",
            &VUS.to_string(),
            "-d",
            "60s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = Sleepers(cmd.spawn().expect("starting stampede"));
    let pid = child.0.id();
    let started = Instant::now();
    let mut last = Vec::new();
    let pages = loop {
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "stampede with {VUS} sleeping JavaScript VUs ended early"
        );
        let now = image_pages(pid);
        if now.len() >= VUS && now == last {
            break now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the JavaScript VUs never settled: {now:?}"
        );
        last = now;
        std::thread::sleep(Duration::from_millis(700));
    };
    let median = |f: fn(&(u64, u64)) -> u64| {
        let mut v: Vec<u64> = pages.iter().map(f).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    // 60 KiB now, 152 KiB with counts written: the bound sits between.
    let copied = median(|p| p.0);
    assert!(
        copied <= 100,
        "a sleeping JavaScript VU owns {copied} KiB of the engine's image (each VU, private and resident KiB: {pages:?})"
    );
    // 244 KiB now, 708 KiB with the kernel's fault-around.
    let mapped = median(|p| p.1);
    let why = stampede_host_api::memory::unavailable()
        .map(|e| format!(" (userfaultfd cannot be used here: {e})"))
        .unwrap_or_default();
    assert!(
        mapped <= 360,
        "a sleeping JavaScript VU maps {mapped} KiB of the engine's image{why} (each VU, private and resident KiB: {pages:?})"
    );
}
