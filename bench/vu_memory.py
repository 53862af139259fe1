#!/usr/bin/env python3
"""Where an idle VU's memory goes: runs stampede with 1 and N VUs that only sleep, reads the
process's /proc/PID/smaps once the VUs are made, sorts every mapping into a part (the script's
memory image, the rest of the linear memories, fiber stacks, tables, the malloc heap, …) and
prints each part's RSS and PSS per VU: (value with N VUs - value with 1) / (N - 1).

    python3 bench/vu_memory.py [--vus 1000,10000] [SCRIPT ...]

Scripts default to the benchmark's Rust guest and bench/scripts/get.js, both with MODE=sleep.
Linux only. bench.py's `vus` part prints the same table.
"""

import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
STAMPEDE = os.path.join(TARGET, "release", "stampede")
GUEST = os.path.join(TARGET, "guests", "wasm32-wasip2", "release", "bench_guest.wasm")
JS = os.path.join(ROOT, "bench", "scripts", "get.js")

# The parts, in the order printed.
PARTS = [
    ("image", "memory image (the script's data, copy-on-write, shared)"),
    ("linear", "rest of the linear memory (guest stack, heap)"),
    ("stacks", "fiber stack (host stack of the call into wasm)"),
    ("tables", "wasm tables (the table pool)"),
    ("heap", "malloc heap (vmctx, store, VU state, task)"),
    ("other", "the binary, libraries and the rest"),
]
FIELDS = ("Rss", "Pss", "Private_Dirty", "Shared_Clean", "Shared_Dirty", "AnonHugePages")
BIG = 64 << 20  # a reservation of the memory pool (a glibc arena reserves just under 64 MiB)


def read_smaps(pid):
    """The mappings of `pid`, in address order: dicts with start, end, perms, name and the
    smaps fields in KiB."""
    maps, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
            if m:
                cur = dict(start=int(m.group(1), 16), end=int(m.group(2), 16), perms=m.group(3),
                           name=m.group(4).strip())
                maps.append(cur)
                continue
            m = re.match(r"^(\w+):\s+(\d+) kB", line)
            if m and cur is not None:
                cur[m.group(1)] = int(m.group(2))
    return maps


def stack_size_of(maps):
    """The fiber stacks' size: the most common size of the anonymous read-write mappings
    that follow a one-page guard."""
    sizes = {}
    for prev, m in zip(maps, maps[1:]):
        if not m["name"] and m["perms"] == "rw-p" and prev["perms"] == "---p" and not prev["name"] \
                and prev["end"] == m["start"] and prev["end"] - prev["start"] == 4096:
            size = m["end"] - m["start"]
            sizes[size] = sizes.get(size, 0) + 1
    return max(sizes, key=sizes.get) if sizes else 0


def classify(maps, stack_size):
    """Sorts each mapping into one of PARTS, by its shape. Pooled linear memories are the
    anonymous mappings next to a memory image or to a reservation of more than 64 MiB; fiber
    stacks are anonymous mappings of the async stack's size behind a one-page guard."""
    parts = []
    for i, m in enumerate(maps):
        size = m["end"] - m["start"]
        prev = maps[i - 1] if i > 0 else None
        nxt = maps[i + 1] if i + 1 < len(maps) else None

        def touches(o, cond):
            return o is not None and (o["end"] == m["start"] or o["start"] == m["end"]) and cond(o)

        def is_image(o):
            return o["name"].startswith("/memfd:wasm-memory-image")

        def is_reservation(o):
            return not o["name"] and o["perms"] == "---p" and o["end"] - o["start"] > BIG

        if is_image(m):
            part = "image"
        elif m["name"] == "[heap]":
            part = "heap"
        elif m["name"]:
            part = "other"
        elif m["perms"] != "rw-p":
            part = "other"
        elif size > BIG:
            part = "tables"
        elif touches(prev, is_image) or touches(nxt, is_image) or touches(prev, is_reservation) \
                or touches(nxt, is_reservation):
            part = "linear"
        elif size == stack_size and prev is not None and prev["end"] == m["start"] \
                and prev["perms"] == "---p" and prev["end"] - prev["start"] == 4096:
            part = "stacks"
        else:
            part = "heap"  # glibc arenas of the VU threads and other anonymous memory
        parts.append(part)
    return parts


def totals(maps, stack_size):
    out = {p: dict.fromkeys(FIELDS, 0) for p, _ in PARTS}
    for m, part in zip(maps, classify(maps, stack_size)):
        for k in FIELDS:
            out[part][k] += m.get(k, 0)
    return out


def rollup(pid):
    """The process's RSS and PSS in KiB, from /proc/PID/smaps_rollup (OSError when it is gone)."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        text = f.read()
    return tuple(int(re.search(rf"^{k}:\s+(\d+) kB", text, re.M).group(1)) for k in ("Rss", "Pss"))


def settled(pid, least=2.0, most=60.0):
    """Waits until the process's RSS stops growing (all VUs made and asleep)."""
    start = time.monotonic()
    last = -1
    while time.monotonic() - start < most:
        time.sleep(0.5 if time.monotonic() - start >= least else least)
        try:
            rss, _ = rollup(pid)
        except (OSError, AttributeError):
            return False
        if last > 0 and abs(rss - last) <= max(256, rss // 200):
            return True
        last = rss
    return True


def measure(stampede, script, vus, stack_size=None):
    """{part: {field: KiB}} of a stampede process holding `vus` sleeping VUs, and the fiber
    stacks' size."""
    cmd = [stampede, "run", script, "-q", "--no-summary", "--no-thresholds", "-e", "MODE=sleep",
           "-e", "SLEEP=60", "-u", str(vus), "-d", "60s"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        if not settled(p.pid) or p.poll() is not None:
            raise RuntimeError(f"{os.path.basename(script)} with {vus} VUs ended early: "
                               f"{(p.stderr.read() or '?').strip()[-300:]}")
        maps = read_smaps(p.pid)
        stack_size = stack_size or stack_size_of(maps)
        out = totals(maps, stack_size)
        with open(f"/proc/{p.pid}/status") as f:
            pte = re.search(r"^VmPTE:\s+(\d+) kB", f.read(), re.M)
        out["pagetables"] = dict.fromkeys(FIELDS, 0)
        out["pagetables"]["Rss"] = out["pagetables"]["Pss"] = int(pte.group(1)) if pte else 0
        return out, stack_size
    finally:
        p.kill()  # measured already: no need to wait for the VUs to stop
        p.wait()


def per_vu(one, many, n):
    """KiB per VU of each part and field, from the runs with 1 and n VUs."""
    return {p: {k: (many[p][k] - one[p][k]) / (n - 1) for k in FIELDS} for p in list(dict(PARTS)) + ["pagetables"]}


def report(stampede, scripts, counts, log=print):
    """Prints the breakdown per VU of each script at each count (against 1 VU)."""
    for name, script in scripts:
        # The first run may compile the script (and fill the cache); the runs compared load it.
        measure(stampede, script, 1)
        many = {}
        for n in counts:
            log(f"  {name}: {n} VUs")
            try:
                many[n], stack_size = measure(stampede, script, n)
            except RuntimeError as e:
                print(f"\n{name}, {n} VUs: {e}")
        if not many:
            continue
        one, _ = measure(stampede, script, 1, stack_size)
        for n, at_n in many.items():
            vu = per_vu(one, at_n, n)
            print(f"\nwhere an idle VU's memory goes: {name}, {n:,} sleeping VUs against 1 (KiB per VU)")
            print(f"{'part':62} {'RSS':>7} {'PSS':>7} {'private':>8} {'shared':>7} {'THP':>5}")
            tot = dict.fromkeys(FIELDS, 0.0)
            for part, what in PARTS:
                v = vu[part]
                for k in FIELDS:
                    tot[k] += v[k]
                print(f"{what:62} {v['Rss']:7.1f} {v['Pss']:7.1f} {v['Private_Dirty']:8.1f} "
                      f"{v['Shared_Clean'] + v['Shared_Dirty']:7.1f} {v['AnonHugePages']:5.0f}")
            print(f"{'total':62} {tot['Rss']:7.1f} {tot['Pss']:7.1f} {tot['Private_Dirty']:8.1f} "
                  f"{tot['Shared_Clean'] + tot['Shared_Dirty']:7.1f} {tot['AnonHugePages']:5.0f}")
            print(f"{'page tables (VmPTE: kernel memory, in neither RSS nor PSS)':62} {vu['pagetables']['Rss']:7.1f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vus", default="1000", help="comma-separated VU counts, each against 1 VU (1000)")
    ap.add_argument("--stampede", default=STAMPEDE, help="the stampede binary (target/release/stampede)")
    ap.add_argument("scripts", nargs="*", help="scripts that sleep with MODE=sleep (the Rust bench guest and get.js)")
    a = ap.parse_args()
    scripts = [(os.path.basename(s), s) for s in a.scripts] or [("Rust", GUEST), ("JavaScript", JS)]
    report(a.stampede, scripts, [int(n) for n in a.vus.split(",")],
           log=lambda m: print(m, file=sys.stderr, flush=True))


if __name__ == "__main__":
    main()
