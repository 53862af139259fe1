#!/usr/bin/env python3
"""Two stampede builds side by side, interleaved (the order alternates): CPU per request of the
benchmark's one-GET-one-check script in each guest language (Rust, JavaScript, Python, and C
when its component is given), with 4 and 50 VUs; then p50 latency at 1 VU against wrk's at 1
connection. For "no regression": run it with the build before a change and the build after.

    python3 bench/before_after.py OLD_STAMPEDE NEW_STAMPEDE [--c C_COMPONENT] [--secs 5] [--reps 3]

(`examples/c-quickstart/build.sh examples/c-quickstart/quickstart.c /tmp/c.wasm` builds the C
one.) The target is nginx on loopback (or `stampede serve`), as in the rest of the benchmark;
each build keeps its own cache, so their JavaScript engines and compiled scripts stay apart.
"""

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import tempfile

import bench  # bench/, next to this file

SCRIPTS = {
    "Rust": bench.GUEST,
    "JavaScript": os.path.join(bench.ROOT, "bench", "scripts", "get.js"),
    "Python": os.path.join(bench.ROOT, "bench", "scripts", "get.py"),
}


def args_for(url):
    return ["-e", f"URL={url}", "-e", f"BASE_URL={url.rstrip('/')}"]


def run(binary, script, vus, secs, cache, url):
    """One timed run: (CPU µs per request, p50 of http_req_duration in ms)."""
    exp = tempfile.mktemp(suffix=".json")
    argv = [binary, "run", script, "-q", "--no-summary", "--no-thresholds", *args_for(url),
            "-u", str(vus), "-d", f"{secs}s", "--summary-export", exp]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, capture_output=True, env=dict(os.environ, STAMPEDE_CACHE_DIR=cache),
                   timeout=secs * 6 + 120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(exp) as f:
        metrics = json.load(f)["metrics"]
    os.unlink(exp)
    return cpu / metrics["http_reqs"]["count"] * 1e6, metrics["http_req_duration"]["med"]


def wrk_p50(url, secs):
    out = subprocess.run(["wrk", "-t1", "-c1", f"-d{secs}s", "--latency", url],
                         capture_output=True, text=True, timeout=secs * 6 + 60).stdout
    m = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)] if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--c", help="the C example's component, to measure it too")
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    scripts = dict(SCRIPTS)
    if a.c:
        scripts["C"] = a.c
    caches = {a.old: tempfile.mkdtemp(prefix="stampede-old-"), a.new: tempfile.mkdtemp(prefix="stampede-new-")}
    target = bench.Target()
    try:
        print(f"target: {target.name}; {a.reps} runs of {a.secs} s each, alternating")
        print(f"{'guest':11} {'VUs':>3}  {'before':>10}  {'after':>10}  after/before")
        for lang, script in scripts.items():
            for b in (a.old, a.new):  # builds and compiles into each cache first
                subprocess.run([b, "run", script, "-q", "--no-summary", *args_for(target.url), "-i", "1", "-u", "1"],
                               capture_output=True, env=dict(os.environ, STAMPEDE_CACHE_DIR=caches[b]))
            for vus in (4, 50):
                cpu = {a.old: [], a.new: []}
                for rep in range(a.reps):
                    for b in ((a.old, a.new) if rep % 2 == 0 else (a.new, a.old)):
                        cpu[b].append(run(b, script, vus, a.secs, caches[b], target.url)[0])
                before, after = statistics.median(cpu[a.old]), statistics.median(cpu[a.new])
                print(f"{lang:11} {vus:3}  {before:8.2f}µs  {after:8.2f}µs  {after / before:.3f}", flush=True)
        if shutil.which("wrk"):
            p50 = {"wrk": [], a.old: [], a.new: []}
            for _ in range(a.reps):
                p50["wrk"].append(wrk_p50(target.url, a.secs))
                for b in (a.old, a.new):
                    p50[b].append(run(b, SCRIPTS["Rust"], 1, a.secs, caches[b], target.url)[1])
            w, before, after = (statistics.median(p50[k]) * 1000 for k in ("wrk", a.old, a.new))
            print(f"p50 at 1 connection: wrk {w:.1f} µs; stampede before {before:.1f} µs, after {after:.1f} µs")
    finally:
        target.stop()
        for d in caches.values():
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
