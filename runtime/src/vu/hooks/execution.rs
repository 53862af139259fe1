//! The VU's side of `k6/execution` beyond the `context` interface: the test's state, its
//! options, and the VU's own tags.

use std::sync::atomic::Ordering;

use serde_json::json;
use stampede_host_api::execution::ExecutionHooks;

use super::Hooks;

/// Most tags a script may set on one VU, and the longest name or value: every distinct set
/// of tags is a series the test keeps.
const MAX_SCRIPT_TAGS: usize = 64;
const MAX_TAG_LEN: usize = 4096;

impl ExecutionHooks for Hooks {
    fn state(&self) -> String {
        let exec = &self.ctx.execution;
        let scenarios = exec.scenarios.lock().unwrap_or_else(|e| e.into_inner());
        let sum = |f: fn(&crate::executor::ScenarioShared) -> u64| -> u64 {
            scenarios.iter().map(|s| f(s)).sum()
        };
        let current = scenarios.iter().find(|s| *s.name == *self.scenario);
        let start_ms = current
            .and_then(|s| s.started.get())
            .and_then(|(at, _)| at.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as u64);
        json!({
            "executor": current.map_or("", |s| s.executor),
            "startTime": start_ms,
            "progress": current.map_or(0.0, |s| s.progress_fraction()),
            "iterationsCompleted": sum(|s| s.progress.completed.load(Ordering::Relaxed)),
            "iterationsInterrupted": sum(|s| s.progress.interrupted.load(Ordering::Relaxed)),
            "vusActive": sum(|s| s.progress.active_vus.load(Ordering::Relaxed)),
            "vusInitialized": exec.vus_initialized.load(Ordering::Relaxed),
        })
        .to_string()
    }

    fn options(&self) -> String {
        self.ctx.execution.options.to_string()
    }

    fn tags(&self) -> Vec<(String, String)> {
        let mut tags = self.merged_tags();
        // As in k6, the group the VU is in (`::a::b`, empty outside any) is one of its tags.
        if !tags.iter().any(|(k, _)| k == "group") {
            tags.push(("group".into(), self.rec.group().to_owned()));
        }
        tags
    }

    fn set_tag(&mut self, name: &str, value: &str) -> Result<(), String> {
        if name.is_empty() {
            return Err("a tag needs a name".into());
        }
        if name.len() > MAX_TAG_LEN || value.len() > MAX_TAG_LEN {
            return Err(format!(
                "the tag '{}' is longer than {MAX_TAG_LEN} bytes",
                name.chars().take(40).collect::<String>()
            ));
        }
        let full = self.script_tags.len() >= MAX_SCRIPT_TAGS;
        match self.script_tags.iter_mut().find(|(k, _)| k == name) {
            Some(t) => t.1 = value.to_owned(),
            None if full => {
                return Err(format!(
                    "a VU may set at most {MAX_SCRIPT_TAGS} tags of its own"
                ))
            }
            None => self.script_tags.push((name.to_owned(), value.to_owned())),
        }
        self.apply_tags();
        Ok(())
    }

    fn delete_tag(&mut self, name: &str) {
        self.script_tags.retain(|(k, _)| k != name);
        self.apply_tags();
    }

    fn env_vars(&self, test_only: bool) -> Vec<(String, String)> {
        let mut vars = self.ctx.env.clone();
        if !test_only {
            vars.extend(self.scenario_env.iter().cloned());
        }
        vars.into_iter().collect()
    }
}
