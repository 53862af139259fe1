//! A VU's recorder: turns what the script does into samples, with no lock and no allocation
//! per sample once the VU's tag sets are known, and hands them over in batches.

use std::time::Duration;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use stampede_host_api::http::Exchange;
use stampede_host_api::RequestMeta;
use xxhash_rust::xxh3::xxh3_128;

use super::{builtin, MetricId, Metrics, Sample, SystemTags, TagSetId};

/// Samples kept before handing them to the store.
const BATCH: usize = 1024;
/// Longest a sample waits in a VU before reaching the store.
const MAX_HOLD: Duration = Duration::from_millis(200);
/// Tag sets a VU remembers; past this (e.g. a URL per request) the cache starts over. Small:
/// a VU rarely uses more, and a thousand VUs each caching thousands of fresh URLs would hold
/// hundreds of megabytes.
const MAX_CACHED_TAG_SETS: usize = 512;

type Pairs<'a> = SmallVec<[(&'a str, &'a str); 16]>;
/// Tag sets by the 128-bit hash of their pairs (as two halves: a `u128` key would be aligned
/// to 16 bytes, and an entry take 32 instead of 24).
type TagCache = FxHashMap<[u64; 2], TagSetId>;

/// What [`Recorder::lookup`] needs besides the pairs: the cache, and a buffer reused to hash
/// the pairs in one call (hashing them piece by piece cost four times as much) and then to
/// encode them for the interner.
#[derive(Default)]
struct Interner {
    cache: TagCache,
    scratch: Vec<u8>,
}

/// One VU's sample recorder.
pub struct Recorder {
    metrics: Metrics,
    buf: Vec<Sample>,
    interner: Interner,
    base: Vec<(String, String)>,
    group: String,
    /// The tag set of the base tags and the group alone (iterations, data sent and received):
    /// used several times per iteration, so kept rather than looked up.
    plain: Option<TagSetId>,
    /// The system tags requests are recorded with (`systemTags`).
    system: SystemTags,
    /// The last request's tag set and what made it.
    last: LastRequest,
    /// The last check's tag set, name and tags (forgotten with the request's).
    last_check: Option<LastCheck>,
}

/// A check's tag set, with the name and tags that made it.
type LastCheck = (TagSetId, String, Vec<(String, String)>);

/// What made the last request's tag set, and the set: a VU mostly sends the same request
/// again, and comparing a few fields costs a fraction of hashing every tag and looking the
/// hash up. Forgotten whenever the base tags, the group or the system tags change.
#[derive(Default)]
struct LastRequest {
    id: Option<TagSetId>,
    method: http::Method,
    url: String,
    name: Option<String>,
    status: u16,
    proto: &'static str,
    code: u32,
    expected: Option<bool>,
    tags: Vec<(String, String)>,
}

impl LastRequest {
    /// The set, if `meta` and `ex` make the same one as last time.
    #[inline]
    fn get(
        &self,
        meta: &RequestMeta<'_>,
        ex: &Exchange,
        code: u32,
        expected: Option<bool>,
    ) -> Option<TagSetId> {
        let same = self.status == ex.status
            && self.code == code
            && self.expected == expected
            && self.proto == ex.proto
            && self.method == ex.method
            && self.url == ex.url
            && self.name.as_deref() == meta.name
            && self.tags == meta.tags;
        self.id.filter(|_| same)
    }

    fn remember(
        &mut self,
        meta: &RequestMeta<'_>,
        ex: &Exchange,
        code: u32,
        expected: Option<bool>,
        id: TagSetId,
    ) {
        self.id = Some(id);
        self.method.clone_from(&ex.method);
        self.url.clone_from(&ex.url);
        match (meta.name, &mut self.name) {
            (Some(n), Some(have)) => n.clone_into(have),
            (n, have) => *have = n.map(str::to_owned),
        }
        self.status = ex.status;
        self.proto = ex.proto;
        self.code = code;
        self.expected = expected;
        self.tags.clear();
        self.tags.extend_from_slice(meta.tags);
    }
}

impl Recorder {
    pub(super) fn new(metrics: Metrics) -> Self {
        Self {
            metrics,
            // Grows to BATCH on use: a parked VU should cost next to nothing.
            buf: Vec::new(),
            interner: Interner::default(),
            base: Vec::new(),
            group: String::new(),
            plain: None,
            system: SystemTags::DEFAULT,
            last: LastRequest::default(),
            last_check: None,
        }
    }

    /// Sets which system tags requests are recorded with.
    pub fn set_system_tags(&mut self, system: SystemTags) {
        if system != self.system {
            self.system = system;
            self.interner.cache.clear();
            self.last.id = None;
            self.last_check = None;
        }
    }

    /// The test's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Sets the tags every sample of this VU carries from now on (the test's tags, the
    /// scenario's tags and `scenario`).
    pub fn set_base_tags(&mut self, tags: Vec<(String, String)>) {
        if tags != self.base {
            self.base = tags;
            self.interner.cache.clear();
            self.plain = None;
            self.last.id = None;
            self.last_check = None;
        }
    }

    /// The current group path (`""`, `::a`, `::a::b`).
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Sets the current group path.
    pub fn set_group(&mut self, group: String) {
        if group != self.group {
            self.group = group;
            self.plain = None;
            self.last.id = None;
            self.last_check = None;
        }
    }

    /// The tag set of the base tags and the current group.
    pub fn plain_tags(&mut self) -> TagSetId {
        match self.plain {
            Some(id) => id,
            None => {
                let id = self.tag_set(&[]);
                self.plain = Some(id);
                id
            }
        }
    }

    /// The id of the tag set: base tags, `group`, then `extra` (later keys win).
    pub fn tag_set(&mut self, extra: &[(&str, &str)]) -> TagSetId {
        let mut pairs: Pairs<'_> = SmallVec::new();
        pairs.extend(self.base.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        pairs.push(("group", self.group.as_str()));
        pairs.extend_from_slice(extra);
        Self::lookup(&mut self.interner, &self.metrics, pairs)
    }

    fn lookup(interner: &mut Interner, metrics: &Metrics, pairs: Pairs<'_>) -> TagSetId {
        // A 128-bit hash of the pairs as given names the set in the VU's cache: comparing the
        // strings themselves on every request cost more than everything else the recorder
        // does, and so did putting them in order first. The same pairs in another order hash
        // differently and find the same set when interned. Two sets with the same hash are, in
        // practice, never distinct (and a collision could only mislabel the script's own
        // samples).
        let buf = &mut interner.scratch;
        buf.clear();
        for (k, v) in &pairs {
            buf.extend_from_slice(&(k.len() as u32).to_le_bytes());
            buf.extend_from_slice(k.as_bytes());
            buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
            buf.extend_from_slice(v.as_bytes());
        }
        let hash = xxh3_128(buf);
        let key = [hash as u64, (hash >> 64) as u64];
        let cache = &mut interner.cache;
        if let Some(id) = cache.get(&key) {
            return *id;
        }
        let found = metrics.tags.intern_pairs(&pairs, &mut interner.scratch);
        // A folded set is not kept: past `maxSeries` a new URL per request would otherwise
        // fill every VU's cache with entries never asked for again.
        if !found.folded {
            if cache.len() >= MAX_CACHED_TAG_SETS {
                cache.clear();
            }
            cache.insert(key, found.id);
        }
        found.id
    }

    /// Adds one sample, now.
    #[inline]
    pub fn push(&mut self, metric: MetricId, tags: TagSetId, value: f64) {
        let time = self.metrics.now();
        self.push_at(metric, tags, value, time);
    }

    #[inline]
    fn push_at(&mut self, metric: MetricId, tags: TagSetId, value: f64, time: u64) {
        self.buf.push(Sample {
            metric,
            tags,
            value,
            time,
        });
        if self.buf.len() >= BATCH {
            self.flush();
        }
    }

    /// Hands the buffered samples to the store.
    pub fn flush(&mut self) {
        if !self.buf.is_empty() {
            self.metrics.record(&self.buf);
            self.buf.clear();
        }
    }

    /// Whether samples are waiting to be handed over.
    pub fn has_pending(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Hands the buffered samples over if the oldest has waited [`MAX_HOLD`]: often enough for
    /// live thresholds and progress, rarely enough that the store's lock is taken once per many
    /// iterations rather than once per iteration.
    pub fn flush_if_due(&mut self) {
        if let Some(first) = self.buf.first() {
            if self.metrics.now().saturating_sub(first.time) >= MAX_HOLD.as_nanos() as u64 {
                self.flush();
            }
        }
    }

    /// Records one HTTP exchange with k6's built-in metrics and tags.
    pub fn record_request(&mut self, meta: &RequestMeta<'_>, ex: &Exchange) {
        let time = self.metrics.now();
        self.record_request_at(meta, ex, time);
    }

    /// `record_request` for an exchange that ended at `time` (ns on the metrics' clock): a
    /// request that ran while the script went on, recorded when collected.
    pub fn record_request_at(&mut self, meta: &RequestMeta<'_>, ex: &Exchange, time: u64) {
        let expected = meta.response_callback.expected(ex);
        let code = ex.error_code();
        let tags = match self.last.get(meta, ex, code, expected) {
            Some(id) => id,
            None => {
                let id = self.request_tags(meta, ex, code, expected);
                self.last.remember(meta, ex, code, expected, id);
                id
            }
        };
        let io_tags = self.plain_tags();

        let t = &ex.timings;
        let ms = super::millis;
        self.push_at(builtin::HTTP_REQS, tags, 1.0, time);
        self.push_at(builtin::HTTP_REQ_DURATION, tags, ms(t.duration()), time);
        self.push_at(builtin::HTTP_REQ_BLOCKED, tags, ms(t.blocked), time);
        self.push_at(builtin::HTTP_REQ_CONNECTING, tags, ms(t.connecting), time);
        self.push_at(
            builtin::HTTP_REQ_TLS_HANDSHAKING,
            tags,
            ms(t.tls_handshaking),
            time,
        );
        self.push_at(builtin::HTTP_REQ_SENDING, tags, ms(t.sending), time);
        self.push_at(builtin::HTTP_REQ_WAITING, tags, ms(t.waiting), time);
        self.push_at(builtin::HTTP_REQ_RECEIVING, tags, ms(t.receiving), time);
        // As k6: without a response callback, no request is failed or not.
        if let Some(expected) = expected {
            let failed = if expected { 0.0 } else { 1.0 };
            self.push_at(builtin::HTTP_REQ_FAILED, tags, failed, time);
        }
        self.push_at(builtin::DATA_SENT, io_tags, ex.bytes_sent as f64, time);
        self.push_at(
            builtin::DATA_RECEIVED,
            io_tags,
            ex.bytes_received as f64,
            time,
        );
    }

    /// The tag set of a request: base tags, group, the system tags and the script's tags.
    fn request_tags(
        &mut self,
        meta: &RequestMeta<'_>,
        ex: &Exchange,
        code: u32,
        expected: Option<bool>,
    ) -> TagSetId {
        let mut status_buf = [0u8; 5];
        let status = format_u32(u32::from(ex.status), &mut status_buf);
        let mut code_buf = [0u8; 10];
        let code_str = format_u32(code, &mut code_buf);
        let mut pairs: Pairs<'_> = SmallVec::new();
        pairs.extend(self.base.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        pairs.push(("group", self.group.as_str()));
        let sys = self.system;
        let expected_str = match expected {
            Some(true) => "true",
            Some(false) => "false",
            None => "",
        };
        // A request named by the script (its `name`, or a `name` tag as k6 scripts set it) is
        // recorded under its name in `url` too, as k6 does for URLs made with `http.url`:
        // naming dynamic URLs is what keeps their series few.
        let tag_name = || meta.tags.iter().rev().find(|(k, _)| k == "name");
        let name = meta
            .name
            .or_else(|| tag_name().map(|(_, v)| v.as_str()))
            .unwrap_or(ex.url.as_str());
        for (tag, key, value) in [
            (SystemTags::METHOD, "method", ex.method.as_str()),
            (SystemTags::URL, "url", name),
            (SystemTags::NAME, "name", name),
            (SystemTags::STATUS, "status", status),
            (SystemTags::PROTO, "proto", ex.proto),
            (
                SystemTags::EXPECTED_RESPONSE,
                "expected_response",
                expected_str,
            ),
        ] {
            // As k6: no `expected_response` without a response callback, and no `proto` for
            // a request that got no response.
            let absent = (key == "expected_response" && expected.is_none())
                || (key == "proto" && value.is_empty());
            if sys.has(tag) && !absent {
                pairs.push((key, value));
            }
        }
        if code != 0 && sys.has(SystemTags::ERROR_CODE) {
            pairs.push(("error_code", code_str));
        }
        pairs.extend(meta.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        Self::lookup(&mut self.interner, &self.metrics, pairs)
    }

    /// Records a check.
    pub fn record_check(&mut self, name: &str, ok: bool, tags: &[(String, String)]) {
        let id = match &self.last_check {
            Some((id, n, t)) if n == name && t == tags => *id,
            _ => {
                let mut extra: Pairs<'_> = SmallVec::new();
                extra.push(("check", name));
                extra.extend(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                let id = self.tag_set(&extra);
                self.last_check = Some((id, name.to_owned(), tags.to_vec()));
                id
            }
        };
        self.push(builtin::CHECKS, id, if ok { 1.0 } else { 0.0 });
    }

    /// Records a sample of a custom metric.
    pub fn record_custom(&mut self, metric: MetricId, value: f64, tags: &[(String, String)]) {
        let extra: Pairs<'_> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let id = self.tag_set(&extra);
        self.push(metric, id, value);
    }

    /// Records a finished iteration (tagged with the group it started in: none).
    pub fn record_iteration(&mut self, duration: Duration, failed: bool) {
        let id = self.plain_tags();
        let time = self.metrics.now();
        self.push_at(builtin::ITERATIONS, id, 1.0, time);
        self.push_at(
            builtin::ITERATION_DURATION,
            id,
            super::millis(duration),
            time,
        );
        if failed {
            self.push_at(builtin::ITERATION_ERRORS, id, 1.0, time);
        }
    }

    /// Records a group's duration, tagged with the group's own path.
    pub fn record_group(&mut self, duration: Duration) {
        let id = self.plain_tags();
        self.push(builtin::GROUP_DURATION, id, super::millis(duration));
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Formats `n` in decimal into `buf`, without allocating.
fn format_u32(mut n: u32, buf: &mut [u8]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).expect("digits are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_host_api::http::ResponseCallback;

    #[test]
    fn numbers_format_without_allocation() {
        let mut b = [0u8; 10];
        assert_eq!(format_u32(0, &mut b), "0");
        assert_eq!(format_u32(200, &mut b), "200");
        assert_eq!(format_u32(4_294_967_295, &mut b), "4294967295");
    }

    #[test]
    fn tag_sets_are_cached_and_later_tags_win() {
        let metrics = Metrics::new();
        let mut rec = metrics.recorder();
        rec.set_base_tags(vec![
            ("scenario".into(), "default".into()),
            ("env".into(), "base".into()),
        ]);
        let a = rec.tag_set(&[("env", "override")]);
        let b = rec.tag_set(&[("env", "override")]);
        assert_eq!(a, b);
        let set = metrics.tags.get(a);
        assert_eq!(set.get("env"), Some("override"));
        assert_eq!(set.get("group"), Some(""));
        assert_eq!(set.get("scenario"), Some("default"));
    }

    #[test]
    fn the_same_tags_in_another_order_are_one_set_and_other_values_another() {
        let metrics = Metrics::new();
        let mut rec = metrics.recorder();
        let a = rec.tag_set(&[("a", "1"), ("b", "2")]);
        let b = rec.tag_set(&[("b", "2"), ("a", "1")]);
        let c = rec.tag_set(&[("b", "2"), ("a", "1"), ("a", "3")]);
        let d = rec.tag_set(&[("a", "1"), ("b", "2")]);
        assert_eq!(a, b);
        assert_eq!(a, d);
        assert_ne!(a, c);
        assert_eq!(metrics.tags.get(c).get("a"), Some("3"));
        // Pairs are length-prefixed before hashing: moving a byte from key to value changes it.
        assert_ne!(rec.tag_set(&[("ab", "c")]), rec.tag_set(&[("a", "bc")]));
    }

    fn exchange(method: &str, url: &str, status: u16, proto: &'static str) -> Exchange {
        Exchange {
            method: method.parse().unwrap(),
            url: url.into(),
            written_url: None,
            status,
            proto,
            headers: Default::default(),
            body: Default::default(),
            timings: Default::default(),
            error: (status == 0)
                .then(|| stampede_host_api::http::RequestError::new(1211, "timeout".to_owned())),
            bytes_sent: 0,
            bytes_received: 0,
            challenge: false,
            conn: Default::default(),
        }
    }

    /// The last request's remembered set is the one hashing and interning give, whatever
    /// changes between two requests: a differential test of the fast path against the slow.
    #[test]
    fn the_remembered_request_set_is_always_the_one_lookup_gives() {
        let metrics = Metrics::new();
        let mut rec = metrics.recorder();
        let tags = [vec![], vec![("tier".to_owned(), "gold".to_owned())]];
        let exchanges = [
            exchange("GET", "http://a/", 200, "HTTP/1.1"),
            exchange("GET", "http://a/", 200, "HTTP/1.1"),
            exchange("GET", "http://a/x", 200, "HTTP/1.1"),
            exchange("POST", "http://a/x", 200, "HTTP/1.1"),
            exchange("POST", "http://a/x", 404, "HTTP/1.1"),
            exchange("POST", "http://a/x", 404, "HTTP/2.0"),
            exchange("POST", "http://a/x", 0, ""),
        ];
        let mut step = 0u32;
        for round in 0..3 {
            for ex in &exchanges {
                for extra in &tags {
                    for name in [None, Some("named"), Some("other")] {
                        step += 1;
                        // Now and then the VU's context changes under the remembered set.
                        match step % 17 {
                            3 => rec.set_group(format!("::g{round}")),
                            7 => rec.set_base_tags(vec![("scenario".into(), format!("s{round}"))]),
                            11 => rec.set_system_tags(if round == 1 {
                                SystemTags::from_names(&["status".to_owned()]).0
                            } else {
                                SystemTags::DEFAULT
                            }),
                            _ => {}
                        }
                        let meta = RequestMeta {
                            name,
                            tags: extra,
                            response_callback: &ResponseCallback::Default,
                        };
                        rec.flush();
                        rec.record_request(&meta, ex);
                        // The request's set (data sent and received follow, untagged by it).
                        let got = rec.buf[rec.buf.len() - 3].tags;
                        let want = rec.request_tags(
                            &meta,
                            ex,
                            ex.error_code(),
                            Some((200..400).contains(&ex.status)),
                        );
                        assert_eq!(got, want, "step {step}: {ex:?} {meta:?}");
                        let check_tags = if step.is_multiple_of(2) {
                            &tags[1][..]
                        } else {
                            &[]
                        };
                        let check = if step.is_multiple_of(3) { "a" } else { "b" };
                        rec.record_check(check, true, check_tags);
                        let mut extra = vec![("check", check)];
                        extra.extend(check_tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                        let got = rec.buf.last().unwrap().tags;
                        assert_eq!(got, rec.tag_set(&extra), "check {step}");
                        // Twice in a row: the remembered set.
                        rec.flush();
                        rec.record_request(&meta, ex);
                        assert_eq!(rec.buf[rec.buf.len() - 3].tags, want, "step {step} again");
                    }
                }
            }
        }
    }

    #[test]
    fn samples_reach_the_store_on_flush() {
        let metrics = Metrics::new();
        let mut rec = metrics.recorder();
        rec.record_check("ok", true, &[]);
        rec.record_check("ok", false, &[]);
        assert!(metrics.store().checks().is_empty());
        rec.flush();
        let store = metrics.store();
        assert_eq!((store.checks()[0].passes, store.checks()[0].fails), (1, 1));
    }
}
