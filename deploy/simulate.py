#!/usr/bin/env python3
"""Runs the pods of `stampede kubernetes render --format json` as local processes.

Every runner pod of the Indexed Job becomes a process with the pod's exact arguments and
environment: `$(VAR)` is expanded as Kubernetes expands it, the completion index comes from
the downward API's place, and the pod's volumes (/script, /results) become directories here.
The pods start at different moments (--jitter), as pods do on a cluster, and all hold until
the manifests' common --start-at. Then the merge pod's command runs; its exit code is this
script's, as the merge Job's is the test's.

    stampede kubernetes render test.wasm --instances 4 --start-in 15s --format json \\
        -o test.json -- -u 40 -d 30s -e BASE_URL=http://127.0.0.1:8080
    deploy/simulate.py test.json --stampede target/release/stampede --dir /tmp/sim

Logs of each pod go to DIR/pod-INDEX.log and DIR/merge.log; partial results and the merged
summary go where the manifests say, under DIR/results.
"""

import argparse
import base64
import json
import os
import random
import re
import subprocess
import sys
import time


def find(items, pred, what):
    found = [i for i in items if pred(i)]
    if len(found) != 1:
        sys.exit(f"simulate: expected one {what} in the manifests, found {len(found)}")
    return found[0]


def expand(text, env):
    """Kubernetes' $(VAR) expansion: defined variables are replaced, $$ escapes."""
    def repl(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", repl, text)


def pod_env(container, index):
    env = {}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = expand(var["value"], env)
        elif "job-completion-index" in json.dumps(var.get("valueFrom", {})):
            env[var["name"]] = str(index)
        else:
            sys.exit(f"simulate: cannot provide env {var['name']} outside Kubernetes")
    return env


def local(arg, mounts):
    for inside, outside in mounts.items():
        arg = arg.replace(inside + "/", outside + "/")
    return arg


def command(container, index, mounts, stampede):
    env = pod_env(container, index)
    args = [local(expand(a, env), mounts) for a in container["args"]]
    full = dict(os.environ)
    full.update({k: local(v, mounts) for k, v in env.items()})
    return [stampede] + args, full


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("manifests", help="the output of render --format json")
    p.add_argument("--stampede", default="stampede", help="the stampede binary")
    p.add_argument("--dir", required=True, help="where the pods' volumes and logs go")
    p.add_argument("--jitter", type=float, default=3.0, help="pods start up to this many seconds apart")
    p.add_argument("--seed", type=int, default=None, help="seed of the start jitter")
    a = p.parse_args()

    with open(a.manifests) as f:
        items = json.load(f)["items"]
    config_map = find(items, lambda i: i["kind"] == "ConfigMap", "ConfigMap")
    runner = find(items, lambda i: i["kind"] == "Job" and i["spec"].get("completionMode") == "Indexed", "Indexed Job")
    merge = find(items, lambda i: i["kind"] == "Job" and "completionMode" not in i["spec"], "merge Job")

    script_dir = os.path.abspath(os.path.join(a.dir, "script"))
    results_dir = os.path.abspath(os.path.join(a.dir, "results"))
    os.makedirs(script_dir, exist_ok=True)
    os.makedirs(results_dir, exist_ok=True)
    for name, data in config_map.get("binaryData", {}).items():
        with open(os.path.join(script_dir, name), "wb") as f:
            f.write(base64.b64decode(data))
    for name, text in config_map.get("data", {}).items():
        with open(os.path.join(script_dir, name), "w") as f:
            f.write(text)
    mounts = {"/script": script_dir, "/results": results_dir}

    container = runner["spec"]["template"]["spec"]["containers"][0]
    n = runner["spec"]["completions"]
    rng = random.Random(a.seed)
    delays = sorted((rng.uniform(0, a.jitter), i) for i in range(n))
    pods = []
    started = time.monotonic()
    for delay, i in delays:
        time.sleep(max(0.0, started + delay - time.monotonic()))
        cmd, env = command(container, i, mounts, a.stampede)
        log = open(os.path.join(a.dir, f"pod-{i}.log"), "w")
        pods.append((i, subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), log))
        print(f"simulate: pod {i} started {delay:.2f} s in", file=sys.stderr)

    merge_container = merge["spec"]["template"]["spec"]["containers"][0]
    cmd, env = command(merge_container, 0, mounts, a.stampede)
    with open(os.path.join(a.dir, "merge.log"), "w") as log:
        merged = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    for i, proc, log in pods:
        code = proc.wait()
        log.close()
        print(f"simulate: pod {i} exited with {code}", file=sys.stderr)
    print(f"simulate: the merge exited with {merged.returncode}", file=sys.stderr)
    return merged.returncode


if __name__ == "__main__":
    sys.exit(main())
