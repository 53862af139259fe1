//! The folded state of all metrics: a sink per metric, one per sub-metric (a metric filtered
//! by tags, as thresholds and the summary ask for), and per-check pass/fail counts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use smallvec::SmallVec;

use super::window::{WindowId, WindowSeries};
use super::{builtin, MetricId, MetricType, Registry, Sample, Sink, TagInterner, TagSetId};

/// A sub-metric's index in the [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubmetricId(pub u32);

/// A metric filtered by tags, e.g. `http_req_duration{status:200}`.
#[derive(Debug, Clone)]
pub struct Submetric {
    /// Full name, as written: `http_req_duration{status:200}`.
    pub name: String,
    /// The metric it filters.
    pub parent: MetricId,
    /// Tags a sample must all have.
    pub filter: Vec<(String, String)>,
    /// Its sink.
    pub sink: Sink,
    /// Made for the per-scenario and per-group breakdown, not asked for by a threshold.
    pub breakdown: bool,
}

/// Pass and fail counts of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckStats {
    /// The group it ran in (`""` for none, `::a::b` nested).
    pub group: String,
    /// The check's name.
    pub name: String,
    /// Times it passed.
    pub passes: u64,
    /// Times it failed.
    pub fails: u64,
}

/// Receives a copy of every batch of samples (an output's queue). It must not block: the
/// store's lock is held, and VUs wait for it.
pub trait SampleTap: Send {
    /// Offers a batch; `false` when the tap is gone and should be removed.
    fn offer(&mut self, batch: &Arc<[Sample]>) -> bool;
}

/// Samples gathered for the taps before they are handed over together: one hand-off (and one
/// wake-up of each output's thread) per this many samples rather than per VU batch.
const TAP_BATCH: usize = 8192;

/// A tag set whose class, or a class's metric whose route, is not known yet.
const UNKNOWN: u32 = u32::MAX;

/// Where a metric's samples of one class of tag sets go.
#[derive(Debug, Default, Clone)]
struct Route {
    subs: SmallVec<[u32; 4]>,
    windows: SmallVec<[u32; 2]>,
    check: Option<u32>,
}

/// What decides where a tag set's samples go: the sub-metrics and windowed series whose
/// filters it matches (of every metric), and its group and check. Tag sets are many (one per
/// URL, up to `maxSeries`) and their classes few: a set costs the store one number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Class {
    subs: Vec<u32>,
    windows: Vec<u32>,
    group: String,
    check: Option<String>,
}

/// The folded samples of a test.
pub struct Store {
    registry: Arc<Registry>,
    tags: Arc<TagInterner>,
    kinds: Vec<MetricType>,
    totals: Vec<Option<Sink>>,
    subs: Vec<Submetric>,
    subs_by_metric: HashMap<MetricId, Vec<u32>>,
    /// Per tag set (by id: they are dense), its class in `classes` ([`UNKNOWN`] until a
    /// sample has it).
    set_class: Vec<u32>,
    classes: Vec<Class>,
    class_ids: HashMap<Class, u32>,
    /// Per class, the index in `routes` of each metric's route ([`UNKNOWN`] until a sample
    /// needs it): a few array lookups per sample, no hashing.
    route_ids: Vec<Vec<u32>>,
    routes: Vec<Route>,
    /// Per metric, whether its samples go anywhere but its total (a sub-metric, a windowed
    /// series or a check's counts).
    routed: Vec<bool>,
    checks: Vec<CheckStats>,
    check_index: HashMap<(String, String), u32>,
    groups: Vec<String>,
    group_breakdown: Vec<MetricId>,
    windows: Vec<WindowSeries>,
    windows_by_metric: HashMap<MetricId, Vec<u32>>,
    taps: Vec<Box<dyn SampleTap>>,
    /// Samples waiting for the taps.
    tap_buffer: Vec<Sample>,
}

impl Store {
    pub(super) fn new(registry: Arc<Registry>, tags: Arc<TagInterner>) -> Self {
        Self {
            registry,
            tags,
            kinds: Vec::new(),
            totals: Vec::new(),
            subs: Vec::new(),
            subs_by_metric: HashMap::new(),
            set_class: Vec::new(),
            classes: Vec::new(),
            class_ids: HashMap::new(),
            route_ids: Vec::new(),
            routes: Vec::new(),
            routed: Vec::new(),
            checks: Vec::new(),
            check_index: HashMap::new(),
            groups: Vec::new(),
            group_breakdown: Vec::new(),
            windows: Vec::new(),
            windows_by_metric: HashMap::new(),
            taps: Vec::new(),
            tap_buffer: Vec::new(),
        }
    }

    /// An empty store with the same sub-metrics, under the same [`SubmetricId`]s: for the
    /// samples of one part of a test, on which thresholds built for this store evaluate too.
    pub fn empty_like(&self) -> Store {
        let mut store = Store::new(self.registry.clone(), self.tags.clone());
        for sub in &self.subs {
            store.add_sub(&sub.name, sub.parent, sub.filter.clone(), sub.breakdown);
        }
        store
    }

    /// Declares the windowed series `name` of `parent` (returns the existing one if declared).
    pub fn add_window(
        &mut self,
        name: &str,
        parent: MetricId,
        filter: Vec<(String, String)>,
        width: Duration,
    ) -> WindowId {
        if let Some(i) = self.windows.iter().position(|w| w.name == name) {
            return WindowId(i as u32);
        }
        let kind = self.registry.def(parent).kind;
        let id = self.windows.len() as u32;
        self.windows
            .push(WindowSeries::new(name, parent, kind, filter, width));
        self.windows_by_metric.entry(parent).or_default().push(id);
        self.forget_routes();
        WindowId(id)
    }

    /// Starts every windowed series' first window at `origin` (ns on the metrics' clock):
    /// when the scenarios start.
    pub fn start_windows(&mut self, origin: u64) {
        for w in &mut self.windows {
            w.start(origin);
        }
    }

    /// Closes the windows that ended, with their grace, before `now` (ns).
    pub fn close_windows_before(&mut self, now: u64) {
        for w in &mut self.windows {
            w.close_before(now);
        }
    }

    /// Marks the end of every windowed series at `end` (ns): when the scenarios ended. Later
    /// samples are not windowed; earlier ones still on their way are, until
    /// [`finish_windows`](Self::finish_windows).
    pub fn end_windows_at(&mut self, end: u64) {
        for w in &mut self.windows {
            w.end_at(end);
        }
    }

    /// Closes every window (at the end set by [`end_windows_at`](Self::end_windows_at), else
    /// at `now`, in ns).
    pub fn finish_windows(&mut self, now: u64) {
        for w in &mut self.windows {
            w.finish(now);
        }
    }

    /// The windowed series `id`.
    pub fn window_mut(&mut self, id: WindowId) -> &mut WindowSeries {
        &mut self.windows[id.0 as usize]
    }

    /// Every windowed series.
    pub fn windows(&self) -> &[WindowSeries] {
        &self.windows
    }

    /// Declares the sub-metric `name` of `parent` (returns the existing one if declared).
    pub fn add_submetric(
        &mut self,
        name: &str,
        parent: MetricId,
        filter: Vec<(String, String)>,
    ) -> SubmetricId {
        self.add_sub(name, parent, filter, false)
    }

    /// Breaks `metrics` down by `key=value` (e.g. `scenario=api`), as sub-metrics named
    /// `metric{key:value}` that the summary shows in full mode.
    pub fn add_breakdown(&mut self, metrics: &[MetricId], key: &str, value: &str) {
        for &m in metrics {
            let name = format!("{}{{{key}:{value}}}", self.registry.def(m).name);
            self.add_sub(&name, m, vec![(key.to_owned(), value.to_owned())], true);
        }
    }

    /// Breaks `metrics` down by group as groups appear.
    pub fn break_down_groups(&mut self, metrics: &[MetricId]) {
        self.group_breakdown = metrics.to_vec();
        let groups = self.groups.clone();
        for g in groups {
            let metrics = self.group_breakdown.clone();
            self.add_breakdown(&metrics, "group", &g);
        }
    }

    fn add_sub(
        &mut self,
        name: &str,
        parent: MetricId,
        filter: Vec<(String, String)>,
        breakdown: bool,
    ) -> SubmetricId {
        if let Some(i) = self.subs.iter().position(|s| s.name == name) {
            if !breakdown {
                self.subs[i].breakdown = false;
            }
            return SubmetricId(i as u32);
        }
        let kind = self.registry.def(parent).kind;
        let id = self.subs.len() as u32;
        self.subs.push(Submetric {
            name: name.to_owned(),
            parent,
            filter,
            sink: Sink::new(kind),
            breakdown,
        });
        self.subs_by_metric.entry(parent).or_default().push(id);
        // Routes computed so far do not know the new sub-metric.
        self.forget_routes();
        SubmetricId(id)
    }

    /// Forgets every class and route (a sub-metric or windowed series was added).
    fn forget_routes(&mut self) {
        self.set_class.clear();
        self.classes.clear();
        self.class_ids.clear();
        self.route_ids.clear();
        self.routes.clear();
        self.note_metrics();
    }

    /// Takes in metrics registered since, and which metrics are routed.
    fn note_metrics(&mut self) {
        self.kinds = self.registry.all().iter().map(|d| d.kind).collect();
        self.totals.resize(self.kinds.len(), None);
        self.routed = (0..self.kinds.len())
            .map(|m| {
                let id = MetricId(m as u16);
                id == builtin::CHECKS
                    || self.subs_by_metric.contains_key(&id)
                    || self.windows_by_metric.contains_key(&id)
            })
            .collect();
    }

    /// Sends every future batch of samples to `tap` too.
    pub fn add_tap(&mut self, tap: Box<dyn SampleTap>) {
        self.taps.push(tap);
    }

    /// Stops sending batches to taps (which then see the end of their channel), after
    /// handing them what is waiting.
    pub fn clear_taps(&mut self) {
        self.flush_taps();
        self.taps.clear();
    }

    /// Hands the samples gathered for the taps over now (the watcher calls this every second,
    /// so that a quiet test's samples do not wait).
    pub fn flush_taps(&mut self) {
        if self.tap_buffer.is_empty() {
            return;
        }
        // One copy for every tap: outputs read it on their own threads.
        let shared: Arc<[Sample]> = Arc::from(self.tap_buffer.as_slice());
        self.tap_buffer.clear();
        self.taps.retain_mut(|tap| tap.offer(&shared));
    }

    /// Folds in a batch of samples.
    pub fn apply(&mut self, batch: &[Sample]) {
        for s in batch {
            let m = usize::from(s.metric.0);
            if m >= self.kinds.len() {
                self.note_metrics();
            }
            self.totals[m]
                .get_or_insert_with(|| Sink::new(self.kinds[m]))
                .add(s.value);
            let class = match self.set_class.get(s.tags.0 as usize) {
                Some(&c) if c != UNKNOWN => c,
                _ => self.new_class(s.tags),
            };
            if !self.routed[m] {
                continue;
            }
            let at = match self.route_ids[class as usize].get(m) {
                Some(&at) if at != UNKNOWN => at,
                _ => self.new_route(s.metric, class),
            };
            let route = &self.routes[at as usize];
            for &sub in &route.subs {
                self.subs[sub as usize].sink.add(s.value);
            }
            for &w in &route.windows {
                self.windows[w as usize].add(s.time, s.value);
            }
            if let Some(c) = route.check {
                let c = &mut self.checks[c as usize];
                if s.value != 0.0 {
                    c.passes += 1;
                } else {
                    c.fails += 1;
                }
            }
        }
        if !self.taps.is_empty() {
            self.tap_buffer.extend_from_slice(batch);
            if self.tap_buffer.len() >= TAP_BATCH {
                self.flush_taps();
            }
        }
    }

    /// Finds and remembers the class of `tags` (noting its group first).
    #[cold]
    fn new_class(&mut self, tags: TagSetId) -> u32 {
        let set = self.tags.get(tags);
        let group = set.get("group").unwrap_or("");
        self.note_groups(group);
        let matching = |filters: &mut dyn Iterator<Item = &[(String, String)]>| -> Vec<u32> {
            let all = filters.enumerate();
            all.filter(|(_, f)| set.contains_all(f))
                .map(|(i, _)| i as u32)
                .collect()
        };
        let class = Class {
            subs: matching(&mut self.subs.iter().map(|s| &s.filter[..])),
            windows: matching(&mut self.windows.iter().map(|w| &w.filter[..])),
            group: group.to_owned(),
            check: set.get("check").map(str::to_owned),
        };
        let next = self.classes.len() as u32;
        let id = match self.class_ids.get(&class) {
            Some(&id) => id,
            None => {
                self.class_ids.insert(class.clone(), next);
                self.classes.push(class);
                self.route_ids.push(Vec::new());
                next
            }
        };
        let t = tags.0 as usize;
        if t >= self.set_class.len() {
            self.set_class.resize(t + 1, UNKNOWN);
        }
        self.set_class[t] = id;
        id
    }

    /// Computes and remembers the route of `metric`'s samples of `class`.
    #[cold]
    fn new_route(&mut self, metric: MetricId, class: u32) -> u32 {
        let r = self.route(metric, class);
        self.routes.push(r);
        let at = (self.routes.len() - 1) as u32;
        let m = usize::from(metric.0);
        let row = &mut self.route_ids[class as usize];
        if m >= row.len() {
            row.resize(m.max(self.kinds.len()) + 1, UNKNOWN);
        }
        row[m] = at;
        at
    }

    fn route(&mut self, metric: MetricId, class: u32) -> Route {
        let class = &self.classes[class as usize];
        let mut route = Route::default();
        let subs = class.subs.iter().copied();
        route.subs = subs
            .filter(|&i| self.subs[i as usize].parent == metric)
            .collect();
        let windows = class.windows.iter().copied();
        route.windows = windows
            .filter(|&i| self.windows[i as usize].parent == metric)
            .collect();
        if metric == builtin::CHECKS {
            let group = class.group.clone();
            let name = class.check.clone().unwrap_or_default();
            let key = (group, name);
            let next = self.checks.len() as u32;
            let idx = *self.check_index.entry(key.clone()).or_insert(next);
            if idx == next {
                self.checks.push(CheckStats {
                    group: key.0,
                    name: key.1,
                    passes: 0,
                    fails: 0,
                });
            }
            route.check = Some(idx);
        }
        route
    }

    /// Records a group path, and every level above it, the first time it appears.
    fn note_groups(&mut self, group: &str) {
        if group.is_empty() || self.groups.iter().any(|g| g == group) {
            return;
        }
        let mut path = String::new();
        for part in group.split("::").skip(1) {
            path.push_str("::");
            path.push_str(part);
            if !self.groups.contains(&path) {
                self.groups.push(path.clone());
                if !self.group_breakdown.is_empty() {
                    let metrics = self.group_breakdown.clone();
                    self.add_breakdown(&metrics, "group", &path);
                }
            }
        }
    }

    /// Folds `sink` (of another store: a partial result) into `metric`'s total, as if its
    /// samples had been recorded here. Sinks of another type are ignored.
    pub fn merge_total(&mut self, metric: MetricId, sink: &Sink) {
        let m = usize::from(metric.0);
        if m >= self.kinds.len() {
            self.note_metrics();
        }
        if m < self.kinds.len() {
            self.totals[m]
                .get_or_insert_with(|| Sink::new(self.kinds[m]))
                .merge(sink);
        }
    }

    /// Folds `sink` into the sub-metric named `name`; `false` when there is none.
    pub fn merge_submetric(&mut self, name: &str, sink: &Sink) -> bool {
        match self.subs.iter_mut().find(|s| s.name == name) {
            Some(sub) => {
                sub.sink.merge(sink);
                true
            }
            None => false,
        }
    }

    /// Adds another store's counts of a check (and notes its group).
    pub fn merge_check(&mut self, check: &CheckStats) {
        self.note_groups(&check.group);
        let key = (check.group.clone(), check.name.clone());
        let next = self.checks.len() as u32;
        let idx = *self.check_index.entry(key).or_insert(next);
        if idx == next {
            self.checks.push(CheckStats {
                passes: 0,
                fails: 0,
                ..check.clone()
            });
        }
        let c = &mut self.checks[idx as usize];
        c.passes += check.passes;
        c.fails += check.fails;
    }

    /// Records a group path seen elsewhere (a partial result's groups without checks).
    pub fn merge_group(&mut self, path: &str) {
        self.note_groups(path);
    }

    /// Declares a sub-metric of the per-scenario or per-group breakdown by its full name and
    /// filter (as a partial result lists it).
    pub fn add_breakdown_submetric(
        &mut self,
        name: &str,
        parent: MetricId,
        filter: Vec<(String, String)>,
    ) -> SubmetricId {
        self.add_sub(name, parent, filter, true)
    }

    /// The sink of `metric` over all its samples, if it has any.
    pub fn total(&self, metric: MetricId) -> Option<&Sink> {
        self.totals
            .get(usize::from(metric.0))
            .and_then(|s| s.as_ref())
    }

    /// The sub-metrics, in declaration order.
    pub fn submetrics(&self) -> &[Submetric] {
        &self.subs
    }

    /// The sub-metric `id`.
    pub fn submetric(&self, id: SubmetricId) -> &Submetric {
        &self.subs[id.0 as usize]
    }

    /// Every check, in the order first seen.
    pub fn checks(&self) -> &[CheckStats] {
        &self.checks
    }

    /// Every group path seen (`::a`, `::a::b`), parents before children.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Metrics, TagSet};
    use super::*;

    #[test]
    fn submetrics_get_only_matching_samples() {
        let metrics = Metrics::new();
        let ok = metrics.tags.intern(TagSet::from_pairs([("status", "200")]));
        let bad = metrics.tags.intern(TagSet::from_pairs([("status", "500")]));
        let mut store = metrics.store();
        let sub = store.add_submetric(
            "http_req_duration{status:200}",
            builtin::HTTP_REQ_DURATION,
            vec![("status".into(), "200".into())],
        );
        let sample = |tags, value| Sample {
            metric: builtin::HTTP_REQ_DURATION,
            tags,
            value,
            time: 0,
        };
        store.apply(&[sample(ok, 10.0), sample(bad, 1000.0), sample(ok, 20.0)]);
        let Some(Sink::Trend(total)) = store.total(builtin::HTTP_REQ_DURATION) else {
            panic!()
        };
        assert_eq!(total.count, 3);
        let Sink::Trend(sub) = &store.submetric(sub).sink else {
            panic!()
        };
        assert_eq!((sub.count, sub.max), (2, 20.0));

        // An empty copy has the same sub-metrics under the same ids, and none of the samples.
        let id = SubmetricId(0);
        let mut window = store.empty_like();
        assert!(window.total(builtin::HTTP_REQ_DURATION).is_none());
        assert_eq!(window.submetric(id).name, "http_req_duration{status:200}");
        assert!(window.submetric(id).sink.is_empty());
        window.apply(&[sample(ok, 7.0), sample(bad, 9.0)]);
        let Sink::Trend(sub) = &window.submetric(id).sink else {
            panic!()
        };
        assert_eq!((sub.count, sub.max), (1, 7.0));
    }

    /// Sets of one class share their routes: a set costs the store one number, and every
    /// sub-metric still sees exactly the samples it matches, also past `maxSeries`, and also
    /// when a sub-metric or a group comes after samples.
    #[test]
    fn sets_share_routes_by_class_and_submetrics_see_every_sample() {
        let metrics = Metrics::new();
        metrics.tags.set_limit(50);
        metrics.tags.keep_keys(["tier"]);
        let mut store = metrics.store();
        let ok = store.add_submetric(
            "http_req_duration{status:200}",
            builtin::HTTP_REQ_DURATION,
            vec![("status".into(), "200".into())],
        );
        let gold = store.add_submetric(
            "http_reqs{tier:gold}",
            builtin::HTTP_REQS,
            vec![("tier".into(), "gold".into())],
        );
        drop(store);
        let mut want = [0u64; 2];
        let mut batch = Vec::new();
        for i in 0..1000u32 {
            let url = format!("/u/{i}");
            let status = if i % 3 == 0 { "500" } else { "200" };
            let tier = if i % 4 == 0 { "gold" } else { "tin" };
            let tags = metrics.tag_set(&[
                ("url", &url),
                ("name", &url),
                ("status", status),
                ("tier", tier),
            ]);
            want[0] += u64::from(status == "200");
            want[1] += u64::from(tier == "gold");
            for metric in [builtin::HTTP_REQ_DURATION, builtin::HTTP_REQS] {
                batch.push(Sample {
                    metric,
                    tags,
                    value: 1.0,
                    time: 0,
                });
            }
        }
        assert!(metrics.tags.folded() > 900, "{}", metrics.tags.folded());
        let mut store = metrics.store();
        store.apply(&batch[..1000]);
        // A sub-metric declared midway (as a group's breakdown is) sees the samples after it.
        let late = store.add_submetric(
            "http_reqs{status:500}",
            builtin::HTTP_REQS,
            vec![("status".into(), "500".into())],
        );
        store.apply(&batch[1000..]);
        let count = |id| match &store.submetric(id).sink {
            Sink::Trend(t) => t.count,
            Sink::Counter(c) => c.samples,
            other => panic!("{other:?}"),
        };
        assert_eq!(count(ok), want[0]);
        assert_eq!(count(gold), want[1]);
        assert_eq!(
            count(late),
            (500..1000).filter(|i| i % 3 == 0).count() as u64
        );
        // Four classes (status × tier), whatever the number of sets.
        assert_eq!(store.classes.len(), 4);
        assert!(store.routes.len() <= 8, "{}", store.routes.len());
        assert!(store.set_class.len() >= 50);
    }

    #[test]
    fn merged_sinks_and_checks_add_up() {
        let (a, b) = (Metrics::new(), Metrics::new());
        let tags = a
            .tags
            .intern(TagSet::from_pairs([("check", "ok"), ("group", "::g")]));
        let sample = |metric, value| Sample {
            metric,
            tags,
            value,
            time: 0,
        };
        a.record(&[
            sample(builtin::HTTP_REQ_DURATION, 10.0),
            sample(builtin::CHECKS, 1.0),
        ]);
        let merged = Metrics::new();
        let sub = merged.store().add_submetric(
            "http_req_duration{check:ok}",
            builtin::HTTP_REQ_DURATION,
            vec![("check".into(), "ok".into())],
        );
        for m in [&a, &b, &a] {
            let store = m.store();
            let mut into = merged.store();
            if let Some(sink) = store.total(builtin::HTTP_REQ_DURATION) {
                into.merge_total(builtin::HTTP_REQ_DURATION, sink);
                assert!(into.merge_submetric("http_req_duration{check:ok}", sink));
            }
            for c in store.checks() {
                into.merge_check(c);
            }
        }
        let store = merged.store();
        let Some(Sink::Trend(t)) = store.total(builtin::HTTP_REQ_DURATION) else {
            panic!()
        };
        assert_eq!(t.count, 2);
        assert!(!store.submetric(sub).sink.is_empty());
        assert_eq!((store.checks()[0].passes, store.checks()[0].fails), (2, 0));
        assert_eq!(store.groups(), ["::g"]);
    }

    #[test]
    fn checks_are_counted_per_group_and_name() {
        let metrics = Metrics::new();
        let a = metrics.tags.intern(TagSet::from_pairs([
            ("check", "status is 200"),
            ("group", "::login"),
        ]));
        let b = metrics.tags.intern(TagSet::from_pairs([
            ("check", "status is 200"),
            ("group", ""),
        ]));
        let mut store = metrics.store();
        let check = |tags, value| Sample {
            metric: builtin::CHECKS,
            tags,
            value,
            time: 0,
        };
        store.apply(&[check(a, 1.0), check(a, 0.0), check(b, 1.0)]);
        assert_eq!(store.checks().len(), 2);
        assert_eq!((store.checks()[0].passes, store.checks()[0].fails), (1, 1));
        assert_eq!(store.groups(), ["::login"]);
    }
}
