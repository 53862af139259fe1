//! What a metric series costs in memory, counted by a global allocator (this test binary's
//! own): the heap bytes that stay per distinct tag set, and that folding new sets past the
//! cap keeps nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Mutex;

use stampede_host_api::http::{Exchange, ResponseCallback};
use stampede_host_api::RequestMeta;
use stampede_runtime::metrics::{builtin, Metrics, Recorder};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// The count is the whole process's: one test at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn exchange(url: String) -> Exchange {
    Exchange {
        method: http::Method::GET,
        url,
        written_url: None,
        status: 200,
        proto: "HTTP/1.1",
        headers: Default::default(),
        body: Default::default(),
        timings: Default::default(),
        error: None,
        bytes_sent: 100,
        bytes_received: 200,
        challenge: false,
        conn: Default::default(),
    }
}

/// `vus` recorders, as a test with the default options has them.
fn setup(metrics: &Metrics, vus: usize) -> Vec<Recorder> {
    metrics.store().add_submetric(
        "http_req_duration{expected_response:true}",
        builtin::HTTP_REQ_DURATION,
        vec![("expected_response".into(), "true".into())],
    );
    (0..vus)
        .map(|_| {
            let mut rec = metrics.recorder();
            rec.set_base_tags(vec![("scenario".into(), "default".into())]);
            rec
        })
        .collect()
}

/// Sends `n` requests, round robin over the recorders, to `url(i)`, each with a check.
fn run(recs: &mut [Recorder], from: usize, n: usize, url: impl Fn(usize) -> String) {
    let cb = ResponseCallback::Default;
    let meta = RequestMeta {
        name: None,
        tags: &[],
        response_callback: &cb,
    };
    let vus = recs.len();
    for i in from..from + n {
        let rec = &mut recs[i % vus];
        rec.record_request(&meta, &exchange(url(i)));
        rec.record_check("status is 200", true, &[]);
        rec.record_iteration(std::time::Duration::from_millis(1), false);
    }
    for rec in recs.iter_mut() {
        rec.flush();
    }
}

/// What a series costs (measured 186 bytes on 2026-12-03, 1,722 before tag sets were written
/// in one allocation and the store routed samples by class of tag set), and that a test
/// past `maxSeries` keeps nothing more however many new URLs it sends.
#[test]
fn a_series_costs_little_and_folded_ones_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const VUS: usize = 20;
    const LIMIT: usize = 10_000;
    let url = |i: usize| format!("http://127.0.0.1:8080/?id={}-{}", i % VUS + 1, i / VUS);
    let metrics = Metrics::new();
    metrics.tags.set_limit(LIMIT);
    let mut recs = setup(&metrics, VUS);
    // Warm up with one URL: what a test with one URL holds.
    run(&mut recs, 0, 10_000, |_| url(0));
    let one = live();
    let before = metrics.tags.len();
    // Fresh URLs up to the cap (the check's and the iterations' sets are there already).
    run(&mut recs, 1, LIMIT - before, url);
    let at_cap = live();
    let series = metrics.tags.len() - before;
    assert_eq!(metrics.tags.len(), LIMIT);
    assert_eq!(metrics.tags.folded(), 0);
    // Ten times as many past the cap: all folded.
    run(&mut recs, LIMIT, 10 * LIMIT, url);
    let past = live();
    assert_eq!(metrics.tags.folded(), 10 * LIMIT as u64);
    let per_series = (at_cap - one) / series as isize;
    eprintln!(
        "one URL {one} B; at the cap ({series} series) +{} B, {per_series} B per series \
         (the interner {} B); {} folded: {:+} B",
        at_cap - one,
        metrics.tags.heap_size(),
        metrics.tags.folded(),
        past - at_cap
    );
    // The URL (40 bytes) is kept once per series, with its tags and some bookkeeping.
    assert!(per_series < 250, "{per_series} bytes per series");
    assert!(
        past - at_cap < 16 * 1024,
        "{} bytes more past the cap",
        past - at_cap
    );
}

/// Many VUs past the cap: a VU does not keep the folded sets' ids it was given (a thousand
/// VUs each caching hundreds of new URLs' ids held megabytes that grew with the number of VUs).
#[test]
fn many_vus_past_the_cap_keep_nothing_per_new_url() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const VUS: usize = 1000;
    const LIMIT: usize = 1000;
    let url = |i: usize| format!("http://127.0.0.1:8080/?id={}-{}", i % VUS + 1, i / VUS);
    let metrics = Metrics::new();
    metrics.tags.set_limit(LIMIT);
    let mut recs = setup(&metrics, VUS);
    // A hundred requests per VU: past the cap, and each VU's sample buffer at its size.
    run(&mut recs, 0, 100 * VUS, url);
    assert!(metrics.tags.folded() > 0);
    let at_cap = live();
    run(&mut recs, 100 * VUS, 300 * VUS, url);
    let past = live();
    eprintln!(
        "{VUS} VUs, {} folded: {:+} B",
        metrics.tags.folded(),
        past - at_cap
    );
    assert!(
        past - at_cap < 16 * 1024,
        "{} bytes more past the cap",
        past - at_cap
    );
}
