//! `stampede kubernetes render`: the manifests of a test split between N pods.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, Parser, Subcommand, ValueEnum};
use stampede_runtime::executor::{ExecutionTuple, ScenarioConfig, SegmentSequence};
use stampede_runtime::kubernetes::{self, memory_for, RenderSpec, ScriptKind, Storage};
use stampede_runtime::log::{Level, Logger};
use stampede_runtime::options::{format_duration, parse_duration, Dur, Options};
use stampede_runtime::run::{self, exit};

use crate::cli::RunArgs;

#[derive(Debug, Args)]
pub struct KubernetesArgs {
    #[command(subcommand)]
    pub command: KubernetesCommand,
}

#[derive(Debug, Subcommand)]
pub enum KubernetesCommand {
    /// Write the manifests that run SCRIPT split between N pods: a ConfigMap with the script,
    /// an Indexed Job of N pods (one execution segment each, starting together), and a merge
    /// Job whose exit code is the test's.
    Render(RenderArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The script, as for `stampede run` (its component goes into a ConfigMap: at most 1 MiB).
    #[arg(value_name = "SCRIPT")]
    pub script: PathBuf,
    /// Pods to split the test between.
    #[arg(long, value_name = "N")]
    pub instances: u64,
    /// Names every object (default: the script's file name).
    #[arg(long)]
    pub name: Option<String>,
    /// The namespace of every object.
    #[arg(long)]
    pub namespace: Option<String>,
    /// The stampede image the pods run.
    #[arg(long, default_value = concat!("stampede:", env!("CARGO_PKG_VERSION")))]
    pub image: String,
    /// When the load starts, RFC 3339 (default: --start-in from now).
    #[arg(long, value_name = "TIME")]
    pub start_at: Option<String>,
    /// When the load starts, from now: time for the pods to be scheduled and pull the image.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_dur)]
    pub start_in: Dur,
    /// CPU each pod requests (a Kubernetes quantity).
    #[arg(long, default_value = "1")]
    pub cpu: String,
    /// Memory per VU in KiB (default: stampede's measured figure for the script's language).
    #[arg(long, value_name = "KIB")]
    pub memory_per_vu: Option<u64>,
    /// An existing ReadWriteMany claim for the results (default: the manifests make one).
    #[arg(long, value_name = "CLAIM")]
    pub volume_claim: Option<String>,
    /// Size of the claim the manifests make.
    #[arg(long, default_value = "1Gi")]
    pub storage_size: String,
    /// Storage class of the claim the manifests make (it must offer ReadWriteMany).
    #[arg(long)]
    pub storage_class: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: Format,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Flags of `stampede run` for every pod, after `--` (e.g. -- -u 100 -d 5m -e BASE_URL=…).
    #[arg(last = true, value_name = "RUN FLAGS")]
    pub run_args: Vec<String>,
}

fn parse_dur(s: &str) -> Result<Dur, String> {
    parse_duration(s).map(Dur)
}

/// `stampede run`'s flags alone, to check the pods' flags here rather than on the cluster.
#[derive(Debug, Parser)]
#[command(name = "stampede run")]
struct RunOnly {
    #[command(flatten)]
    run: RunArgs,
}

/// Flags the manifests set themselves.
const OWN_FLAGS: [&str; 6] = [
    "--execution-segment",
    "--execution-segment-sequence",
    "--execution-segment-index",
    "--start-at",
    "--setup-data",
    "--export-setup-data",
];

/// The pods' flags with a `--config FILE` pointing at the copy in the ConfigMap.
fn config_in_pod(args: &[String]) -> Vec<String> {
    let in_pod = format!("{}/{}", kubernetes::SCRIPT_DIR, kubernetes::CONFIG_FILE);
    let mut out = Vec::with_capacity(args.len());
    let mut next_is_file = false;
    for a in args {
        if next_is_file {
            out.push(in_pod.clone());
            next_is_file = false;
        } else if a == "-c" || a == "--config" {
            out.push(a.clone());
            next_is_file = true;
        } else if a.starts_with("--config=") {
            out.push(format!("--config={in_pod}"));
        } else if a.starts_with("-c") && !a.starts_with("--") {
            out.push(format!("-c{in_pod}"));
        } else {
            out.push(a.clone());
        }
    }
    out
}

pub async fn run(args: KubernetesArgs) -> i32 {
    let log = Logger::stderr(Level::Info);
    let KubernetesCommand::Render(args) = args.command;
    match render(args, &log).await {
        Ok(()) => exit::OK,
        Err(e) => {
            log.log(Level::Error, &e, &[]);
            exit::INVALID_CONFIG
        }
    }
}

fn script_kind(path: &std::path::Path) -> ScriptKind {
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if crate::script::is_javascript(ext) => ScriptKind::JavaScript,
        Some("py") => ScriptKind::Python,
        _ => ScriptKind::Compiled,
    }
}

/// The most VUs one pod runs: the largest share of any segment, over all scenarios.
fn max_vus_per_pod(
    scenarios: &[ScenarioConfig],
    sequence: &SegmentSequence,
) -> Result<u64, String> {
    let mut most = 0;
    for tuple in ExecutionTuple::all_of(sequence)? {
        let vus: u64 = scenarios
            .iter()
            .map(|s| {
                let mut s = s.clone();
                s.tuple = tuple.clone();
                s.max_vus()
            })
            .sum();
        most = most.max(vus);
    }
    Ok(most)
}

/// How long the whole test may take, from its start: the longest scenario with its
/// gracefulStop, and setup and teardown.
fn longest(options: &Options, scenarios: &[ScenarioConfig]) -> Duration {
    let lifecycle = options
        .setup_timeout
        .map_or(Duration::from_secs(60), |d| d.0)
        + options
            .teardown_timeout
            .map_or(Duration::from_secs(60), |d| d.0);
    scenarios
        .iter()
        .map(|s| s.start_time + s.max_run_time() + s.graceful_stop)
        .max()
        .unwrap_or_default()
        + lifecycle
}

async fn render(args: RenderArgs, log: &Logger) -> Result<(), String> {
    if let Some(flag) = args.run_args.iter().find(|a| {
        OWN_FLAGS
            .iter()
            .any(|f| *a == f || a.starts_with(&format!("{f}=")))
    }) {
        return Err(format!(
            "`{flag}` cannot be given to the pods: the manifests set their segments, start time, setup data and \
             partial results themselves"
        ));
    }
    let mut argv = vec![
        "stampede run".to_string(),
        args.script.display().to_string(),
    ];
    argv.extend(args.run_args.iter().cloned());
    let run_args = RunOnly::try_parse_from(&argv)
        .map_err(|e| format!("the flags for the pods are not valid `stampede run` flags: {e}"))?
        .run;
    if run_args.partial_out()?.is_some() {
        return Err(
            "`--out partial=…` cannot be given to the pods: the manifests set their partial results themselves"
                .into(),
        );
    }
    let config = match &run_args.config {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?,
        ),
        None => None,
    };
    let mut spec = crate::commands::prepare(&run_args, log.clone())?;
    spec.on_start = None;
    spec.progress = false;
    // The pods see none of this machine's STAMPEDE_* variables.
    spec.env_options = Options::default();
    let plan = run::plan_of(&spec).await.map_err(|f| f.message)?;
    let (options, scenarios) = (plan.options, plan.scenarios);

    let sequence = SegmentSequence::even(args.instances.max(1))?;
    let vus = max_vus_per_pod(&scenarios, &sequence)?;
    let kind = script_kind(&args.script);
    let (memory_request, memory_limit) = memory_for(
        kind,
        vus,
        args.memory_per_vu.map(|k| k.saturating_mul(1024)),
    );
    let now = SystemTime::now();
    let start = match &args.start_at {
        Some(t) => stampede_runtime::instance::parse_start_at(t, now)?,
        None => now + args.start_in.0,
    };
    let start_in = start.duration_since(now).unwrap_or_default();
    let merge_wait = Duration::from_secs(
        (start_in + longest(&options, &scenarios) + Duration::from_secs(300))
            .as_secs_f64()
            .ceil() as u64,
    );
    let stem = args
        .script
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("test")
        .to_ascii_lowercase();
    let name = args.name.clone().unwrap_or_else(|| {
        let n: String = stem
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        n.trim_matches('-').chars().take(40).collect()
    });
    // A JavaScript script goes as its source: the pod's stampede carries the engine.
    let (script_file, script) = match &spec.files {
        Some(_) => (
            args.script
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("script.js")
                .to_string(),
            std::fs::read(&args.script)
                .map_err(|e| format!("cannot read {}: {e}", args.script.display()))?,
        ),
        None => (format!("{stem}.wasm.gz"), crate::script::gzip(&spec.wasm)),
    };
    let render = RenderSpec {
        name,
        namespace: args.namespace.clone(),
        image: args.image.clone(),
        script_file,
        script,
        config,
        instances: args.instances,
        start_at: humantime::format_rfc3339_seconds(start).to_string(),
        run_args: config_in_pod(&args.run_args),
        memory_request,
        memory_limit,
        cpu: args.cpu.clone(),
        merge_wait,
        storage: match &args.volume_claim {
            Some(c) => Storage::Claim(c.clone()),
            None => Storage::New {
                size: args.storage_size.clone(),
                class: args.storage_class.clone(),
            },
        },
    };
    let docs = kubernetes::manifests(&render)?;
    let text = match args.format {
        Format::Yaml => kubernetes::yaml::documents(&docs),
        Format::Json => {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": docs});
            serde_json::to_string_pretty(&list).expect("manifests serialize") + "\n"
        }
    };
    eprintln!(
        "{} pods of at most {vus} VUs each, starting at {} (in {}); each requests {} MiB and {} CPU",
        args.instances,
        render.start_at,
        format_duration(start_in),
        memory_request >> 20,
        args.cpu
    );
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}
