"""Memory whatever the script tags: the same run with one URL, and with a fresh URL per request
(no `name` tag), in Rust and in JavaScript. With the cap on metric series (`maxSeries`),
peak RSS should not depend on the number of distinct URLs.
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


def report(target, stampede, guest, secs, vus=20):
    """Prints peak RSS with one URL against a fresh URL per request."""
    scripts = [("Rust", guest), ("JavaScript", os.path.join(ROOT, "bench", "scripts", "get.js"))]
    print(f"\nmemory against URL cardinality ({vus} VUs, {secs} s; fresh: `?id=<new>` on every request, "
          "no `name` tag)")
    print(f"{'script':11} {'one URL':>10} {'fresh URLs':>11} {'ratio':>6}  {'overflow warning':>16}")
    for lang, script in scripts:
        base = [stampede, "run", script, "-q", "--no-summary", "--no-thresholds", "-e", f"URL={target.url}"]
        # A first run builds and caches the script, so that the measured runs only load it.
        subprocess.run(base + ["-i", "1"], capture_output=True, timeout=900)
        base += ["-u", str(vus), "-d", f"{secs}s"]
        one, _, _ = _peak(base + ["-e", "MODE=get"], secs)
        fresh, _, err = _peak(base + ["-e", "MODE=fresh"], secs)
        if not one or not fresh:
            print(f"{lang:11} failed: {(err.strip().splitlines() or ['?'])[-1]}")
            continue
        warned = "yes" if "metric series" in err else "no"
        print(f"{lang:11} {one / 1e6:8.1f}MB {fresh / 1e6:9.1f}MB {fresh / one:6.2f}  {warned:>16}")
