#!/usr/bin/env python3
"""stampede's benchmark: the same-run table of stampede, wrk, oha and k6 (HTTP/1.1: CPU,
instructions and cache misses per request, RSS; see table.py), where a request's CPU goes
(perf; see cpu_parts.py), stampede and h2load side by side (HTTP/2), VU start-up and memory,
the highest arrival rate held, and memory over a long run. One command: `bench/run.sh` (see the
README's Performance section).

Everything runs on 127.0.0.1 against a local target (nginx when installed, else
`stampede serve`), is bounded in time, and stops by itself.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import vu_memory  # bench/, next to this file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
STAMPEDE = os.path.join(TARGET, "release", "stampede")
GUEST = os.path.join(TARGET, "guests", "wasm32-wasip2", "release", "bench_guest.wasm")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def discard_server():
    """A loopback HTTP receiver that reads every request's body and answers 200, empty (a sink
    for the pushing outputs): (server, port)."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the outputs' client expects

        def do_POST(self):
            n = int(self.headers.get("Content-Length", 0))
            while n > 0:
                chunk = self.rfile.read(min(n, 1 << 16))
                if not chunk:
                    break
                n -= len(chunk)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Target:
    """nginx serving a tiny body on loopback, or stampede's built-in target."""

    def __init__(self, prefer_nginx=True):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="stampede-bench-")
        self.proc = None
        nginx = shutil.which("nginx") if prefer_nginx else None
        self.h2_port = free_port()
        self.h2_url = None
        with_h2 = nginx and "http_v2_module" in subprocess.run([nginx, "-V"], capture_output=True, text=True).stderr
        if with_h2 and shutil.which("openssl"):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                            "-subj", "/CN=127.0.0.1", "-keyout", os.path.join(self.dir, "key.pem"),
                            "-out", os.path.join(self.dir, "cert.pem")], capture_output=True, check=True)
            self.h2_url = f"https://127.0.0.1:{self.h2_port}/"
        if nginx:
            os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
            conf = os.path.join(self.dir, "nginx.conf")
            h2_conf = ""
            if self.h2_url:
                h2_conf = (f"    listen 127.0.0.1:{self.h2_port} ssl http2 backlog=4096;\n"
                           f"    ssl_certificate {self.dir}/cert.pem;\n    ssl_certificate_key {self.dir}/key.pem;\n"
                           "    http2_max_concurrent_streams 128;\n")
            with open(conf, "w") as f:
                f.write(f"""worker_processes 1;
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/logs/error.log;
events {{ worker_connections 65536; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {{
    listen 127.0.0.1:{self.port} backlog=4096;
{h2_conf}    location / {{ return 200 "hello from nginx\\n"; }}
  }}
}}
""")
            self.proc = subprocess.Popen([nginx, "-c", conf, "-p", self.dir], stderr=subprocess.DEVNULL)
            self.name = "nginx (1 worker)"
        else:
            self.proc = subprocess.Popen([STAMPEDE, "serve", "--listen", f"127.0.0.1:{self.port}"],
                                         stderr=subprocess.DEVNULL)
            self.name = "stampede serve"
        self.url = f"http://127.0.0.1:{self.port}/"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"the target ({self.name}) did not start")

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def timed(cmd, env=None, timeout=900):
    """Runs cmd under GNU time; returns (stdout, stderr, user s, sys s, max RSS bytes, wall s)."""
    tfile = tempfile.mktemp(prefix="stampede-bench-time-")
    started = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "-o", tfile] + cmd, capture_output=True, text=True,
                       env=env, timeout=timeout)
    wall = time.monotonic() - started
    with open(tfile) as f:
        line = f.read().strip().splitlines()[-1]
    os.unlink(tfile)
    user, sys_, rss = line.split()
    return p.stdout, p.stderr, float(user), float(sys_), int(rss) * 1024, wall


def stampede_run(args, export=True, env=None):
    exp = tempfile.mktemp(prefix="stampede-bench-", suffix=".json")
    cmd = [STAMPEDE, "run", GUEST, "-q", "--no-thresholds"] + args
    if export:
        cmd += ["--summary-export", exp]
    out, err, user, sys_, rss, wall = timed(cmd, env=env)
    summary = None
    if export and os.path.exists(exp):
        with open(exp) as f:
            summary = json.load(f)
        os.unlink(exp)
    return summary, out, err, user, sys_, rss, wall


def metric(summary, name, field, default=0.0):
    return summary.get("metrics", {}).get(name, {}).get(field, default)


def h2_side_by_side(url, reps, duration, conns, streams):
    """h2load and stampede on the same HTTP/2 target: `conns` connections with `streams`
    concurrent streams each (stampede: `conns` VUs, each sending a batch of `streams`)."""
    rows = {"h2load": [], "stampede": []}
    h2load = shutil.which("h2load")
    for rep in range(reps):
        if h2load:
            out, _, user, sys_, rss, _ = timed([h2load, "-t2", f"-c{conns}", f"-m{streams}", "-D", str(duration), url])
            n = int(re.search(r"requests: \d+ total, \d+ started, (\d+) done", out).group(1))
            rows["h2load"].append(dict(rps=n / duration, cpu_us=(user + sys_) / n * 1e6, rss=rss, n=n))
            log(f"  rep {rep + 1}: h2load   {n / duration:10.0f} req/s  {(user + sys_) / n * 1e6:5.1f} µs CPU/req")
        args = ["-e", f"URL={url}", "-u", str(conns), "-d", f"{duration}s", "--insecure-skip-tls-verify"]
        if streams > 1:
            args += ["-e", "MODE=batch", "-e", f"BATCH={streams}"]
        summary, _, _, user, sys_, rss, _ = stampede_run(args)
        n = metric(summary, "http_reqs", "count")
        rows["stampede"].append(dict(rps=n / duration, cpu_us=(user + sys_) / n * 1e6, rss=rss, n=n))
        log(f"  rep {rep + 1}: stampede {n / duration:10.0f} req/s  {(user + sys_) / n * 1e6:5.1f} µs CPU/req")
    return rows


def print_rows(title, rows, anchor, goal):
    print(f"\n{title}")
    print(f"{'tool':10} {'req/s':>10} {'CPU µs/req':>11} {'peak RSS':>10}")
    med = {}
    for tool, rs in rows.items():
        if not rs:
            continue
        med[tool] = {k: statistics.median(r[k] for r in rs) for k in ("rps", "cpu_us", "rss")}
        print(f"{tool:10} {med[tool]['rps']:10.0f} {med[tool]['cpu_us']:11.1f} {mb(med[tool]['rss']):>10}")
    if anchor in med and "stampede" in med:
        s, w = med["stampede"], med[anchor]
        print(f"{'ratio':10} {s['rps'] / w['rps']:10.2f} {s['cpu_us'] / w['cpu_us']:11.2f}   (stampede / {anchor}; CPU target <= {goal})")


def vu_startup(counts, sleep_s=5):
    """RSS and start-up time with many VUs that only sleep."""
    out = []
    for n in counts:
        summary, stdout, err, user, sys_, rss, wall = stampede_run(
            ["-e", "MODE=sleep", "-e", f"SLEEP={sleep_s}", "-u", str(n), "-d", "2s"], export=True)
        m = re.search(r"vus_init\.*: (\d+) VUs made in (\S+)", stdout)
        if summary is None or not m:
            out.append(dict(vus=n, ok=False, error=(err.strip().splitlines() or ["?"])[-1]))
            continue
        out.append(dict(vus=n, ok=True, init=m.group(2), rss=rss, vus_max=metric(summary, "vus_max", "value")))
    return out


def max_arrival_rate(target, lo=1000, hi=200000, secs=5):
    """The highest constant arrival rate held within 1% with no dropped iterations."""
    best = None
    trials = []
    while hi / lo > 1.05:
        rate = int((lo * hi) ** 0.5)
        cfg = tempfile.mktemp(prefix="stampede-bench-", suffix=".json")
        with open(cfg, "w") as f:
            json.dump({"scenarios": {"rate": {"executor": "constant-arrival-rate", "rate": rate, "timeUnit": "1s",
                                              "duration": f"{secs}s", "preAllocatedVUs": 200, "maxVUs": 400}}}, f)
        summary, *_ = stampede_run(["-e", f"URL={target.url}", "-c", cfg])
        os.unlink(cfg)
        done = metric(summary, "iterations", "count")
        dropped = metric(summary, "dropped_iterations", "count")
        held = dropped == 0 and abs(done - rate * secs) <= 0.01 * rate * secs
        trials.append((rate, done / secs, dropped, held))
        log(f"  {rate:7d}/s: {done / secs:9.0f}/s achieved, {dropped:.0f} dropped -> {'held' if held else 'missed'}")
        if held:
            best, lo = rate, rate
        else:
            hi = rate
    return best, trials


def soak_rss(target, secs, vus=50, every=5):
    """RSS of a stampede run sampled every few seconds."""
    cmd = [STAMPEDE, "run", GUEST, "-q", "--no-summary", "-e", f"URL={target.url}", "-u", str(vus), "-d", f"{secs}s"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = []
    start = time.monotonic()
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                rss = int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) * 1024
            samples.append((time.monotonic() - start, rss))
        except (OSError, AttributeError):
            pass
        time.sleep(every)
    return samples


def pss_during(cmd, settle, env=None):
    """Runs cmd; after `settle` seconds reads its RSS and PSS (shared pages split among their
    users: the memory it really costs). Returns (rss, pss) in bytes, or (0, 0)."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    time.sleep(settle)
    rss = pss = 0
    try:
        rss, pss = (kib * 1024 for kib in vu_memory.rollup(p.pid))
    except (OSError, AttributeError):
        pass
    p.wait()
    return rss, pss


def languages(target, duration):
    """The same script in each language: CPU per request, memory per VU, start-up times."""
    scripts = {
        "Rust": GUEST,
        "JavaScript": os.path.join(ROOT, "bench", "scripts", "get.js"),
        "Python": os.path.join(ROOT, "bench", "scripts", "get.py"),
    }
    rows = []
    for lang, script in scripts.items():
        log(f"  {lang}")
        base = [STAMPEDE, "run", script, "-q", "--no-summary", "--no-thresholds"]
        # First start: build (for JS and Python) and compile, from nothing cached.
        t0 = time.monotonic()
        first = subprocess.run(base + ["--no-cache", "-e", f"URL={target.url}", "-i", "1"], capture_output=True, text=True)
        first_s = time.monotonic() - t0
        if first.returncode != 0:
            rows.append(dict(lang=lang, error=(first.stderr.strip().splitlines() or ["?"])[-1]))
            continue
        # The first cached run compiles and stores the compiled code; the next one only loads it.
        subprocess.run(base + ["-e", f"URL={target.url}", "-i", "1"], capture_output=True)
        t0 = time.monotonic()
        subprocess.run(base + ["-e", f"URL={target.url}", "-i", "1"], capture_output=True)
        cached_s = time.monotonic() - t0
        cpu = {}
        for vus in (4, 50):
            exp = tempfile.mktemp(suffix=".json")
            _, _, user, sys_, _, _ = timed(base + ["-e", f"URL={target.url}", "-u", str(vus), "-d", f"{duration}s",
                                                   "--summary-export", exp])
            with open(exp) as f:
                n = json.load(f)["metrics"]["http_reqs"]["count"]
            os.unlink(exp)
            cpu[vus] = (user + sys_) / n * 1e6
        sleeping = base + ["-e", "MODE=sleep", "-e", "SLEEP=6", "-d", "3s"]
        rss1, pss1 = pss_during(sleeping + ["-u", "1"], 4)
        rss1k, pss1k = pss_during(sleeping + ["-u", "1000"], 5)
        rows.append(dict(lang=lang, first=first_s, cached=cached_s, cpu4=cpu[4], cpu50=cpu[50],
                         rss_vu=(rss1k - rss1) / 999, pss_vu=(pss1k - pss1) / 999))
    return rows


class Sinks:
    """Receivers for the outputs: a real Prometheus with its remote-write receiver (Debian's
    `prometheus`, when installed) and an OTLP/HTTP sink that answers every request with 200."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="stampede-bench-sinks-")
        self.prom = None
        self.prom_port = free_port()
        if shutil.which("prometheus"):
            cfg = os.path.join(self.dir, "prometheus.yml")
            with open(cfg, "w") as f:
                f.write("global:\n  scrape_interval: 1h\n")
            self.prom = subprocess.Popen(
                ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={self.dir}/data",
                 f"--web.listen-address=127.0.0.1:{self.prom_port}", "--web.enable-remote-write-receiver"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", self.prom_port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)

        self.otlp, self.otlp_port = discard_server()

    def args(self):
        """--out flags for every streaming output; files go to /dev/null (formatting, not disk)."""
        rw = (f"http://127.0.0.1:{self.prom_port}/api/v1/write" if self.prom
              else f"http://127.0.0.1:{self.otlp_port}/api/v1/write")
        return ["--out", "json=/dev/null", "--out", "csv=/dev/null",
                "--out", f"experimental-prometheus-rw=url={rw},pushInterval=5s",
                "--out", "opentelemetry=exportInterval=10s"]

    def env(self):
        env = dict(os.environ)
        env["STAMPEDE_OTEL_HTTP_EXPORTER_INSECURE"] = "true"
        env["STAMPEDE_OTEL_HTTP_EXPORTER_ENDPOINT"] = f"127.0.0.1:{self.otlp_port}"
        return env

    def stop(self):
        self.otlp.shutdown()
        if self.prom:
            self.prom.terminate()
            self.prom.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def outputs_cost(target, reps, duration, conns):
    """CPU per request with every streaming output on (JSON lines, CSV, remote-write, OTLP)
    against none, interleaved; and what the outputs dropped."""
    sinks = Sinks()
    rows = {"none": [], "all": []}
    try:
        for rep in range(reps):
            for mode in ("none", "all"):
                extra = sinks.args() if mode == "all" else []
                summary, _, _, user, sys_, rss, _ = stampede_run(
                    ["-e", f"URL={target.url}", "-u", str(conns), "-d", f"{duration}s"] + extra,
                    env=sinks.env())
                n = metric(summary, "http_reqs", "count")
                outs = summary.get("generator", {}).get("outputs", [])
                dropped = sum(o.get("dropped", 0) for o in outs)
                errors = sum(o.get("errors", 0) for o in outs)
                rows[mode].append(dict(rps=n / duration, cpu_us=(user + sys_) / n * 1e6, rss=rss,
                                       dropped=dropped, errors=errors))
                log(f"  rep {rep + 1}: {mode:5} {n / duration:10.0f} req/s  {(user + sys_) / n * 1e6:5.1f} µs CPU/req"
                    f"  dropped {dropped}  failed writes {errors}")
    finally:
        sinks.stop()
    return rows, sinks.prom is not None


def thread_split(target, out_args, env, reps, secs, vus, rps=None):
    """CPU of the outputs' own threads (named `stampede-output`) against the rest of the same
    process, in runs with `out_args` (the outputs) on: [(output µs per request, rest µs per request)]. One run
    holds both sides, so the machine's mood from run to run cancels out; what the outputs cost
    on the VUs' side (the store handing batches over) is counted in the rest."""
    res = []
    for rep in range(reps):
        exp = tempfile.mktemp(prefix="stampede-bench-", suffix=".json")
        cmd = [STAMPEDE, "run", GUEST, "-q", "--no-thresholds", "--summary-export", exp,
               "-e", f"URL={target.url}", "-u", str(vus), "-d", f"{secs}s"] + (["--rps", str(rps)] if rps else [])
        p = subprocess.Popen(cmd + out_args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        # Cumulative run time (ns, from schedstat) of every thread seen, the last reading.
        seen = {}
        usage = None
        while usage is None:
            pid, _, ru = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                usage = ru
                break
            try:
                for tid in os.listdir(f"/proc/{p.pid}/task"):
                    try:
                        with open(f"/proc/{p.pid}/task/{tid}/comm") as f:
                            name = f.read().strip()
                        with open(f"/proc/{p.pid}/task/{tid}/schedstat") as f:
                            ns = int(f.read().split()[0])
                        seen[tid] = (name, ns)
                    except (OSError, ValueError, IndexError):
                        pass
            except OSError:
                pass
            time.sleep(0.05)
        p.returncode = 0  # reaped above
        try:
            with open(exp) as f:
                n = metric(json.load(f), "http_reqs", "count")
            os.unlink(exp)
        except (OSError, ValueError):
            n = 0
        if n <= 0:
            log(f"  rep {rep + 1}: no requests counted")
            continue
        out_ns = sum(ns for name, ns in seen.values() if name == "stampede-output")
        rest_ns = sum(ns for name, ns in seen.values() if name != "stampede-output")
        # What the readings missed (a thread's last moments before it ended), from the
        # process's own total: counted against the outputs, the worst case for them.
        missed = max(0.0, (usage.ru_utime + usage.ru_stime) * 1e9 - out_ns - rest_ns)
        out_ns += missed
        res.append((out_ns / n / 1e3, rest_ns / n / 1e3))
        log(f"  rep {rep + 1}: output threads {out_ns / n / 1e3:5.2f} µs/req, the rest {rest_ns / n / 1e3:6.2f} µs/req "
            f"({out_ns / rest_ns * 100:4.1f}%, of which {missed / 1e6:.0f} ms not seen per thread)")
    return res


def mb(b):
    return f"{b / 1e6:.1f} MB"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5, help="interleaved repetitions of each timed run (5)")
    ap.add_argument("--count-small", type=int, default=2000, help="requests of the short counted run (2000)")
    ap.add_argument("--count-large", type=int, default=7000, help="requests of the long counted run (7000)")
    ap.add_argument("--duration", type=int, default=10, help="seconds per run (10)")
    ap.add_argument("--conns", type=int, default=50, help="connections / VUs (50)")
    ap.add_argument("--soak", type=int, default=60, help="seconds of the memory-over-time run (60; 600 for the 10-minute soak)")
    ap.add_argument("--cardinality", type=int, default=30,
                    help="seconds of each run of the URL-cardinality memory part (30; 600 for the 10-minute one)")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: table,profile,h2,outputs,vus,rate,soak,langs,scale,cardinality,js")
    ap.add_argument("--only", default="", help="comma-separated parts to run (the others are skipped)")
    ap.add_argument("--target", choices=["auto", "serve"], default="auto", help="nginx if installed (auto) or stampede serve")
    a = ap.parse_args()
    skip = set(a.skip.split(",")) - {""}
    if a.only:
        skip = {"table", "profile", "h2", "outputs", "vus", "rate", "soak", "langs", "scale", "cardinality",
                "js"} - set(a.only.split(","))

    target = Target(prefer_nginx=a.target == "auto")
    nproc = os.cpu_count()
    print(f"machine: {nproc} cores, {os.uname().release}; target: {target.name} on {target.url}")
    try:
        if "table" not in skip:
            import table
            table.report(target, STAMPEDE, GUEST, timed, log, a.reps, a.duration, a.conns,
                         small=a.count_small, large=a.count_large)
        if "profile" not in skip:
            import cpu_parts
            import table
            cpu_parts.report(target, table.tools(STAMPEDE, GUEST), table.env(), min(a.reps, 3), min(a.duration, 5),
                           a.conns, log)
        if "h2" not in skip and target.h2_url and shutil.which("h2load"):
            for streams in (1, 10):
                log(f"== stampede vs h2load: HTTP/2 over TLS, {a.conns} connections x {streams} streams, {a.duration} s, {a.reps} reps")
                rows = h2_side_by_side(target.h2_url, a.reps, a.duration, a.conns, streams)
                print_rows(f"stampede vs h2load (HTTP/2 over TLS, {a.conns} connections x {streams} streams, "
                           f"{a.duration} s, median of {a.reps} interleaved runs)", rows, "h2load", 2)
        elif "h2" not in skip:
            log("h2load, nginx or openssl missing: the HTTP/2 comparison is skipped (apt-get install nghttp2-client)")
        if "outputs" not in skip:
            log(f"== outputs: json, csv, remote-write and OTLP all on, against none ({a.conns} VUs, {a.duration} s)")
            rows, real_prom = outputs_cost(target, a.reps, a.duration, a.conns)
            print(f"\noutputs (median of {a.reps} interleaved runs; remote-write to "
                  f"{'Prometheus' if real_prom else 'an HTTP sink'}, OTLP to an HTTP sink, files to /dev/null)")
            print(f"{'outputs':8} {'req/s':>10} {'CPU µs/req':>11} {'peak RSS':>10} {'dropped':>9}")
            med = {}
            for mode, rs in rows.items():
                med[mode] = {k: statistics.median(r[k] for r in rs) for k in ("rps", "cpu_us", "rss", "dropped")}
                m = med[mode]
                print(f"{mode:8} {m['rps']:10.0f} {m['cpu_us']:11.1f} {mb(m['rss']):>10} {m['dropped']:9.0f}")
            print(f"{'ratio':8} {med['all']['rps'] / med['none']['rps']:10.2f} "
                  f"{med['all']['cpu_us'] / med['none']['cpu_us']:11.2f}   (all / none; CPU target <= 1.10)")
            # Runs differ by more than the outputs cost: their threads' CPU within one run is
            # the steadier figure.
            sinks = Sinks()
            try:
                split = thread_split(target, sinks.args(), sinks.env(), a.reps, a.duration, a.conns)
            finally:
                sinks.stop()
            if split:
                share = statistics.median(o / r for o, r in split)
                print(f"output threads within the runs with all four on: "
                      f"{statistics.median(o for o, _ in split):.2f} µs CPU per request against "
                      f"{statistics.median(r for _, r in split):.2f} µs for the rest of the process: "
                      f"+{share * 100:.1f}% (median of {len(split)}; target <= 10%)")
        if "vus" not in skip:
            log("== VU start-up and memory (VUs that sleep)")
            res = vu_startup([1, 1000, 10000])
            print("\nVUs that sleep: start-up time and memory")
            print(f"{'VUs':>7} {'made in':>10} {'peak RSS':>10}")
            for r in res:
                if r["ok"]:
                    print(f"{r['vus']:7d} {r['init']:>10} {mb(r['rss']):>10}")
                else:
                    print(f"{r['vus']:7d}  failed: {r['error']}")
            ok = [r for r in res if r["ok"]]
            if len(ok) >= 3:
                per_vu = (ok[2]["rss"] - ok[0]["rss"]) / (ok[2]["vus"] - ok[0]["vus"])
                print(f"memory per VU: {per_vu / 1024:.1f} KiB ((RSS at 10,000 - RSS at 1) / 9,999)")
            log("== where an idle VU's memory goes (smaps, 1 and 1,000 VUs)")
            vu_memory.report(STAMPEDE, [("Rust", GUEST), ("JavaScript", os.path.join(ROOT, "bench", "scripts", "get.js"))],
                             [1000], log=log)
            try:
                with open("/proc/sys/vm/max_map_count") as f:
                    maps = int(f.read())
            except OSError:
                maps = 0
            log("== 30,000 VUs")
            big = vu_startup([30000])[0]
            if big["ok"]:
                print(f"30,000 VUs: made in {big['init']}, peak RSS {mb(big['rss'])} (vm.max_map_count={maps})")
            else:
                print(f"30,000 VUs: not started here (vm.max_map_count={maps}): {big['error']}")
        if "rate" not in skip:
            log("== highest constant arrival rate held within 1% with no drops")
            best, _ = max_arrival_rate(target)
            print(f"\nhighest constant arrival rate held (5 s, within 1%, 0 dropped): {best or 'none'} iterations/s")
        if "langs" not in skip:
            log("== the same script in each language")
            rows = languages(target, min(a.duration, 5))
            print(f"\nthe same script (one GET, one check) in each language ({target.name})")
            print(f"{'language':11} {'CPU µs/req 4 VUs':>17} {'50 VUs':>8} {'RSS/VU':>9} {'PSS/VU':>9} {'first start':>12} {'cached':>8}")
            for r in rows:
                if "error" in r:
                    print(f"{r['lang']:11} failed: {r['error']}")
                    continue
                print(f"{r['lang']:11} {r['cpu4']:17.1f} {r['cpu50']:8.1f} {r['rss_vu'] / 1024:7.0f}KiB {r['pss_vu'] / 1024:7.0f}KiB"
                      f" {r['first']:11.1f}s {r['cached']:7.2f}s")
        if "js" not in skip:
            log("== JavaScript: k6 and stampede's engines on the same script")
            import js
            cache = os.environ.get("STAMPEDE_CACHE_DIR") or os.path.join(
                os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "stampede")
            rows = js.run(target, STAMPEDE, timed, pss_during, cache, reps=a.reps, secs=min(a.duration, 5), log=log)
            js.report(rows)
        if "scale" not in skip:
            import scale
            scale.report(target, STAMPEDE, GUEST, timed, stampede_run, a.duration, a.conns)
        if "cardinality" not in skip:
            import cardinality
            log(f"== memory with one URL and with a fresh URL per request ({a.cardinality} s)")
            cardinality.report(target, STAMPEDE, GUEST, a.cardinality)
        if "soak" not in skip:
            log(f"== memory over a {a.soak} s run")
            samples = soak_rss(target, a.soak)
            if samples:
                rss = [r for _, r in samples]
                half = len(rss) // 2
                print(f"\nRSS over a {a.soak} s run ({a.conns} VUs): first {mb(rss[0])}, at half time {mb(rss[half])}, "
                      f"last {mb(rss[-1])}, max {mb(max(rss))}; second half grew by {mb(rss[-1] - rss[half])}")
    finally:
        target.stop()


if __name__ == "__main__":
    main()
