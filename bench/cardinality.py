"""Memory whatever the script tags: the same run with one URL, and with a fresh URL per request
(no `name` tag), in Rust and in JavaScript. With the cap on metric series (`maxSeries`),
peak RSS should not depend on the number of distinct URLs.

bench/bench.py runs it (`--cardinality SECS`); alone, after bench/run.sh has built what it needs:
`python3 bench/cardinality.py --secs 600 --langs Rust` (see --help).
"""

import os
import re
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _peak(cmd, secs):
    """Runs cmd, samples its RSS every 0.5 s; returns (peak RSS bytes, RSS at half time, stderr)."""
    err = tempfile.TemporaryFile()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    samples = []
    start = time.monotonic()
    while p.poll() is None and time.monotonic() - start < secs + 120:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                rss = int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) * 1024
            samples.append((time.monotonic() - start, rss))
        except (OSError, AttributeError):
            pass
        time.sleep(0.5)
    if p.poll() is None:
        p.kill()
    p.wait()
    err.seek(0)
    stderr = err.read().decode(errors="replace")
    peak = max((r for _, r in samples), default=0)
    half = next((r for t, r in samples if t >= secs / 2), peak)
    return peak, half, stderr


def measure(target, stampede, script, secs, vus=20, extra=()):
    """Peak RSS with one URL and with a fresh URL per request: (one, fresh, warned, error)."""
    base = [stampede, "run", script, "-q", "--no-summary", "--no-thresholds", "-e", f"URL={target.url}"]
    # A first run builds and caches the script, so that the measured runs only load it.
    subprocess.run(base + ["-i", "1"], capture_output=True, timeout=900)
    base += ["-u", str(vus), "-d", f"{secs}s", *extra]
    one, _, _ = _peak(base + ["-e", "MODE=get"], secs)
    fresh, _, err = _peak(base + ["-e", "MODE=fresh"], secs)
    error = None if one and fresh else (err.strip().splitlines() or ["?"])[-1]
    return one, fresh, "metric series" in err, error


def report(target, stampede, guest, secs, vus=20, langs=("Rust", "JavaScript"), max_series=()):
    """Prints peak RSS with one URL against a fresh URL per request (at the default maxSeries,
    then at each of `max_series`)."""
    scripts = [("Rust", guest), ("JavaScript", os.path.join(ROOT, "bench", "scripts", "get.js"))]
    print(f"\nmemory against URL cardinality ({vus} VUs, {secs} s; fresh: `?id=<new>` on every request, "
          "no `name` tag)")
    print(f"{'script':11} {'maxSeries':>9} {'one URL':>10} {'fresh URLs':>11} {'ratio':>6}  {'overflow warning':>16}")
    for lang, script in scripts:
        if lang not in langs:
            continue
        for cap in [None, *max_series]:
            extra = ["--max-series", str(cap)] if cap else []
            one, fresh, warned, error = measure(target, stampede, script, secs, vus, extra)
            label = str(cap) if cap else "default"
            if error:
                print(f"{lang:11} {label:>9} failed: {error}")
                continue
            print(f"{lang:11} {label:>9} {one / 1e6:8.1f}MB {fresh / 1e6:9.1f}MB {fresh / one:6.2f}"
                  f"  {'yes' if warned else 'no':>16}", flush=True)


def main():
    import argparse
    import bench  # bench/, next to this file: its target (nginx, else stampede serve) and paths

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--secs", type=int, default=30, help="seconds of each run (30; 600 for the 10-minute one)")
    ap.add_argument("--vus", type=int, default=20, help="VUs (20)")
    ap.add_argument("--langs", default="Rust,JavaScript", help="scripts to run: Rust, JavaScript (both)")
    ap.add_argument("--max-series", default="", help="comma-separated maxSeries to run besides the default")
    ap.add_argument("--stampede", default=bench.STAMPEDE, help="the binary (the release build)")
    a = ap.parse_args()
    target = bench.Target()
    try:
        caps = [int(c) for c in a.max_series.split(",") if c]
        report(target, a.stampede, bench.GUEST, a.secs, a.vus, a.langs.split(","), caps)
    finally:
        target.stop()


if __name__ == "__main__":
    main()
