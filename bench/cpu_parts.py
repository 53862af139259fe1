"""Where a request's CPU goes, at the table's concurrency: each tool's run sampled by `perf record`
on the kernel's CPU clock (a software event: it works in virtual machines without hardware
counters), its samples sorted into parts by the shared object and symbol they fell in, and each
part given in microseconds of CPU per request. stampede and oha run the same closed loop (the
table's `conns` VUs or connections), one after the other, `reps` times, against the same target.

Also, from the target's side: how often its worker went to sleep per request (voluntary context
switches of nginx's worker). A target that sleeps must be woken for the next request, and on a
virtual machine that wake-up (an interrupt to the other core) is among a request's largest kernel
costs; a target that is never idle is not woken.

callgrind counts (table.py) weigh every instruction the same at one VU; this weighs time at 50,
cache misses, system calls and wake-ups included.
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile

# (part, test on the sample's shared object and symbol), first match wins.
PARTS = [
    ("kernel: wake-ups (sock_def_readable …)", lambda dso, sym: dso.startswith("[kernel") and (
        "spin_unlock_irqrestore" in sym or "irqentry_exit" in sym or "try_to_wake_up" in sym)),
    ("kernel: scheduler", lambda dso, sym: dso.startswith("[kernel") and (
        "finish_task_switch" in sym or "schedule" in sym or "pick_next" in sym or "update_" in sym)),
    ("kernel: TCP, system calls and the rest", lambda dso, _sym: dso.startswith("[kernel")),
    ("script (wasm, compiled)", lambda dso, _sym: dso.startswith("[JIT]") or dso == "[unknown]"),
    ("wasmtime (calls, fibers, resources)", lambda _dso, sym: "wasmtime" in sym or "cranelift" in sym),
    ("HTTP client", lambda _dso, sym: any(k in sym for k in (
        "stampede_host_api", "httparse", "hyper", "http::", "bytes::", "<http", "h2::"))),
    ("metrics", lambda _dso, sym: "hdrhistogram" in sym or "metrics" in sym or "recorder" in sym),
    ("async runtime (tokio, mio, futures)", lambda _dso, sym: any(k in sym for k in (
        "tokio", "mio::", "futures", "poll_fn", "Future>::poll"))),
    ("libc (memcpy, malloc, free …)", lambda dso, _sym: dso.startswith("libc") or dso.startswith("ld-linux")),
    ("clock reads (vdso)", lambda dso, _sym: dso == "[vdso]"),
    ("the rest of the program", lambda _dso, _sym: True),
]

LINE = re.compile(r"^\s*([\d.]+)%\s+(\S+(?: tid \d+)?)\s+\[([.k])\]\s+(.*)$")


def _perf():
    return shutil.which("perf")


def parts_of(report_text):
    """{part: share of samples} from `perf report --sort dso,sym` text."""
    shares = {name: 0.0 for name, _ in PARTS}
    for line in report_text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        pct, dso, _, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4)
        for name, test in PARTS:
            if test(dso, sym):
                shares[name] += pct / 100.0
                break
    return shares


def _nginx_worker(target):
    """The pid of the target's nginx worker, or None (stampede serve, or not found)."""
    if not target.proc or "nginx" not in target.name:
        return None
    master = target.proc.pid
    try:
        with open(f"/proc/{master}/task/{master}/children") as f:
            kids = f.read().split()
    except OSError:
        return None
    return int(kids[0]) if kids else None


def _sleeps(pid):
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _one(tool, url, conns, secs, worker, env):
    """One sampled run: (parts in µs per request, total µs per request, target sleeps per request)."""
    data = tempfile.mktemp(prefix="stampede-perf-", suffix=".data")
    out = tempfile.mktemp(prefix="stampede-bench-", suffix=".json")
    argv = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "1999", "-o", data, "--"] + tool.timed_cmd(
        url, conns, secs, out)
    before = _sleeps(worker)
    try:
        p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=secs * 6 + 60)
        after = _sleeps(worker)
        n = tool.count(p.stdout, out)
        if p.returncode != 0 or n <= 0:
            return None
        rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,sym", "-g", "none",
                              "--percent-limit", "0", "--stdio"],
                             capture_output=True, text=True, timeout=600)
        # cpu-clock counts nanoseconds: the event count is the CPU time the samples stand for.
        m = re.search(r"Event count \(approx\.\): (\d+)", rep.stdout)
        total_ns = int(m.group(1)) if m else 0
        if not total_ns:
            return None
        per_req = total_ns / 1000.0 / n
        shares = parts_of(rep.stdout)
        sleeps = (after - before) / n if before is not None and after is not None else None
        return {k: v * per_req for k, v in shares.items()}, per_req, sleeps
    finally:
        for path in (data, out, data + ".old"):
            try:
                os.unlink(path)
            except OSError:
                pass


def report(target, tool_list, env, reps, secs, conns, log):
    """Samples stampede and oha (whichever of `tool_list` are those) and prints the parts."""
    if not _perf():
        log("== where the CPU goes: perf is not installed (Debian: linux-perf); skipped")
        return
    chosen = [t for t in tool_list if t.name in ("stampede", "oha", "wrk")]
    worker = _nginx_worker(target)
    log(f"== where the CPU goes: perf record -e cpu-clock, {conns} VUs/connections, {secs} s, {reps} reps")
    runs = {t.name: [] for t in chosen}
    for rep in range(reps):
        order = chosen[rep % len(chosen):] + chosen[:rep % len(chosen)]
        for t in order:
            r = _one(t, target.url, conns, secs, worker, env)
            if r is None:
                log(f"  {t.name}: the sampled run failed")
                continue
            runs[t.name].append(r)
            log(f"  {t.name}: {r[1]:.2f} µs per request")
    names = [n for n in runs if runs[n]]
    if not names:
        return
    med = {n: {p: statistics.median(r[0][p] for r in runs[n]) for p, _ in PARTS} for n in names}
    total = {n: statistics.median(r[1] for r in runs[n]) for n in names}
    sleeps = {n: [r[2] for r in runs[n] if r[2] is not None] for n in names}
    print(f"\nWhere a request's CPU goes (µs per request, medians of {reps}; perf, cpu-clock):")
    print(f"{'part':42}" + "".join(f"{n:>10}" for n in names))
    for p, _ in PARTS:
        print(f"{p:42}" + "".join(f"{med[n][p]:10.2f}" for n in names))
    print(f"{'total (sampled)':42}" + "".join(f"{total[n]:10.2f}" for n in names))
    if any(sleeps.values()):
        print(f"{'target went to sleep, per request':42}" +
              "".join(f"{statistics.median(sleeps[n]):10.3f}" if sleeps[n] else f"{'-':>10}" for n in names))
    print(json.dumps({"profile": {n: {"parts": med[n], "total": total[n],
                                      "target_sleeps": statistics.median(sleeps[n]) if sleeps[n] else None}
                                  for n in names}}))
