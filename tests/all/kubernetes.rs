//! Kubernetes: the rendered manifests checked against the API's schemas, their pods run here
//! as local processes (deploy/simulate.py) and compared with one process running the whole
//! test, and the container image built with podman and running a test.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::guests::guest;
use crate::support::{run_command, runtime, stampede, target, RunResult, TempDir};

fn render(dir: &TempDir, script: &Path, flags: &[&str], run_args: &[&str]) -> RunResult {
    let mut cmd = stampede();
    cmd.args(["kubernetes", "render"])
        .arg(script)
        .args(flags)
        .arg("--")
        .args(run_args)
        .current_dir(&dir.0);
    run_command(cmd, None)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn rendered_manifests_are_valid_kubernetes_objects() {
    let dir = TempDir::new("k8s-validate");
    let yaml = dir.path("test.yaml");
    let json = dir.path("test.json");
    let flags = [
        "--instances",
        "5",
        "--namespace",
        "load",
        "--name",
        "checkout",
        "--start-at",
        "2030-01-02T03:04:05Z",
    ];
    let args = [
        "-u",
        "500",
        "-d",
        "5m",
        "-e",
        "BASE_URL=http://api.load.svc",
    ];
    let mut with_out = flags.to_vec();
    let yaml_s = yaml.display().to_string();
    with_out.extend(["-o", &yaml_s]);
    let r = render(&dir, &guest("split"), &with_out, &args);
    assert_eq!(r.code, 0, "{}", r.output());
    // 500 VUs over 5 pods: 100 each, sized from the per-VU figure.
    assert!(r.stderr.contains("at most 100 VUs each"), "{}", r.output());
    let mut as_json = flags.to_vec();
    let json_s = json.display().to_string();
    as_json.extend(["--format", "json", "-o", &json_s]);
    assert_eq!(render(&dir, &guest("split"), &as_json, &args).code, 0);

    for version in ["1.37.0", "1.30.0"] {
        let out = Command::new(root().join("tests/k8s-validate.sh"))
            .args(["-k", version])
            .arg(&yaml)
            .output()
            .expect("running tests/k8s-validate.sh (python3 with venv, and PyPI)");
        assert!(
            out.status.success(),
            "kubernetes-validate {version}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The YAML says what the JSON says, read by a real YAML parser (PyYAML, in the venv the
    // validator was installed in).
    let venv = std::env::var_os("STAMPEDE_K8S_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/k8s-validate-venv"));
    let out = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            // The merge's --wait runs from the moment of rendering: left out.
            "import json, sys, yaml; docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]; \
             items = json.load(open(sys.argv[2]))['items']; \
             [d['spec']['template']['spec']['containers'][0]['args'].pop(2) for d in (docs[-1], items[-1])]; \
             sys.exit(0 if docs == items else 1)",
        ])
        .arg(&yaml)
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the YAML and JSON manifests differ: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ConfigMap", "PersistentVolumeClaim", "Job", "Job"]);
    let job = &list["items"][2]["spec"];
    assert_eq!(job["completions"], 5);
    assert_eq!(job["completionMode"], "Indexed");
    let pod = &job["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let memory = pod["containers"][0]["resources"]["requests"]["memory"]
        .as_str()
        .unwrap();
    let mib: u64 = memory.trim_end_matches("Mi").parse().unwrap();
    assert!((96 + 100 / 8..=96 + 100).contains(&mib), "{memory}");
}

#[test]
fn render_refuses_what_pods_cannot_do() {
    let dir = TempDir::new("k8s-refuse");
    for (args, why) in [
        (
            &["--execution-segment", "0:1/2"][..],
            "cannot be given to the pods",
        ),
        (
            &["--out", "partial=x.json"][..],
            "cannot be given to the pods",
        ),
        (&["--vus", "many"][..], "not valid `stampede run` flags"),
    ] {
        let r = render(&dir, &guest("split"), &["--instances", "2"], args);
        assert_eq!(r.code, 104, "{args:?}: {}", r.output());
        assert!(r.stderr.contains(why), "{args:?}: {}", r.output());
    }
    let r = render(
        &dir,
        &guest("split"),
        &["--instances", "2", "--name", "Bad_Name"],
        &[],
    );
    assert_eq!(r.code, 104, "{}", r.output());
    assert!(r.stderr.contains("invalid test name"), "{}", r.output());
}

/// Every `Point` value of `metric` in the JSON lines files.
fn values(files: &[PathBuf], metric: &str) -> Vec<f64> {
    let mut out = Vec::new();
    for f in files {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            if v["type"] == "Point" && v["metric"] == metric {
                out.push(v["data"]["value"].as_f64().unwrap());
            }
        }
    }
    out
}

#[test]
fn the_rendered_pods_run_here_and_merge_into_the_whole_test() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let dir = TempDir::new("k8s-simulate");
    let manifests = dir.path("test.json");
    let options = dir.path("options.json");
    std::fs::write(
        &options,
        r#"{"scenarios": {
            "browse": {"executor": "shared-iterations", "vus": 6, "iterations": 150},
            "api": {"executor": "constant-arrival-rate", "rate": 40, "timeUnit": "1s",
                    "duration": "2s", "preAllocatedVUs": 4}
        }}"#,
    )
    .unwrap();
    let opts = options.display().to_string();
    let manifests_s = manifests.display().to_string();
    let run_args = [
        "-e",
        &base,
        "-c",
        &opts,
        "--out",
        "json=/results/samples-$(STAMPEDE_EXECUTION_SEGMENT_INDEX).jsonl",
    ];
    let r = render(
        &dir,
        &guest("split"),
        &[
            "--instances",
            "3",
            "--start-in",
            "8s",
            "--format",
            "json",
            "-o",
            &manifests_s,
        ],
        &run_args,
    );
    assert_eq!(r.code, 0, "{}", r.output());

    let sim = dir.path("sim");
    let out = Command::new("python3")
        .arg(root().join("deploy/simulate.py"))
        .arg(&manifests)
        .arg("--stampede")
        .arg(env!("CARGO_BIN_EXE_stampede"))
        .arg("--dir")
        .arg(&sim)
        .args(["--jitter", "3", "--seed", "7"])
        .output()
        .unwrap();
    let log = |name: &str| std::fs::read_to_string(sim.join(name)).unwrap_or_default();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\nmerge:\n{}\npod 0:\n{}",
        String::from_utf8_lossy(&out.stderr),
        log("merge.log"),
        log("pod-0.log")
    );
    // The run's directory (named after the test and its start) holds the merged summary.
    let results = std::fs::read_dir(sim.join("results"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .expect("the run's directory");
    let merged: Value =
        serde_json::from_slice(&std::fs::read(results.join("summary.json")).unwrap()).unwrap();
    let samples: Vec<PathBuf> = (0..3)
        .map(|i| sim.join("results").join(format!("samples-{i}.jsonl")))
        .collect();

    // One process running the whole test, for comparison.
    let whole = crate::support::run(
        &guest("split"),
        &["-e", &base, "-c", &opts, "--summary-mode", "full"],
    );
    assert_eq!(whole.code, 0, "{}", whole.output());
    let m = |name: &str, field: &str| merged["metrics"][name][field].as_f64().unwrap();
    // Iterations per scenario, from the pods' samples (each tagged with its scenario).
    let per_scenario = |scn: &str| -> f64 {
        let mut n = 0.0;
        for f in &samples {
            for line in std::fs::read_to_string(f).unwrap().lines() {
                let v: Value = serde_json::from_str(line).unwrap();
                if v["type"] == "Point"
                    && v["metric"] == "split_iterations"
                    && v["data"]["tags"]["scn"] == scn
                {
                    n += 1.0;
                }
            }
        }
        n
    };
    let (browse, api) = (per_scenario("browse"), per_scenario("api"));
    assert_eq!(m("iterations", "count"), browse + api);
    // shared-iterations: exactly the whole test's 150; the arrival rate: 80 scheduled, and
    // within one iteration per pod of one process running it all.
    assert_eq!(browse, 150.0);
    assert_eq!(whole.metric("iterations{scenario:browse}", "count"), 150.0);
    let api_whole = whole.metric("iterations{scenario:api}", "count");
    assert!(
        (api - api_whole).abs() <= 3.0,
        "api: pods {api}, one process {api_whole}"
    );
    assert!((api - 80.0).abs() <= 3.0, "api: pods {api}, scheduled 80");
    // The merged percentiles are those of one histogram of every sample the pods wrote.
    let mut one =
        stampede_runtime::metrics::Sink::new(stampede_runtime::metrics::MetricType::Trend);
    let durations = values(&samples, "http_req_duration");
    for v in &durations {
        one.add(*v);
    }
    let stampede_runtime::metrics::Sink::Trend(one) = one else {
        unreachable!()
    };
    assert_eq!(m("http_req_duration", "p(95)"), one.percentile(95.0));
    assert_eq!(m("http_req_duration", "p(90)"), one.percentile(90.0));
    assert_eq!(m("http_req_duration", "med"), one.percentile(50.0));
    assert_eq!(m("http_req_duration", "max"), one.max);
    assert_eq!(m("http_reqs", "count"), durations.len() as f64);
    // setup() ran in pod 0 only.
    assert!(
        log("pod-0.log").contains("setup ran"),
        "{}",
        log("pod-0.log")
    );
    assert!(!log("pod-1.log").contains("setup ran") && !log("pod-2.log").contains("setup ran"));
}

/// podman flags for this VM (see tests/container.sh).
fn podman_flags() -> Vec<String> {
    let nofile = Command::new("sh")
        .args(["-c", "ulimit -n"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "1024".into());
    vec![
        "--runtime".into(),
        "runc".into(),
        "--ulimit".into(),
        format!("nofile={nofile}:{nofile}"),
        "--ulimit".into(),
        "nproc=4096:4096".into(),
    ]
}

/// A k6 script with checks and thresholds: 20 iterations pass both; run with more, the
/// `http_reqs` threshold fails (exit code 99, as k6's).
const JS_SCRIPT: &str = r#"import http from 'k6/http';
import { check } from 'k6';

export const options = {
  vus: 2,
  iterations: 20,
  thresholds: { checks: ['rate==1'], http_reqs: ['count==20'] },
};

export default function () {
  const res = http.get(`${__ENV.BASE_URL}/`);
  check(res, { 'status is 200': (r) => r.status === 200 });
}
"#;

/// `podman run` of `image` as the pods run it: as the image's user (uid 65532), with a
/// read-only root filesystem and /tmp a tmpfs, on the host's network (the test's servers are on
/// 127.0.0.1). `volumes` are (host path, path inside): the cache of compiled scripts
/// (/tmp/stampede-cache) is one, so that runs can share a compiled engine; `env` NAME=VALUE.
fn podman_run(
    image: &str,
    volumes: &[(&Path, &str)],
    env: &[String],
    args: &[String],
) -> std::process::Output {
    let mut cmd = Command::new("podman");
    cmd.arg("run").args(podman_flags()).args([
        "--rm",
        "--network=host",
        "--read-only",
        "--tmpfs",
        "/tmp",
    ]);
    for (host, inside) in volumes {
        cmd.arg("--volume")
            .arg(format!("{}:{inside}", host.display()));
    }
    for e in env {
        cmd.args(["--env", e]);
    }
    cmd.arg(image).args(args).output().unwrap()
}

/// A directory the container's user (uid 65532) may write to.
fn shared_dir(dir: &TempDir, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.path(name);
    std::fs::create_dir_all(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    path
}

fn show(out: &std::process::Output) -> String {
    format!(
        "exit code {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs the pods of `render --format json` (`manifests`) in the image, one after the other:
/// each runner pod with its arguments and environment as Kubernetes gives them (`$(VAR)`
/// expanded, the completion index), the ConfigMap's files at /script and `results` at
/// /results; then the merge pod, whose output is returned. Pod 0 uses `cache` (to save the
/// time of compiling the engine again); the others each have their own, as pods have.
fn run_rendered_pods(
    image: &str,
    cache: &Path,
    manifests: &Value,
    dir: &TempDir,
) -> std::process::Output {
    let items = manifests["items"].as_array().unwrap();
    let script = dir.path("configmap");
    std::fs::create_dir_all(&script).unwrap();
    let config_map = items.iter().find(|i| i["kind"] == "ConfigMap").unwrap();
    for (name, text) in config_map["data"].as_object().unwrap() {
        std::fs::write(script.join(name), text.as_str().unwrap()).unwrap();
    }
    let results = shared_dir(dir, "results");
    let jobs: Vec<&Value> = items.iter().filter(|i| i["kind"] == "Job").collect();
    let container = |job: &Value| job["spec"]["template"]["spec"]["containers"][0].clone();
    let pod = |c: &Value, index: u64, volumes: &[(&Path, &str)]| {
        let mut env = Vec::new();
        for var in c["env"].as_array().unwrap() {
            let value = match var["value"].as_str() {
                Some(v) => v.to_owned(),
                None => {
                    let field = var["valueFrom"]["fieldRef"]["fieldPath"].as_str().unwrap();
                    assert!(field.contains("job-completion-index"), "{field}");
                    index.to_string()
                }
            };
            env.push((var["name"].as_str().unwrap().to_owned(), value));
        }
        let args: Vec<String> = c["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                env.iter()
                    .fold(a.as_str().unwrap().to_owned(), |a, (k, v)| {
                        a.replace(&format!("$({k})"), v)
                    })
            })
            .collect();
        let env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        podman_run(image, volumes, &env, &args)
    };
    let runner = jobs
        .iter()
        .find(|j| j["spec"]["completionMode"] == "Indexed")
        .unwrap();
    for index in 0..runner["spec"]["completions"].as_u64().unwrap() {
        let own = shared_dir(dir, &format!("cache-{index}"));
        let out = pod(
            &container(runner),
            index,
            &[
                (&script, "/script:ro"),
                (&results, "/results"),
                (if index == 0 { cache } else { &own }, "/tmp/stampede-cache"),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "pod {index}: {}", show(&out));
    }
    let merge = jobs
        .iter()
        .find(|j| j["spec"]["completionMode"].is_null())
        .unwrap();
    pod(&container(merge), 0, &[(&results, "/results")])
}

#[test]
#[ignore = "a release build in a container, minutes of both cores: tests/run.sh runs it alone"]
fn the_container_image_builds_small_and_runs_a_test_as_non_root() {
    let rt = runtime();
    let server = target(&rt);
    let started = std::time::Instant::now();
    let out = Command::new(root().join("tests/container.sh"))
        .output()
        .expect("running tests/container.sh (needs podman, runc and debootstrap: tests/run.sh installs them)");
    assert!(
        out.status.success(),
        "building the image failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let image = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let inspect = |format: &str| {
        let o = Command::new("podman")
            .args(["image", "inspect", "--format", format, &image])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    };
    assert_eq!(inspect("{{.Config.User}}"), "65532:65532");
    let size: u64 = inspect("{{.Size}}").parse().unwrap();
    assert!(size < 100 << 20, "the image is {} MiB", size >> 20);
    eprintln!(
        "the image: {:.1} MiB, built in {:.0?}",
        size as f64 / (1 << 20) as f64,
        started.elapsed()
    );

    let dir = TempDir::new("container");
    let cache = shared_dir(&dir, "cache");
    // A compiled component.
    let out = podman_run(
        &image,
        &[
            (&guest("split"), "/script/split.wasm:ro"),
            (&cache, "/tmp/stampede-cache"),
        ],
        &[],
        &[
            "run",
            "/script/split.wasm",
            "-e",
            &format!("BASE_URL={}", server.url()),
            "-u",
            "3",
            "-i",
            "30",
            "--threshold",
            "iterations: count==30",
        ]
        .map(String::from),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(stdout.contains("iterations"), "{stdout}");
    assert!(server.stats().requests() >= 30);

    let requests = server.stats().requests();
    javascript_in_the_image(&image, &cache, &server.url(), &dir);
    // 20 requests from the direct run, 30 from the pods.
    assert_eq!(server.stats().requests() - requests, 50);
    eprintln!("the whole test: {:.0?}", started.elapsed());
}

/// A k6 script run from its source in the image (the engine is in the binary): directly, then
/// as the pods of `kubernetes render` run it, split in two, and merged.
fn javascript_in_the_image(image: &str, cache: &Path, base_url: &str, dir: &TempDir) {
    let started = std::time::Instant::now();
    let source = dir.path("src");
    std::fs::create_dir_all(&source).unwrap();
    let script = source.join("test.js");
    std::fs::write(&script, JS_SCRIPT).unwrap();
    let base = format!("BASE_URL={base_url}");
    let out = podman_run(
        image,
        &[(&source, "/script:ro"), (cache, "/tmp/stampede-cache")],
        &[],
        &["run", "/script/test.js", "-e", &base].map(String::from),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // What k6 v2.2.0 prints for this script (its end-of-test summary).
    for line in [
        "✓ 'rate==1' rate=100.00%",
        "✓ 'count==20' count=20",
        "checks_succeeded...: 100.00% 20 out of 20",
        "✓ status is 200",
    ] {
        assert!(stdout.contains(line), "no {line:?} in:\n{stdout}");
    }
    eprintln!(
        "JavaScript, compiling the engine: {:.0?}",
        started.elapsed()
    );

    let started = std::time::Instant::now();
    let manifests = dir.path("test.json");
    let r = render(
        dir,
        &script,
        &[
            "--instances",
            "2",
            "--start-in",
            "2s",
            "--format",
            "json",
            "-o",
            &manifests.display().to_string(),
        ],
        &["-i", "30", "-e", &base],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    let manifests: Value = serde_json::from_slice(&std::fs::read(&manifests).unwrap()).unwrap();
    let out = run_rendered_pods(image, cache, &manifests, dir);
    // The merge judges the script's thresholds over both pods: 30 requests fail `count==20`.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{}", show(&out));
    for line in [
        "✓ 'rate==1' rate=100.00%",
        "✗ 'count==20' count=30",
        "checks_succeeded...: 100.00% 30 out of 30",
    ] {
        assert!(stdout.contains(line), "no {line:?} in:\n{stdout}");
    }
    eprintln!(
        "JavaScript on two pods and their merge: {:.0?}",
        started.elapsed()
    );
}
