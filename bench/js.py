"""JavaScript side by side: k6 (the anchor) and stampede's QuickJS engine, on the same k6 script
(bench/scripts/get.js), and the engine again with VU memories reserved at 4 GiB (no explicit
bounds checks in the compiled code). Part of `bench/run.sh` (`--skip js` leaves it out; `--only
js` runs it alone).

k6 is found through $K6 or PATH; without it the k6 rows are left out (with a note) and the rest
runs. The componentize-js (StarlingMonkey) path that the engine replaced is measured when
$STAMPEDE_COMPONENTIZE_JS names a stampede binary built before it (one whose `.js` scripts go
through componentize-js; it needs node and npm).

Figures (medians of `reps` interleaved runs where timing matters):
- CPU per request: user + system CPU of the load generator / requests, 4 and 50 VUs, closed loop;
- RSS and PSS per idle VU: (1,000 sleeping VUs - 1 sleeping VU) / 999, read while they sleep;
- first run of a new script: a copy of the script never seen before, one iteration, with the
  engine already prepared; "cold" is the same with an empty cache (the engine is prepared then);
- cached start: the same script again;
- 1,000 VUs: wall time of a run of 1,000 VUs doing one empty iteration each;
- size: what is loaded per script (the component; k6's binary);
- instructions per request (with valgrind installed): callgrind's count for the whole load
  generator process, 1 VU, (1,100 iterations - 100 iterations) / 1,000, so start-up cancels
  out. It does not depend on the machine's load, unlike the CPU times. Under valgrind the
  process's threads take turns, so a runtime that spins while idle (Go's scheduler) counts
  some spinning too.
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "scripts", "get.js")


def k6_binary():
    for cand in (os.environ.get("K6"), shutil.which("k6")):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


class Candidate:
    """One way of running the script: how to build its command line and environment."""

    def __init__(self, name, stampede=None, env=None, extra=None, k6=None):
        self.name = name
        self.stampede = stampede
        self.k6 = k6
        self.env = dict(os.environ, **(env or {}))
        # k6 must never phone home from a benchmark.
        self.env["K6_NO_USAGE_REPORT"] = "true"
        self.extra = extra or []

    def cmd(self, script, args, export=None):
        if self.k6:
            cmd = [self.k6, "run", "-q", "--no-usage-report", "--no-thresholds"] + args
            if export:
                cmd += ["--summary-export", export]
            else:
                cmd += ["--summary-mode", "disabled"]
            return cmd + [script]
        cmd = [self.stampede, "run", script, "-q", "--no-thresholds"] + self.extra + args
        if export:
            cmd += ["--summary-export", export]
        else:
            cmd += ["--no-summary"]
        return cmd


def requests_cpu(timed, cand, url, vus, secs):
    exp = tempfile.mktemp(suffix=".json")
    _, err, user, sys_, _, _ = timed(cand.cmd(SCRIPT, ["-e", f"URL={url}", "-u", str(vus), "-d", f"{secs}s"], exp),
                                     env=cand.env)
    try:
        with open(exp) as f:
            n = json.load(f)["metrics"]["http_reqs"]["count"]
        os.unlink(exp)
    except (OSError, KeyError, ValueError):
        raise RuntimeError(f"{cand.name}: no summary ({err.strip()[-300:]})")
    return (user + sys_) / n * 1e6


def wall(cmd, env):
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"exit {p.returncode}: {p.stderr.strip()[-300:]}")
    return time.monotonic() - t0


def starts(cand, url):
    """(cold, first run of a new script, cached start) in seconds; cold is None for k6."""
    tmp = tempfile.mkdtemp(prefix="stampede-bench-js-")
    try:
        fresh = os.path.join(tmp, "fresh.js")
        with open(SCRIPT) as f:
            text = f.read()
        with open(fresh, "w") as f:
            f.write(text + f"\n// {time.time_ns()}\n")
        args = ["-e", f"URL={url}", "-i", "1"]
        cold = None
        if not cand.k6:
            env = dict(cand.env, STAMPEDE_CACHE_DIR=os.path.join(tmp, "cache"))
            cold = wall(cand.cmd(fresh, args), env)
            with open(fresh, "a") as f:
                f.write("// again\n")
        first = wall(cand.cmd(fresh, args), cand.env)
        cached = min(wall(cand.cmd(fresh, args), cand.env) for _ in range(3))
        return cold, first, cached
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def thousand_vus(cand):
    return wall(cand.cmd(SCRIPT, ["-e", "MODE=sleep", "-e", "SLEEP=0", "-u", "1000", "-i", "1000"]), cand.env)


def idle_memory(pss_during, cand):
    sleeping = ["-e", "MODE=sleep", "-e", "SLEEP=10", "-d", "5s"]
    rss1, pss1 = pss_during(cand.cmd(SCRIPT, sleeping + ["-u", "1"]), 5, cand.env)
    rss1k, pss1k = pss_during(cand.cmd(SCRIPT, sleeping + ["-u", "1000"]), 7, cand.env)
    return (rss1k - rss1) / 999, (pss1k - pss1) / 999


def instructions(cand, url, n=1000, base=100):
    """Instructions per request (callgrind), or None without valgrind."""
    if not shutil.which("valgrind"):
        return None
    # Go's asynchronous preemption signals make valgrind crawl; they do not change the work.
    env = dict(cand.env, GODEBUG="asyncpreemptoff=1")

    def count(iters):
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
        cmd += cand.cmd(SCRIPT, ["-e", f"URL={url}", "-u", "1", "-i", str(iters)])
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        m = re.search(r"Collected : (\d+)", p.stderr)
        if p.returncode != 0 or not m:
            raise RuntimeError(f"{cand.name} under callgrind: exit {p.returncode}: {p.stderr.strip()[-300:]}")
        return int(m.group(1))

    # Once first: valgrind's CPU has other features than the real one, so stampede's cache of
    # compiled code misses once under it and compiles again (billions of instructions).
    count(1)
    return (count(base + n) - count(base)) / n


def component_size(cand, cache_dir):
    if cand.k6:
        return os.path.getsize(cand.k6)
    sub = "components" if "componentize" in cand.name else "engines"
    d = os.path.join(cache_dir, sub)
    files = [os.path.join(d, f) for f in os.listdir(d) if f.endswith(".wasm")] if os.path.isdir(d) else []
    return max((os.path.getsize(f) for f in files), default=0)


def candidates(stampede):
    out = []
    k6 = k6_binary()
    out.append(Candidate("k6 v2 (goja)", k6=k6) if k6 else None)
    out.append(Candidate("stampede QuickJS", stampede=stampede))
    out.append(Candidate("stampede QuickJS, 4 GiB reservation", stampede=stampede, extra=["--vu-memory-limit", "4096"]))
    cjs = os.environ.get("STAMPEDE_COMPONENTIZE_JS")
    if cjs and shutil.which("node") and shutil.which("npm"):
        out.append(Candidate("stampede componentize-js", stampede=cjs,
                             env={"STAMPEDE_JS_ENGINE": "componentize-js"}))
    return out


def run(target, stampede, timed, pss_during, cache_dir, reps=3, secs=5, log=print):
    """Measures every candidate; returns rows of figures (None where not measured)."""
    cands = candidates(stampede)
    if cands[0] is None:
        log("  k6 not found ($K6 or PATH): its rows are left out")
    cands = [c for c in cands if c is not None]
    rows = {c.name: {"cpu4": [], "cpu50": []} for c in cands}
    for c in cands:  # warm up: prepares the caches (the engine's snapshot and compiled code)
        try:
            wall(c.cmd(SCRIPT, ["-e", f"URL={target.url}", "-i", "1"]), c.env)
        except RuntimeError as e:
            rows[c.name]["error"] = str(e)
            log(f"  {c.name}: {e}")
    live = [c for c in cands if "error" not in rows[c.name]]
    for rep in range(reps):
        for vus, key in ((4, "cpu4"), (50, "cpu50")):
            for c in live:
                cpu = requests_cpu(timed, c, target.url, vus, secs)
                rows[c.name][key].append(cpu)
                log(f"  rep {rep + 1}: {c.name:38} {vus:2d} VUs {cpu:7.1f} µs CPU/req")
    for c in live:
        r = rows[c.name]
        r["cpu4"] = statistics.median(r["cpu4"])
        r["cpu50"] = statistics.median(r["cpu50"])
        if "reservation" in c.name:
            continue
        r["rss_vu"], r["pss_vu"] = idle_memory(pss_during, c)
        r["cold"], r["first"], r["cached"] = starts(c, target.url)
        r["vus1000"] = min(thousand_vus(c) for _ in range(2))
        r["size"] = component_size(c, cache_dir)
        r["instr"] = instructions(c, target.url)
        log(f"  {c.name}: {r}")
    return rows


def report(rows):
    def f(v, fmt):
        return "-" if v is None or isinstance(v, list) else fmt.format(v)

    print("\nJavaScript: the same k6 script (one GET, one check) in k6 and in stampede's engines")
    print(f"{'engine':38} {'µs/req 4 VUs':>12} {'50 VUs':>8} {'RSS/VU':>9} {'PSS/VU':>9} {'new script':>10}"
          f" {'cold':>6} {'cached':>7} {'1k VUs':>7} {'size':>8} {'instr/req':>10}")
    for name, r in rows.items():
        if "error" in r:
            print(f"{name:38} failed: {r['error']}")
            continue
        print(f"{name:38} {f(r.get('cpu4'), '{:12.1f}')} {f(r.get('cpu50'), '{:8.1f}')}"
              f" {f(r.get('rss_vu'), '{:>9}') if r.get('rss_vu') is None else format(r['rss_vu'] / 1024, '7.0f') + 'KiB'}"
              f" {f(r.get('pss_vu'), '{:>9}') if r.get('pss_vu') is None else format(r['pss_vu'] / 1024, '7.0f') + 'KiB'}"
              f" {f(r.get('first'), '{:9.2f}s')} {f(r.get('cold'), '{:5.1f}s')} {f(r.get('cached'), '{:6.2f}s')}"
              f" {f(r.get('vus1000'), '{:6.2f}s')} {f(r.get('size'), '{:>8}') if r.get('size') is None else format(r['size'] / 1e6, '6.1f') + 'MB'}"
              f" {f(r.get('instr'), '{:10.0f}')}")
