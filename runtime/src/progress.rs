//! Live progress on stderr, one line per scenario, when stderr is a terminal.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::executor::{ScenarioConfig, ScenarioShared};
use crate::metrics::{Metrics, Sink};
use crate::options::format_duration;

/// A scenario as the progress display sees it.
pub struct Watched {
    /// Its configuration.
    pub config: ScenarioConfig,
    /// Its counters.
    pub shared: Arc<ScenarioShared>,
}

/// The progress display; draws until [`finish`](Progress::finish).
pub struct Progress {
    task: tokio::task::JoinHandle<()>,
    bars: Vec<ProgressBar>,
}

fn count(metrics: &Metrics, name: &str) -> f64 {
    let store = metrics.store();
    store
        .submetrics()
        .iter()
        .find(|s| s.name == name)
        .map(|s| match &s.sink {
            Sink::Counter(c) => c.sum,
            Sink::Rate(r) => r.trues as f64,
            _ => 0.0,
        })
        .unwrap_or(0.0)
}

impl Progress {
    /// Starts drawing `scenarios`.
    pub fn start(scenarios: Vec<Watched>, metrics: Metrics) -> Progress {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(4));
        let style = ProgressStyle::with_template("{prefix:>14} [{bar:28.cyan/blue}] {msg}")
            .expect("a valid template")
            .progress_chars("=> ");
        let width = scenarios
            .iter()
            .map(|s| s.config.name.len())
            .max()
            .unwrap_or(0);
        let bars: Vec<ProgressBar> = scenarios
            .iter()
            .map(|s| {
                let bar = multi.add(ProgressBar::new(1000));
                bar.set_style(style.clone());
                bar.set_prefix(format!("{:>width$}", s.config.name));
                bar
            })
            .collect();
        let drawn = bars.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut last: Vec<(Instant, f64)> = vec![(started, 0.0); scenarios.len()];
            loop {
                for (i, s) in scenarios.iter().enumerate() {
                    let name = &s.config.name;
                    let total = s.config.start_time + s.config.max_run_time();
                    let elapsed = started.elapsed();
                    let reqs = count(&metrics, &format!("http_reqs{{scenario:{name}}}"));
                    let failed = count(&metrics, &format!("http_req_failed{{scenario:{name}}}"));
                    let (t0, r0) = last[i];
                    let rps = (reqs - r0) / t0.elapsed().as_secs_f64().max(1e-3);
                    last[i] = (Instant::now(), reqs);
                    let p = &s.shared.progress;
                    let dropped = p.dropped.load(Ordering::Relaxed);
                    let mut msg = format!(
                        "{}/{} VUs  {}/{}  {} iterations  {:.0} req/s  {} failed",
                        p.active_vus.load(Ordering::Relaxed),
                        s.config.max_vus(),
                        format_duration(Duration::from_secs(elapsed.as_secs())),
                        format_duration(total),
                        p.completed.load(Ordering::Relaxed),
                        rps,
                        failed,
                    );
                    if dropped > 0 {
                        msg.push_str(&format!("  {dropped} dropped"));
                    }
                    drawn[i].set_message(msg);
                    let frac = if total.is_zero() {
                        1.0
                    } else {
                        (elapsed.as_secs_f64() / total.as_secs_f64()).min(1.0)
                    };
                    drawn[i].set_position((frac * 1000.0) as u64);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
        Progress { task, bars }
    }

    /// Stops drawing, leaving the last state on screen.
    pub fn finish(self) {
        self.task.abort();
        for bar in &self.bars {
            bar.abandon();
        }
    }
}
