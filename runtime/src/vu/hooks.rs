//! A VU's side of the host API: its recorder, execution state, groups and environment.

use std::sync::Arc;
use std::time::{Duration, Instant};

use stampede_host_api::http::Exchange;
use stampede_host_api::{
    ExecInfo, LogLevel, MetricType as WitMetricType, RequestMeta, TestIds, VuHooks,
};

use super::{Stop, TestContext};

mod execution;
use crate::log::Level;
use crate::metrics::{builtin, MetricId, MetricType, Recorder, SystemTags, ValueType};

/// The execution state and recorder of one VU.
pub struct Hooks {
    ctx: Arc<TestContext>,
    rec: Recorder,
    vu_id: u32,
    vu_id_in_test: u32,
    vu_id_text: String,
    iteration_in_instance: u64,
    iteration_in_scenario: u64,
    /// The current iteration's numbers in its scenario: on this instance, in the whole test.
    scenario_iteration: (u64, u64),
    scenario: Arc<str>,
    scenario_env: Arc<Vec<(String, String)>>,
    groups: Vec<(String, Instant)>,
    custom: Vec<MetricId>,
    scheduled: Option<Instant>,
    /// The tags of the test and the scenario, before the script's own.
    base_tags: Vec<(String, String)>,
    /// Tags the script set on the VU (k6's `exec.vu.tags`), in every scenario it runs.
    script_tags: Vec<(String, String)>,
    /// What `setup` returned, as the iterations see it (`context.setup-data`).
    setup_data: Option<Arc<[u8]>>,
    /// The VU waited in a host call since the epoch callback last asked.
    parked: bool,
    /// The script logged at error level since this was last asked.
    logged_error: bool,
    /// This VU runs `setup()` and `teardown()`: the script sees it as VU 0, as in k6.
    lifecycle: bool,
}

impl Hooks {
    pub(super) fn new(ctx: Arc<TestContext>, vu_id: u32, vu_id_in_test: u32) -> Self {
        let mut rec = ctx.metrics.recorder();
        let base_tags = ctx.tags.clone();
        rec.set_base_tags(base_tags.clone());
        rec.set_system_tags(ctx.metrics.system_tags());
        Self {
            ctx,
            rec,
            vu_id,
            vu_id_in_test,
            vu_id_text: vu_id.to_string(),
            iteration_in_instance: 0,
            iteration_in_scenario: 0,
            scenario_iteration: (0, 0),
            scenario: Arc::from(""),
            scenario_env: Arc::new(Vec::new()),
            groups: Vec::new(),
            custom: Vec::new(),
            scheduled: None,
            base_tags,
            script_tags: Vec::new(),
            setup_data: None,
            parked: false,
            logged_error: false,
            lifecycle: false,
        }
    }

    /// Marks this VU as the one of `setup()` and `teardown()`, which scripts see as VU 0 (k6's
    /// `__VU` and `exec.vu.idInTest` there) whatever number the host gave it.
    pub fn set_lifecycle(&mut self) {
        self.lifecycle = true;
        // Its log lines say so too.
        self.vu_id_text = "0".into();
    }

    /// Hands the iterations `data`, what `setup` returned. Called before every iteration: the
    /// same data (one allocation shared by the run) costs a pointer comparison.
    pub fn set_setup_data(&mut self, data: &Arc<[u8]>) {
        if !self
            .setup_data
            .as_ref()
            .is_some_and(|d| Arc::ptr_eq(d, data))
        {
            self.setup_data = Some(data.clone());
        }
    }

    /// The VU's id.
    pub fn vu_id(&self) -> u32 {
        self.vu_id
    }

    /// The VU's recorder.
    pub fn recorder(&mut self) -> &mut Recorder {
        &mut self.rec
    }

    /// Moves the VU into `scenario`: its samples get the scenario's tags, and its iteration
    /// count in the scenario starts over when the scenario changes.
    pub fn enter_scenario(
        &mut self,
        scenario: &Arc<str>,
        tags: &[(String, String)],
        env: &Arc<Vec<(String, String)>>,
    ) {
        if *self.scenario != **scenario {
            self.iteration_in_scenario = 0;
            self.scenario = scenario.clone();
        }
        self.scenario_env = env.clone();
        let mut base = self.ctx.tags.clone();
        base.extend(tags.iter().cloned());
        if self.ctx.metrics.system_tags().has(SystemTags::SCENARIO) {
            base.push(("scenario".into(), scenario.to_string()));
        }
        self.base_tags = base;
        self.apply_tags();
    }

    /// The VU's tags: the test's and the scenario's, then the script's own over them.
    fn merged_tags(&self) -> Vec<(String, String)> {
        let mut tags = self.base_tags.clone();
        for (k, v) in &self.script_tags {
            match tags.iter_mut().find(|(name, _)| name == k) {
                Some(t) => t.1 = v.clone(),
                None => tags.push((k.clone(), v.clone())),
            }
        }
        tags
    }

    fn apply_tags(&mut self) {
        let tags = self.merged_tags();
        self.rec.set_base_tags(tags);
    }

    /// Notes the coming iteration's numbers in its scenario: on this instance, in the test.
    pub fn set_scenario_iteration(&mut self, in_instance: u64, in_test: u64) {
        self.scenario_iteration = (in_instance, in_test);
    }

    /// Notes when an arrival-rate executor meant the coming iteration to start: its lateness
    /// is recorded now, and its duration from then when it ends.
    pub fn record_schedule(&mut self, scheduled: Instant) {
        let late = Instant::now().saturating_duration_since(scheduled);
        self.scheduled = Some(scheduled);
        let tags = self.rec.plain_tags();
        self.rec.push(
            builtin::ITERATION_START_DELAY,
            tags,
            crate::metrics::millis(late),
        );
    }

    /// Sets the group the VU's samples are in outside any `group()`: `::setup` and
    /// `::teardown` for the lifecycle calls, as k6 tags them; empty otherwise.
    pub fn set_root_group(&mut self, path: &str) {
        self.groups.clear();
        self.rec.set_group(path.to_owned());
    }

    pub(super) fn begin_iteration(&mut self) {}

    pub(super) fn end_iteration(&mut self, duration: Duration, failed: bool) {
        self.rec.record_iteration(duration, failed);
        if let Some(scheduled) = self.scheduled.take() {
            let tags = self.rec.plain_tags();
            self.rec.push(
                builtin::ITERATION_DURATION_FROM_SCHEDULE,
                tags,
                crate::metrics::millis(scheduled.elapsed()),
            );
        }
        self.iteration_in_instance += 1;
        self.iteration_in_scenario += 1;
    }

    /// Closes groups a call left open (an error or a trap inside a group).
    pub(super) fn close_groups(&mut self) {
        while !self.groups.is_empty() {
            self.group_exit();
        }
    }

    /// Whether the VU waited in a host call since the last time this was asked (the epoch
    /// callback: such a VU has not been running for the whole tick).
    pub(super) fn take_parked(&mut self) -> bool {
        std::mem::take(&mut self.parked)
    }

    /// Whether the script logged an error since the last time this was asked (a script that
    /// cannot load says why before it stops).
    pub(super) fn take_logged_error(&mut self) -> bool {
        std::mem::take(&mut self.logged_error)
    }

    /// Hands pending samples to the store.
    pub fn flush(&mut self) {
        self.rec.flush();
    }
}

fn level(l: LogLevel) -> Level {
    match l {
        LogLevel::Debug => Level::Debug,
        LogLevel::Info => Level::Info,
        LogLevel::Warn => Level::Warn,
        LogLevel::Error => Level::Error,
    }
}

impl VuHooks for Hooks {
    fn on_request(&mut self, meta: &RequestMeta<'_>, exchange: &Exchange) {
        self.rec.record_request(meta, exchange);
        // An iteration of many requests hands them over as it goes.
        self.rec.flush_if_due();
    }

    fn current_group(&self) -> String {
        self.rec.group().to_owned()
    }

    fn on_async_request(
        &mut self,
        group: &str,
        at: Instant,
        meta: &RequestMeta<'_>,
        exchange: &Exchange,
    ) {
        let time = at
            .saturating_duration_since(self.ctx.metrics.start())
            .as_nanos() as u64;
        if group == self.rec.group() {
            self.rec.record_request_at(meta, exchange, time);
            return;
        }
        let now = self.rec.group().to_owned();
        self.rec.set_group(group.to_owned());
        self.rec.record_request_at(meta, exchange, time);
        self.rec.set_group(now);
    }

    fn check(&mut self, name: &str, ok: bool, tags: &[(String, String)]) {
        self.rec.record_check(name, ok, tags);
    }

    fn register_metric(
        &mut self,
        name: &str,
        kind: WitMetricType,
        is_time: bool,
    ) -> Result<u32, String> {
        let kind = match kind {
            WitMetricType::Counter => MetricType::Counter,
            WitMetricType::Gauge => MetricType::Gauge,
            WitMetricType::Rate => MetricType::Rate,
            WitMetricType::Trend => MetricType::Trend,
        };
        // As in k6, a counter, gauge or trend of times shows its values as durations.
        let contains = if is_time && kind != MetricType::Rate {
            ValueType::Time
        } else {
            ValueType::Default
        };
        let id = self.ctx.metrics.registry.register(name, kind, contains)?;
        if !self.custom.contains(&id) {
            self.custom.push(id);
        }
        Ok(u32::from(id.0))
    }

    fn add_metric(&mut self, id: u32, value: f64, tags: &[(String, String)]) {
        let Some(metric) = u16::try_from(id)
            .ok()
            .map(MetricId)
            .filter(|m| self.custom.contains(m))
        else {
            self.ctx.log.limited(
                "metrics",
                Level::Error,
                &format!(
                    "the script added a sample to metric handle {id}, which it did not register"
                ),
                &[("vu", &self.vu_id_text)],
            );
            return;
        };
        if !value.is_finite() {
            self.ctx.log.limited(
                "metrics",
                Level::Warn,
                &format!("ignored a non-finite sample ({value}) for a custom metric"),
                &[("vu", &self.vu_id_text)],
            );
            return;
        }
        self.rec.record_custom(metric, value, tags);
    }

    fn info(&self) -> ExecInfo {
        ExecInfo {
            vu_id: if self.lifecycle { 0 } else { self.vu_id },
            iteration_in_instance: self.iteration_in_instance,
            iteration_in_scenario: self.iteration_in_scenario,
            scenario: self.scenario.to_string(),
            test_elapsed_ms: self.ctx.metrics.test_elapsed().as_millis() as u64,
        }
    }

    fn ids(&self) -> TestIds {
        TestIds {
            vu_id_in_test: if self.lifecycle {
                0
            } else {
                self.vu_id_in_test
            },
            scenario_iteration_in_instance: self.scenario_iteration.0,
            scenario_iteration_in_test: self.scenario_iteration.1,
        }
    }

    fn env(&self, name: &str) -> Option<String> {
        self.scenario_env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| self.ctx.env.get(name).cloned())
    }

    fn setup_data(&self) -> Vec<u8> {
        self.setup_data
            .as_deref()
            .map(<[u8]>::to_vec)
            .unwrap_or_default()
    }

    fn log(&mut self, l: LogLevel, message: &str) {
        self.logged_error |= matches!(l, LogLevel::Error);
        self.ctx.log.console().limited_to(
            crate::log::SCRIPT_BURST,
            "console",
            level(l),
            message,
            &[
                ("source", "console"),
                ("vu", &self.vu_id_text),
                ("scenario", &self.scenario),
            ],
        );
    }

    fn group_enter(&mut self, name: &str) {
        let parent = self.rec.group().to_owned();
        // `::` separates the levels of the path, so it cannot appear in a name.
        let name = name.replace("::", ":");
        let path = format!("{parent}::{name}");
        self.rec.set_group(path.clone());
        self.groups.push((parent, Instant::now()));
    }

    fn group_exit(&mut self) {
        if let Some((parent, started)) = self.groups.pop() {
            self.rec.record_group(started.elapsed());
            self.rec.set_group(parent);
        }
    }

    fn abort_test(&mut self, reason: &str) {
        self.ctx.log.log(
            Level::Error,
            &format!("the script aborted the test: {reason}"),
            &[("vu", &self.vu_id_text), ("scenario", &self.scenario)],
        );
        self.ctx.control.stop(Stop::Script(reason.to_owned()), true);
    }

    fn parked(&mut self) {
        self.parked = true;
    }

    fn waiting(&mut self) {
        self.rec.flush();
    }

    fn request_failed(&mut self, error: &str) {
        // As k6 words it; at most a few lines a second, since a server that is down fails
        // every request.
        self.ctx.log.limited(
            "request-failed",
            Level::Warn,
            "Request Failed",
            &[("error", error)],
        );
    }

    fn http_debug(&mut self, text: &str) {
        let iter = self.iteration_in_instance.to_string();
        self.ctx.log.log(
            Level::Info,
            text,
            &[
                ("group", self.rec.group()),
                ("iter", &iter),
                ("scenario", &self.scenario),
                ("source", "http-debug"),
                ("vu", &self.vu_id_text),
            ],
        );
    }

    fn fail_test(&mut self, reason: &str) {
        self.ctx.log.limited(
            "fail-test",
            Level::Error,
            &format!("the script marked the test as failed: {reason}"),
            &[("vu", &self.vu_id_text)],
        );
        self.ctx.control.fail(reason);
    }
}
