//! `stampede kubernetes render`: a split test as plain Kubernetes manifests.
//!
//! - a ConfigMap with the script;
//! - a PersistentVolumeClaim (ReadWriteMany) for the partial results and the setup data,
//!   unless an existing claim is named;
//! - an Indexed Job with one completion per instance: pod `i` runs segment `i` of the
//!   sequence (its completion index, through the downward API), holds until the common
//!   `--start-at`, and writes its partial result to the volume; the pod of segment 0 runs
//!   `setup()` and hands its data to the others through the volume;
//! - a merge Job that waits for every partial result, merges them, and exits with the
//!   test's exit code.
//!
//! Pods run as a non-root user with a read-only root filesystem and no capabilities.

mod sizing;
pub mod yaml;

use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

pub use sizing::{memory_for, ScriptKind};

use crate::executor::SegmentSequence;
use crate::options::format_duration;

/// ConfigMaps hold at most 1 MiB.
pub const MAX_CONFIGMAP: usize = 1 << 20;
/// Where pods see the script.
pub const SCRIPT_DIR: &str = "/script";
/// The `--config` file's name in the ConfigMap.
pub const CONFIG_FILE: &str = "options.json";
/// Where pods see the results volume.
const RESULTS_DIR: &str = "/results";
/// The non-root user of the image.
pub const USER: u64 = 65532;

/// Where the partial results go.
#[derive(Debug, Clone, PartialEq)]
pub enum Storage {
    /// A claim made by the manifests, of this size and (optionally) storage class.
    New {
        /// The size, e.g. `1Gi`.
        size: String,
        /// The storage class (it must offer ReadWriteMany).
        class: Option<String>,
    },
    /// An existing claim.
    Claim(String),
}

/// What to render.
#[derive(Debug, Clone)]
pub struct RenderSpec {
    /// The test's name: names every object (a DNS label of at most 40 characters).
    pub name: String,
    /// The namespace, if any.
    pub namespace: Option<String>,
    /// The stampede image.
    pub image: String,
    /// The script's file name in the ConfigMap: `NAME.wasm.gz` for a component (which
    /// `stampede run` reads compressed), the source's name for a script in source form.
    pub script_file: String,
    /// The script's bytes (gzip-compressed for a component: debug info compresses well, and a
    /// ConfigMap holds 1 MiB).
    pub script: Vec<u8>,
    /// A `--config` file's text, mounted as `/script/options.json`.
    pub config: Option<String>,
    /// Instances (pods) to split the test between.
    pub instances: u64,
    /// When the load starts, RFC 3339.
    pub start_at: String,
    /// Flags passed to every `stampede run`.
    pub run_args: Vec<String>,
    /// Memory each pod requests, bytes.
    pub memory_request: u64,
    /// Memory each pod may use, bytes.
    pub memory_limit: u64,
    /// CPU each pod requests (Kubernetes quantity, e.g. `1`, `500m`).
    pub cpu: String,
    /// How long the merge waits for the partial results.
    pub merge_wait: Duration,
    /// Where results go.
    pub storage: Storage,
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid test name `{name}`: use at most 40 lowercase letters, digits and `-`, not starting or ending with `-` (it names Kubernetes objects)"
        ))
    }
}

/// A run id that keeps this run's files apart from earlier runs' on the same volume: the
/// start time's digits.
fn run_id(start_at: &str) -> String {
    start_at.chars().filter(char::is_ascii_digit).collect()
}

fn quantity(bytes: u64) -> String {
    format!("{}Mi", bytes.div_ceil(1 << 20))
}

impl RenderSpec {
    fn metadata(&self, name: &str, component: &str) -> Value {
        let mut m = json!({
            "name": name,
            "labels": {
                "app.kubernetes.io/name": "stampede",
                "app.kubernetes.io/instance": self.name,
                "app.kubernetes.io/component": component,
            },
        });
        if let Some(ns) = &self.namespace {
            m["namespace"] = json!(ns);
        }
        m
    }

    fn claim_name(&self) -> String {
        match &self.storage {
            Storage::Claim(c) => c.clone(),
            Storage::New { .. } => format!("{}-results", self.name),
        }
    }

    fn dir(&self) -> String {
        format!("{RESULTS_DIR}/{}-{}", self.name, run_id(&self.start_at))
    }

    /// The partial result of instance `i` (`$(…)` is expanded by Kubernetes).
    fn partial(&self, i: &str) -> String {
        format!("{}/partial-{i}.json", self.dir())
    }

    fn pod_spec(&self, container: Value, with_script: bool) -> Value {
        let mut volumes = vec![
            json!({"name": "results", "persistentVolumeClaim": {"claimName": self.claim_name()}}),
            json!({"name": "tmp", "emptyDir": {}}),
        ];
        if with_script {
            volumes.push(
                json!({"name": "script", "configMap": {"name": format!("{}-script", self.name)}}),
            );
        }
        json!({
            "restartPolicy": "Never",
            "securityContext": {
                "runAsNonRoot": true,
                "runAsUser": USER,
                "runAsGroup": USER,
                "fsGroup": USER,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
            "volumes": volumes,
        })
    }

    /// A container running `args`; a runner (`runner`) also sees the script and its segment.
    fn container(&self, args: Vec<String>, resources: Value, runner: bool) -> Value {
        let mut mounts = vec![
            json!({"name": "results", "mountPath": RESULTS_DIR}),
            json!({"name": "tmp", "mountPath": "/tmp"}),
        ];
        let mut env = vec![json!({"name": "STAMPEDE_CACHE_DIR", "value": "/tmp/stampede-cache"})];
        if runner {
            mounts.push(json!({"name": "script", "mountPath": SCRIPT_DIR, "readOnly": true}));
            // The pod's completion index, through the downward API: its segment.
            env.insert(0, json!({
                "name": "STAMPEDE_EXECUTION_SEGMENT_INDEX",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}},
            }));
        }
        json!({
            "name": "stampede",
            "image": self.image,
            "args": args,
            "env": env,
            "resources": resources,
            "securityContext": {
                "allowPrivilegeEscalation": false,
                "readOnlyRootFilesystem": true,
                "capabilities": {"drop": ["ALL"]},
            },
            "volumeMounts": mounts,
        })
    }

    /// The arguments of every runner pod.
    pub fn runner_args(&self, sequence: &SegmentSequence) -> Vec<String> {
        let setup = format!("{}/setup-data", self.dir());
        let mut args: Vec<String> = vec![
            "run".into(),
            format!("{SCRIPT_DIR}/{}", self.script_file),
            "--execution-segment-sequence".into(),
            sequence.to_string(),
            "--start-at".into(),
            self.start_at.clone(),
            "--out".into(),
            format!(
                "partial={}",
                self.partial("$(STAMPEDE_EXECUTION_SEGMENT_INDEX)")
            ),
            "--setup-data".into(),
            setup.clone(),
            "--export-setup-data".into(),
            setup,
            // The merge judges the whole test: one pod's share failing a threshold means
            // nothing on its own.
            "--no-thresholds".into(),
            "--quiet".into(),
        ];
        args.extend(self.run_args.iter().cloned());
        args
    }

    /// The arguments of the merge pod.
    pub fn merge_args(&self) -> Vec<String> {
        let mut args = vec![
            "merge".into(),
            "--wait".into(),
            format_duration(self.merge_wait),
            "--summary-export".into(),
            format!("{}/summary.json", self.dir()),
        ];
        args.extend((0..self.instances).map(|i| self.partial(&i.to_string())));
        args
    }
}

/// The manifests of `spec`, in the order to apply them.
pub fn manifests(spec: &RenderSpec) -> Result<Vec<Value>, String> {
    check_name(&spec.name)?;
    if spec.instances == 0 {
        return Err("--instances must be at least 1".into());
    }
    let config_len = spec.config.as_ref().map_or(0, String::len);
    if spec.script.len() + config_len > MAX_CONFIGMAP - 1024 {
        return Err(format!(
            "the script is {} KiB (compressed), more than a ConfigMap holds (1 MiB): build an image with the \
             script in it (FROM your stampede image, COPY the script) and run it with `stampede run` from there",
            spec.script.len() / 1024
        ));
    }
    let sequence = SegmentSequence::even(spec.instances)?;
    let mut docs = Vec::new();

    let mut script = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": spec.metadata(&format!("{}-script", spec.name), "script"),
    });
    let mut data = serde_json::Map::new();
    match std::str::from_utf8(&spec.script) {
        Ok(text) if !spec.script_file.ends_with(".wasm.gz") => {
            data.insert(spec.script_file.clone(), json!(text));
        }
        _ => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(&spec.script);
            script["binaryData"] = json!({ spec.script_file.clone(): b64 });
        }
    }
    if let Some(config) = &spec.config {
        data.insert(CONFIG_FILE.into(), json!(config));
    }
    if !data.is_empty() {
        script["data"] = Value::Object(data);
    }
    docs.push(script);

    if let Storage::New { size, class } = &spec.storage {
        let mut claim = json!({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": spec.metadata(&spec.claim_name(), "results"),
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "resources": {"requests": {"storage": size}},
            },
        });
        if let Some(c) = class {
            claim["spec"]["storageClassName"] = json!(c);
        }
        docs.push(claim);
    }

    let resources = json!({
        "requests": {"cpu": spec.cpu, "memory": quantity(spec.memory_request)},
        "limits": {"memory": quantity(spec.memory_limit)},
    });
    let runner = spec.container(spec.runner_args(&sequence), resources, true);
    docs.push(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": spec.metadata(&spec.name, "runner"),
        "spec": {
            "completionMode": "Indexed",
            "completions": spec.instances,
            "parallelism": spec.instances,
            // A pod that fails must not run its segment again: its load would come twice.
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "stampede", "app.kubernetes.io/instance": spec.name, "app.kubernetes.io/component": "runner"}},
                "spec": spec.pod_spec(runner, true),
            },
        },
    }));

    let merge_resources = json!({
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"memory": "1Gi"},
    });
    let merge = spec.container(spec.merge_args(), merge_resources, false);
    docs.push(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": spec.metadata(&format!("{}-merge", spec.name), "merge"),
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "stampede", "app.kubernetes.io/instance": spec.name, "app.kubernetes.io/component": "merge"}},
                "spec": spec.pod_spec(merge, false),
            },
        },
    }));
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn spec() -> RenderSpec {
        RenderSpec {
            name: "checkout".into(),
            namespace: Some("load".into()),
            image: "registry.example.com/stampede:0.1.0".into(),
            script_file: "checkout.wasm.gz".into(),
            script: b"\0asm\x0d\0\x01\0".to_vec(),
            config: Some("{\"thresholds\": {\"http_req_failed\": [\"rate<0.01\"]}}".into()),
            instances: 4,
            start_at: "2030-01-02T03:04:05Z".into(),
            run_args: vec!["-u".into(), "200".into(), "-d".into(), "5m".into()],
            memory_request: 100 << 20,
            memory_limit: 200 << 20,
            cpu: "1".into(),
            merge_wait: Duration::from_secs(900),
            storage: Storage::New {
                size: "1Gi".into(),
                class: None,
            },
        }
    }

    #[test]
    fn rendering_matches_the_golden_manifests() {
        let yaml = yaml::documents(&manifests(&spec()).unwrap());
        let golden = include_str!("../../tests/golden/kubernetes.yaml");
        if yaml != golden && std::env::var_os("STAMPEDE_BLESS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/kubernetes.yaml");
            std::fs::write(path, &yaml).unwrap();
            return;
        }
        assert_eq!(
            yaml, golden,
            "set STAMPEDE_BLESS=1 to accept a deliberate change"
        );
    }

    #[test]
    fn bad_specs_are_refused_with_a_reason() {
        let mut s = spec();
        s.name = "Checkout_API".into();
        assert!(manifests(&s).unwrap_err().contains("invalid test name"));
        let mut s = spec();
        s.script = vec![0; MAX_CONFIGMAP];
        assert!(manifests(&s).unwrap_err().contains("ConfigMap"));
        let mut s = spec();
        s.instances = 0;
        assert!(manifests(&s).is_err());
    }

    #[test]
    fn pods_run_their_segment_and_the_merge_lists_every_part() {
        let s = spec();
        let seq = SegmentSequence::even(4).unwrap();
        let args = s.runner_args(&seq).join(" ");
        assert!(
            args.contains("--execution-segment-sequence 0,1/4,1/2,3/4,1"),
            "{args}"
        );
        assert!(args.contains("--start-at 2030-01-02T03:04:05Z"), "{args}");
        assert!(args.ends_with("-u 200 -d 5m"), "{args}");
        let merge = s.merge_args();
        assert_eq!(merge.iter().filter(|a| a.contains("/partial-")).count(), 4);
        assert!(merge.contains(&"/results/checkout-20300102030405/partial-3.json".to_string()));
        assert!(args.contains("run /script/checkout.wasm.gz "), "{args}");
    }
}
