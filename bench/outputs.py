#!/usr/bin/env python3
"""What the streaming outputs cost: for no output, `--out json`, `--out csv`, Prometheus
remote-write, OpenTelemetry and all four at once, instructions per request (callgrind, 1 VU,
the difference of two iteration counts, which cancels start-up and shutdown) and CPU per
request (user + sys over requests, VUs for a duration, runs interleaved, the median), each with
its ratio to no output. With `--soak SECONDS`: a run with all four on, its RSS every 10 s.

Files go to /dev/null (the cost of formatting, not of a disk); remote-write and OTLP push to a
receiver started here on a loopback port, which reads each request and answers 200. Nothing
leaves 127.0.0.1. Run it with `bench/outputs.sh` (which builds first).
"""

import argparse
import datetime
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the target, the timed runs)

MODES = ("none", "json", "csv", "rw", "otlp", "all")


class Discard:
    """A loopback HTTP receiver that reads every request's body and answers 200, empty."""

    def __init__(self, interval=None):
        self.interval = interval
        self.server, self.port = bench.discard_server()

    def args(self, mode):
        """The --out flags of `mode`."""
        rw = ["--out", f"experimental-prometheus-rw=url=http://127.0.0.1:{self.port}/api/v1/write"]
        otlp = ["--out", "opentelemetry"]
        if self.interval:
            rw[1] += f",pushInterval={self.interval}"
            otlp[1] += f"=exportInterval={self.interval}"
        files = {"json": ["--out", "json=/dev/null"], "csv": ["--out", "csv=/dev/null"]}
        if mode == "none":
            return []
        if mode == "all":
            return files["json"] + files["csv"] + rw + otlp
        return {"rw": rw, "otlp": otlp}.get(mode) or files[mode]

    def env(self):
        env = dict(os.environ)
        env["STAMPEDE_OTEL_HTTP_EXPORTER_INSECURE"] = "true"
        env["STAMPEDE_OTEL_HTTP_EXPORTER_ENDPOINT"] = f"127.0.0.1:{self.port}"
        return env

    def stop(self):
        self.server.shutdown()


def callgrind(argv, env, timeout=1800):
    """Instructions argv executes (every thread) under callgrind, or None."""
    out_file = tempfile.mktemp(prefix="stampede-bench-cg-")
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}"] + argv
    try:
        subprocess.run(cmd, capture_output=True, env=env, timeout=timeout)
        with open(out_file) as f:
            text = f.read()
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        if os.path.exists(out_file):
            os.unlink(out_file)
    m = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
    return int(m.group(1)) if m else None


def instructions(target, sinks, small, large, log):
    """{mode: instructions per request}: (count(large) - count(small)) / (large - small)."""
    base = [bench.STAMPEDE, "run", bench.GUEST, "-q", "--no-summary", "--no-thresholds", "-e",
            f"URL={target.url}", "-u", "1"]
    # Under valgrind the CPU reads differently: a first run fills that key of the compile cache.
    subprocess.run(["valgrind", "--tool=none"] + base + ["-i", "1"], capture_output=True, timeout=900)
    res = {}
    for mode in MODES:
        counts = [callgrind(base + ["-i", str(n)] + sinks.args(mode), sinks.env()) for n in (small, large)]
        if None in counts:
            log(f"  {mode:5}: a callgrind run failed")
            continue
        res[mode] = (counts[1] - counts[0]) / (large - small)
        log(f"  {mode:5}: {counts[0]:>14,} / {counts[1]:>14,} instructions -> {res[mode]:8.0f} per request")
    return res


def cpu(target, sinks, reps, secs, vus, log, rps=None):
    """{mode: [CPU µs per request]}, the modes interleaved, their order rotating each time; with
    `rps`, requests are held to that rate (k6's `--rps`), below what the machine can do."""
    rows = {m: [] for m in MODES}
    for rep in range(reps):
        order = MODES[rep % len(MODES):] + MODES[:rep % len(MODES)]
        for mode in order:
            summary, _, _, user, sys_, _, _ = bench.stampede_run(
                ["-e", f"URL={target.url}", "-u", str(vus), "-d", f"{secs}s"] + (["--rps", str(rps)] if rps else [])
                + sinks.args(mode), env=sinks.env())
            n = bench.metric(summary or {}, "http_reqs", "count")
            outs = (summary or {}).get("generator", {}).get("outputs", [])
            dropped = sum(o.get("dropped", 0) for o in outs)
            errors = sum(o.get("errors", 0) for o in outs)
            if n <= 0:
                log(f"  rep {rep + 1}: {mode:5} no requests counted")
                continue
            rows[mode].append((user + sys_) / n * 1e6)
            log(f"  rep {rep + 1}: {mode:5} {n / secs:9.0f} req/s {(user + sys_) / n * 1e6:6.2f} µs CPU/req"
                f"  dropped {dropped}  failed pushes {errors}")
    return rows


def soak(target, sinks, secs, vus, log, every=10):
    """RSS of a run with all four outputs on, every `every` seconds: [(elapsed s, bytes)]."""
    cmd = [bench.STAMPEDE, "run", bench.GUEST, "-q", "--no-thresholds", "-e", f"URL={target.url}",
           "-u", str(vus), "-d", f"{secs}s"] + sinks.args("all")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=sinks.env(), text=True)
    samples = []
    start = time.monotonic()
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                rss = int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) * 1024
            samples.append((time.monotonic() - start, rss))
            log(f"  {time.monotonic() - start:5.0f} s  RSS {rss / 1e6:7.1f} MB")
        except (OSError, AttributeError):
            pass
        time.sleep(every)
    out = p.stdout.read()
    lines = [ln for ln in out.splitlines() if re.search(r"http_reqs|output|dropped", ln)]
    return samples, lines


def report(target, reps, secs, vus, small, large, soak_secs, soak_vus, parts, log, interval=None, rps=None):
    sinks = Discard(interval)
    try:
        print(f"\noutputs ({target.name}; {datetime.date.today()}, {os.cpu_count()} cores; files to /dev/null, "
              f"remote-write and OTLP to a loopback receiver that discards)")
        ir = {}
        if "instr" in parts:
            log(f"== outputs: instructions per request (callgrind, 1 VU, {large} - {small} iterations)")
            ir = instructions(target, sinks, small, large, log)
        rows = {}
        if "cpu" in parts:
            held = f", held to {rps} requests/s" if rps else ""
            log(f"== outputs: CPU per request ({vus} VUs, {secs} s{held}, {reps} interleaved reps)")
            rows = cpu(target, sinks, reps, secs, vus, log, rps)
        split = []
        if "threads" in parts:
            log(f"== outputs: CPU of the output threads within runs with all four on ({vus} VUs, {secs} s, {reps} reps)")
            split = bench.thread_split(target, sinks.args("all"), sinks.env(), reps, secs, vus, rps)
        med = {m: statistics.median(r) for m, r in rows.items() if r}
        print(f"{'outputs':8} {'instr/req':>10} {'ratio':>6} {'CPU µs/req':>11} {'[spread]':>15} {'ratio':>6} "
              f"{'paired':>7}")
        for m in MODES:
            line = f"{m:8} "
            line += (f"{ir[m]:10.0f} {ir[m] / ir['none']:6.3f} " if m in ir and "none" in ir
                     else f"{'-':>10} {'-':>6} ")
            if m in med and "none" in med:
                lo, hi = min(rows[m]), max(rows[m])
                line += f"{med[m]:11.2f} {f'[{lo:.2f}–{hi:.2f}]':>15} {med[m] / med['none']:6.3f}"
                # The median of each repetition's ratio: runs next to each other share the
                # machine's mood, so this moves less than the ratio of the medians.
                pairs = [a / b for a, b in zip(rows[m], rows["none"])]
                line += f" {statistics.median(pairs):7.3f}" if pairs else ""
            else:
                line += f"{'-':>11} {'':>15} {'-':>6}"
            print(line)
        print("(instructions: callgrind, 1 VU; CPU: user + sys over requests, median of interleaved runs; "
              "paired: median of each repetition's ratio; goal: all four ≤ 1.10 × none)")
        if split:
            shares = [o / r for o, r in split]
            print(f"output threads, all four on: {statistics.median(o for o, _ in split):.2f} µs CPU per request against "
                  f"{statistics.median(r for _, r in split):.2f} for the rest of the process: "
                  f"+{statistics.median(shares) * 100:.1f}% (median of {len(split)} runs; spread "
                  f"{min(shares) * 100:.1f}–{max(shares) * 100:.1f}%)")
        if soak_secs:
            log(f"== outputs: soak, all four on, {soak_vus} VUs, {soak_secs} s, RSS every 10 s")
            samples, lines = soak(target, sinks, soak_secs, soak_vus, log)
            if samples:
                def at(t):
                    return min(samples, key=lambda s: abs(s[0] - t))[1]
                rss = [r for _, r in samples]
                print(f"\nsoak with all four outputs ({soak_vus} VUs, {soak_secs} s): RSS at start "
                      f"{rss[0] / 1e6:.1f} MB, after 60 s {at(60) / 1e6:.1f} MB, at the end {rss[-1] / 1e6:.1f} MB, "
                      f"max {max(rss) / 1e6:.1f} MB; from 60 s to the end {(rss[-1] - at(60)) / 1e6:+.1f} MB")
                print("elapsed_s rss_mb: " + " ".join(f"{t:.0f}:{r / 1e6:.1f}" for t, r in samples))
            for ln in lines:
                print("  " + ln.strip())
    finally:
        sinks.stop()


def main():
    global MODES
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5, help="interleaved repetitions of each timed run (5)")
    ap.add_argument("--duration", type=int, default=10, help="seconds per timed run (10)")
    ap.add_argument("--vus", type=int, default=50, help="VUs of the timed runs (50)")
    ap.add_argument("--small", type=int, default=1000, help="iterations of the short counted run (1000)")
    ap.add_argument("--large", type=int, default=4000, help="iterations of the long counted run (4000)")
    ap.add_argument("--soak", type=int, default=0, help="seconds of a run with all four on, RSS every 10 s (0: none)")
    ap.add_argument("--soak-vus", type=int, default=20, help="VUs of the soak (20)")
    ap.add_argument("--only", default="instr,cpu,threads", help="parts: instr (callgrind), cpu (timed runs), threads (the output threads' CPU "
                    "within runs with all four on, read from /proc); default all three")
    ap.add_argument("--target", choices=["auto", "serve"], default="auto", help="nginx if installed (auto) or stampede serve")
    ap.add_argument("--interval", help="push and export interval of remote-write and OTLP (their defaults, 5s "
                    "and 10s); e.g. 1h for the cost per sample alone, without the pushes")
    ap.add_argument("--rps", type=int, help="hold the timed runs to this many requests/s (k6's --rps): the cost "
                    "below saturation, where a busy generator cannot hide work by batching more per wake-up")
    ap.add_argument("--modes", default=",".join(MODES), help="which of none,json,csv,rw,otlp,all (all of them)")
    ap.add_argument("--stampede", default=bench.STAMPEDE, help="the binary to measure (target/release/stampede)")
    a = ap.parse_args()
    bench.STAMPEDE = a.stampede
    MODES = tuple(m for m in MODES if m in a.modes.split(","))
    parts = set(a.only.split(",")) - {""}
    target = bench.Target(prefer_nginx=a.target == "auto")
    try:
        report(target, a.reps, a.duration, a.vus, a.small, a.large, a.soak, a.soak_vus, parts, bench.log,
               a.interval, a.rps)
    finally:
        target.stop()


if __name__ == "__main__":
    main()
