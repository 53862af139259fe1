"""Running on many machines, measured (bench/run.sh; skip it with --skip scale):

- partial results: the size of one, and the time `stampede merge` takes, for 10, 100 and
  1,000 partials of a test with 50 sub-metrics (made by runtime/examples/make_partials.rs:
  20,000 requests per instance over 13 endpoints, as a test with that many named requests
  folds them);
- the memory a pod needs per 1,000 VUs (VUs that hold a keep-alive connection and think);
- what one pod per core gives: the same test as one process on every core, and split in
  two processes of one VU thread each, pinned to a core each, merged.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAKE_PARTIALS = os.path.join(ROOT, "target", "release", "examples", "make_partials")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def merge_figures(stampede, timed, counts=(10, 100, 1000), reps=3):
    """Per count: bytes per partial, and the merge's median wall and CPU seconds and peak RSS
    (CPU time travels between machines; wall time on a shared machine does not)."""
    rows = []
    for n in counts:
        d = tempfile.mkdtemp(prefix="stampede-partials-")
        subprocess.run([MAKE_PARTIALS, d, str(n), "50", "20000"], check=True)
        files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".json"))
        size = statistics.mean(os.path.getsize(f) for f in files)
        walls, cpus, rss = [], [], 0
        for _ in range(reps):
            out, err, user, sys_, peak, wall = timed([stampede, "merge", "-q", "--no-summary"] + files)
            if "error" in err:
                raise RuntimeError(err)
            walls.append(wall)
            cpus.append(user + sys_)
            rss = max(rss, peak)
        row = dict(n=n, size=size, wall=statistics.median(walls), cpu=statistics.median(cpus), rss=rss)
        rows.append(row)
        log(f"  {n} partials: {size / 1024:.0f} KiB each, merged in {row['wall']:.2f} s ({row['cpu']:.2f} s CPU)")
        subprocess.run(["rm", "-rf", d])
    return rows


def memory_per_1000(stampede_run, target, secs=8):
    """Peak RSS with 1 and with 1,000 VUs that GET then think for a second."""
    res = {}
    for vus in (1, 1000):
        summary, *_rest = stampede_run(["-e", f"URL={target.url}", "-e", "MODE=think", "-e", "SLEEP=1",
                                        "-u", str(vus), "-d", f"{secs}s"])
        res[vus] = summary["generator"]["peak_rss_bytes"]
        log(f"  {vus} VUs: peak RSS {res[vus] / 1e6:.1f} MB")
    return res


def pod_per_core(stampede, guest, timed, target, secs, vus):
    """One process on every core, then the test split in one pinned process per core."""
    cores = os.cpu_count() or 1
    base = [stampede, "run", guest, "-q", "--no-thresholds", "-e", f"URL={target.url}",
            "-u", str(vus), "-d", f"{secs}s"]
    d = tempfile.mkdtemp(prefix="stampede-pods-")
    whole_export = os.path.join(d, "whole.json")
    _, _, user, sys_, _, _ = timed(base + ["--summary-export", whole_export])
    with open(whole_export) as f:
        whole = json.load(f)
    n = whole["metrics"]["http_reqs"]["count"]
    one = dict(rps=n / secs, cpu_us=(user + sys_) / n * 1e6)
    seq = ",".join(["0"] + [f"{i}/{cores}" for i in range(1, cores)] + ["1"])
    start = time.time() + 3
    start_at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start)) + f".{int(start % 1 * 1000):03d}Z"
    procs = []
    for i in range(cores):
        env = dict(os.environ, STAMPEDE_VU_THREADS="1")
        cmd = ["taskset", "-c", str(i), "/usr/bin/time", "-f", "%U %S", "-o", os.path.join(d, f"time-{i}")] + base + [
            "--execution-segment-sequence", seq, "--execution-segment-index", str(i), "--start-at", start_at,
            "--out", f"partial={os.path.join(d, f'part-{i}.json')}"]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for p in procs:
        p.wait()
    cpu = 0.0
    for i in range(cores):
        with open(os.path.join(d, f"time-{i}")) as f:
            u, s = f.read().split()[-2:]
            cpu += float(u) + float(s)
    merged_export = os.path.join(d, "merged.json")
    subprocess.run([stampede, "merge", "-q", "--no-summary", "--summary-export", merged_export]
                   + [os.path.join(d, f"part-{i}.json") for i in range(cores)], check=True)
    with open(merged_export) as f:
        merged = json.load(f)
    m = merged["metrics"]["http_reqs"]["count"]
    split = dict(rps=m / secs, cpu_us=cpu / m * 1e6, warnings=len(merged["generator"]["warnings"]))
    subprocess.run(["rm", "-rf", d])
    return cores, one, split


def report(target, stampede, guest, timed, stampede_run, secs, vus):
    log("== running on many machines: partial results and their merge")
    rows = merge_figures(stampede, timed)
    print("\npartial results of a test with 50 sub-metrics (20,000 requests per instance), and their merge")
    print(f"{'partials':>9} {'size each':>10} {'merge wall':>11} {'merge CPU':>10} {'merge RSS':>10}")
    for r in rows:
        print(f"{r['n']:9d} {r['size'] / 1024:8.0f}KiB {r['wall']:10.2f}s {r['cpu']:9.2f}s {r['rss'] / 1e6:8.0f}MB")
    log("== memory per 1,000 VUs")
    mem = memory_per_1000(stampede_run, target)
    per = mem[1000] - mem[1]
    print(f"\nmemory per 1,000 VUs (GET then 1 s of think time, keep-alive): {per / 1e6:.0f} MB "
          f"({per / 1000 / 1024:.0f} KiB per VU; {mem[1] / 1e6:.0f} MB with 1 VU)")
    log("== one pod per core")
    cores, one, split = pod_per_core(stampede, guest, timed, target, secs, vus)
    print(f"\none process on {cores} cores vs {cores} processes of 1 VU thread pinned to a core each, merged "
          f"({vus} VUs, {secs} s)")
    print(f"{'':22} {'req/s':>10} {'CPU µs/req':>11}")
    print(f"{'one process':22} {one['rps']:10.0f} {one['cpu_us']:11.1f}")
    print(f"{f'{cores} pinned processes':22} {split['rps']:10.0f} {split['cpu_us']:11.1f}   "
          f"({split['warnings']} generator warnings in the merge)")
