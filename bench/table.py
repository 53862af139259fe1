"""The same-run table: stampede and the anchors (wrk, oha, k6) on the same target, in the same
run of the benchmark, so that ratios mean something on any machine.

Two measurements per tool:

- CPU per request (user + sys over requests) and peak RSS, closed loop with `conns`
  connections/VUs, repetitions interleaved (the order rotates each time), the median and the
  spread (lowest–highest). Time-based: drifts with the machine and its neighbours.
- Instructions and simulated last-level cache misses per request, counted by valgrind's
  cachegrind over two short runs of one connection/VU, a small and a large one: the difference
  of the two counts over the difference of their requests cancels start-up and shutdown.
  Machine-independent and undisturbed by load.

Everything runs against the loopback target and stops by itself (every run has a timeout).
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
K6_SCRIPT = os.path.join(ROOT, "bench", "scripts", "k6_get.js")


def _k6():
    for path in (os.environ.get("K6"), shutil.which("k6")):
        if path and os.access(path, os.X_OK):
            return path
    return None


def _oha():
    for path in (os.environ.get("OHA"), shutil.which("oha"), os.path.expanduser("~/.cargo/bin/oha")):
        if path and os.access(path, os.X_OK):
            return path
    return None


class Tool:
    """How to run one tool for a duration or a count, and how to read its request count."""

    def __init__(self, name, timed_cmd, counted_cmd, count):
        self.name = name
        self.timed_cmd = timed_cmd  # (url, conns, secs, out) -> argv
        self.counted_cmd = counted_cmd  # (url, n, out, large) -> (argv, expected count or None)
        self.count = count  # (stdout, out path) -> requests done


def _json_count(path, *keys):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return 0
    for k in keys:
        doc = doc.get(k, {}) if isinstance(doc, dict) else {}
    return int(doc) if isinstance(doc, (int, float)) else 0


def tools(stampede, guest):
    out = []

    def st_timed(url, conns, secs, exp):
        return [stampede, "run", guest, "-q", "--no-thresholds", "-e", f"URL={url}", "-u", str(conns), "-d",
                f"{secs}s", "--summary-export", exp]

    def st_counted(url, n, exp, _large):
        return [stampede, "run", guest, "-q", "--no-thresholds", "-e", f"URL={url}", "-u", "1", "-i", str(n),
                "--summary-export", exp], None

    out.append(Tool("stampede", st_timed, st_counted,
                    lambda _o, exp: _json_count(exp, "metrics", "http_reqs", "count")))

    wrk = shutil.which("wrk")
    if wrk:
        def wrk_count(stdout, _):
            m = re.search(r"(\d+) requests in", stdout)
            return int(m.group(1)) if m else 0

        # wrk has no request count: its counted runs are timed (2 s for the small one, 6 s for
        # the large), and the count is what it reports.
        out.append(Tool("wrk", lambda url, c, s, _: [wrk, "-t2", f"-c{c}", f"-d{s}s", url],
                        lambda url, n, _, large: ([wrk, "-t1", "-c1", f"-d{6 if large else 2}s", url], None),
                        wrk_count))
    oha = _oha()
    if oha:
        def oha_count(_, path):
            try:
                with open(path) as f:
                    doc = json.load(f)
            except (OSError, ValueError):
                return 0
            return sum(doc.get("statusCodeDistribution", {}).values())

        out.append(Tool("oha", lambda url, c, s, o: [oha, "--no-tui", "--output-format", "json", "-o", o,
                                                     "-z", f"{s}s", "-c", str(c), url],
                        lambda url, n, o, _: ([oha, "--no-tui", "--output-format", "json", "-o", o, "-n", str(n),
                                            "-c", "1", url], n),
                        oha_count))
    k6 = _k6()
    if k6:
        def k6_count(_, exp):
            return _json_count(exp, "metrics", "http_reqs", "count")

        out.append(Tool("k6", lambda url, c, s, exp: [k6, "run", "-q", "--no-usage-report", "-e", f"URL={url}",
                                                      "-u", str(c), "-d", f"{s}s", "--summary-export", exp,
                                                      K6_SCRIPT],
                        lambda url, n, exp, _: ([k6, "run", "-q", "--no-usage-report", "-e", f"URL={url}", "-u", "1",
                                              "-i", str(n), "--summary-export", exp, K6_SCRIPT], None),
                        k6_count))
    return out


def env():
    env = dict(os.environ)
    env["K6_NO_USAGE_REPORT"] = "true"  # loopback only: k6 would otherwise report home
    return env


def cpu_runs(tool_list, url, reps, secs, conns, timed, log):
    """Interleaved timed runs; returns {tool: [dict(cpu_us, rps, rss)]}."""
    rows = {t.name: [] for t in tool_list}
    for rep in range(reps):
        order = tool_list[rep % len(tool_list):] + tool_list[:rep % len(tool_list)]
        for t in order:
            out_path = tempfile.mktemp(prefix="stampede-bench-", suffix=".json")
            try:
                stdout, _, user, sys_, rss, _ = timed(t.timed_cmd(url, conns, secs, out_path), env=env(),
                                                      timeout=secs * 6 + 60)
                n = t.count(stdout, out_path)
            except subprocess.TimeoutExpired:
                n = 0
            finally:
                if os.path.exists(out_path):
                    os.unlink(out_path)
            if n <= 0:
                log(f"  rep {rep + 1}: {t.name:9} no requests counted")
                continue
            rows[t.name].append(dict(cpu_us=(user + sys_) / n * 1e6, rps=n / secs, rss=rss))
            log(f"  rep {rep + 1}: {t.name:9} {n / secs:10.0f} req/s  {(user + sys_) / n * 1e6:6.2f} µs CPU/req")
    return rows


def _cachegrind(argv, timeout):
    """Runs argv under cachegrind; returns (stdout, {event: total}) or (stdout, None)."""
    out_file = tempfile.mktemp(prefix="stampede-bench-cg-")
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", f"--cachegrind-out-file={out_file}"] + argv
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=timeout)
    except subprocess.TimeoutExpired:
        return "", None
    try:
        with open(out_file) as f:
            text = f.read()
    except OSError:
        return p.stdout, None
    finally:
        if os.path.exists(out_file):
            os.unlink(out_file)
    events = re.search(r"^events: (.*)$", text, re.M)
    summary = re.search(r"^summary: (.*)$", text, re.M)
    if not events or not summary:
        return p.stdout, None
    return p.stdout, dict(zip(events.group(1).split(), map(int, summary.group(1).split())))


def instruction_counts(tool_list, url, small, large, log):
    """Instructions and LL misses per request, from two cachegrind runs per tool."""
    res = {}
    for t in tool_list:
        if t.name == "stampede":
            # Under valgrind the CPU reads differently, so stampede's compile cache has another
            # key: a first run compiles and caches, so that the counted runs only load.
            argv, _ = t.counted_cmd(url, 1, os.devnull, False)
            subprocess.run(["valgrind", "--tool=none"] + argv, capture_output=True, timeout=900)
        points = []
        for i, n in enumerate((small, large)):
            out_path = tempfile.mktemp(prefix="stampede-bench-", suffix=".json")
            argv, expected = t.counted_cmd(url, n, out_path, i == 1)
            stdout, ev = _cachegrind(argv, timeout=900)
            got = t.count(stdout, out_path) if ev else 0
            if os.path.exists(out_path):
                os.unlink(out_path)
            if expected is not None and got == 0 and ev:
                got = expected
            if not ev or got <= 0:
                log(f"  {t.name}: cachegrind run of {n} failed")
                break
            ll = ev.get("ILmr", 0) + ev.get("DLmr", 0) + ev.get("DLmw", 0)
            points.append((got, ev["Ir"], ll))
            log(f"  {t.name:9} {got:7d} requests: {ev['Ir']:>14,} instructions, {ll:>11,} LL misses")
        if len(points) == 2 and points[1][0] > points[0][0]:
            dn = points[1][0] - points[0][0]
            res[t.name] = dict(ir=(points[1][1] - points[0][1]) / dn, ll=(points[1][2] - points[0][2]) / dn)
    return res


def report(target, stampede, guest, timed, log, reps, secs, conns, small=2000, large=7000):
    tool_list = tools(stampede, guest)
    names = ", ".join(t.name for t in tool_list)
    log(f"== same-run table: {names}; {conns} connections/VUs, {secs} s, {reps} interleaved reps")
    # A first run fills stampede's compile cache, so that no measured run compiles.
    subprocess.run([stampede, "run", guest, "-q", "--no-summary", "-e", f"URL={target.url}", "-i", "1"],
                   capture_output=True, timeout=300)
    cpu = cpu_runs(tool_list, target.url, reps, secs, conns, timed, log)
    counts = {}
    if shutil.which("valgrind"):
        log(f"== instructions per request: cachegrind, 1 connection/VU, {small} and {large} requests")
        counts = instruction_counts(tool_list, target.url, small, large, log)
    else:
        log("valgrind is not installed (apt-get install valgrind): no instruction counts")
    print(f"\nsame-run table ({target.name}; CPU: {conns} connections/VUs, {secs} s, median of {reps} interleaved "
          f"runs [lowest–highest]; instructions and LL misses: cachegrind, 1 connection/VU, "
          f"({large} − {small} requests))")
    print(f"{'tool':9} {'req/s':>9} {'CPU µs/req':>11} {'[spread]':>14} {'instr/req':>10} {'LL miss/req':>12}"
          f" {'peak RSS':>9} {'CPU ratio':>15} {'instr ratio':>11}")
    st_cpu = st_ir = None
    if cpu.get("stampede"):
        st_cpu = statistics.median(r["cpu_us"] for r in cpu["stampede"])
    if "stampede" in counts:
        st_ir = counts["stampede"]["ir"]
    for t in tool_list:
        rs = cpu.get(t.name) or []
        c = counts.get(t.name)
        line = f"{t.name:9} "
        if rs:
            med = statistics.median(r["cpu_us"] for r in rs)
            lo, hi = min(r["cpu_us"] for r in rs), max(r["cpu_us"] for r in rs)
            line += (f"{statistics.median(r['rps'] for r in rs):9.0f} {med:11.2f} {f'[{lo:.2f}–{hi:.2f}]':>14} ")
        else:
            med = None
            line += f"{'-':>9} {'-':>11} {'':>14} "
        line += f"{c['ir']:10.0f} {c['ll']:12.1f} " if c else f"{'-':>10} {'-':>12} "
        line += f"{statistics.median(r['rss'] for r in rs) / 1e6:7.1f}MB " if rs else f"{'-':>9} "
        line += f"{st_cpu / med:15.2f} " if (med and st_cpu) else f"{'-':>15} "
        line += f"{st_ir / c['ir']:11.2f}" if (c and st_ir) else f"{'-':>11}"
        print(line)
    print("(ratios: stampede's figure over the tool's; goals: CPU ≤ 1.0× oha and ≤ 1.5× wrk, "
          "instructions ≤ 1.3× oha)")
    return cpu, counts
