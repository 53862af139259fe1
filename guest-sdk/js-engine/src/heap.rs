//! The heap as the snapshot leaves it.
//!
//! Every VU starts from a copy-on-write image of the engine's memory, so a page of it costs a
//! VU its own 4 KiB only once the VU writes to it. What a VU allocates after the snapshot must
//! therefore land in pages of its own, filled one after the other, and never in the free space
//! left between the snapshot's live data. Two layers see to it:
//!
//! - [`Blocks`], QuickJS's allocator: every block QuickJS asks for. QuickJS's own small-block
//!   arenas (a 4 KiB arena per size class, 31 classes) are turned off (the engine's C is built
//!   with `__SANITIZE_ADDRESS__` defined, quickjs-ng's switch for that, see
//!   `.cargo/config.toml`): with them, a VU that allocates a block of a size class writes into
//!   that class's partly filled arena of the snapshot, one shared page per class, about 27 pages
//!   for loading a script. [`Blocks`] keeps a free list per size but carves every new block,
//!   whatever its size, from one run of memory, so a VU's small blocks share pages. [`seal`]
//!   starts a new run and new free lists when the snapshot is taken, and a block from before it
//!   is never reused or freed (freeing would write into the snapshot's pages).
//! - wasi-libc's dlmalloc (Rust's allocations, [`Blocks`]' runs and large blocks) serves a
//!   request from its free chunks first: the holes that the collection before the snapshot
//!   leaves between live data. [`plug_holes`] takes every free chunk once, at snapshot time, so
//!   that what a VU allocates from dlmalloc comes from the top of the heap. The chunks taken are
//!   never used; they stay in the shared image.

use std::alloc::{alloc, alloc_zeroed, dealloc, realloc, Layout};
use std::cell::UnsafeCell;
use std::ptr;

/// Alignment of every block, and the granularity of the free lists' sizes.
const ALIGN: usize = 8;
/// Bytes before each block: its size and where it comes from ([`Header`]).
const HEADER: usize = 8;
/// The largest block carved from a run; larger ones come from the system allocator.
const SMALL_MAX: usize = 512;
/// The size of a run of small blocks.
const RUN: usize = 16 << 10;
/// The header's flag for a block of the system allocator.
const LARGE: u32 = 1;
/// The largest block: its size, rounded up, and header fit the header's `u32` and a `Layout`
/// on wasm32. QuickJS's requests come from scripts (`new ArrayBuffer(n)`, string lengths), so
/// a larger one gets no block rather than a size that wraps around.
const MAX_BLOCK: usize = i32::MAX as usize - 2 * HEADER;

/// Before every block: its usable size and its tag (the epoch it was allocated in, shifted
/// left by one, and [`LARGE`]).
#[repr(C)]
struct Header {
    size: u32,
    tag: u32,
}

struct State {
    /// A free list per size (`size / ALIGN`), linked through the blocks' first word.
    free: [*mut u8; SMALL_MAX / ALIGN + 1],
    /// The unused rest of the current run.
    next: *mut u8,
    end: *mut u8,
    /// Bumped by [`seal`]: blocks of an earlier epoch belong to the snapshot.
    epoch: u32,
}

const EMPTY: State = State {
    free: [ptr::null_mut(); SMALL_MAX / ALIGN + 1],
    next: ptr::null_mut(),
    end: ptr::null_mut(),
    epoch: 0,
};

/// The engine's wasm has one thread: its allocator is a plain static (a `thread_local!` costs
/// a call on every allocation there).
#[cfg(target_arch = "wasm32")]
struct Global(UnsafeCell<State>);

// SAFETY: the engine's wasm has one thread.
#[cfg(target_arch = "wasm32")]
unsafe impl Sync for Global {}

#[cfg(target_arch = "wasm32")]
static STATE: Global = Global(UnsafeCell::new(EMPTY));

#[cfg(target_arch = "wasm32")]
fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    // SAFETY: the state is only reached through this function, which does not recurse, on
    // the one thread.
    f(unsafe { &mut *STATE.0.get() })
}

// One allocator per thread natively, where the engine's unit tests run on several: a runtime
// stays on the thread that made it.
#[cfg(not(target_arch = "wasm32"))]
thread_local! {
    static STATE: UnsafeCell<State> = const { UnsafeCell::new(EMPTY) };
}

#[cfg(not(target_arch = "wasm32"))]
fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    // SAFETY: the state is only reached through this function, which does not recurse, and
    // each thread has its own.
    STATE.with(|s| f(unsafe { &mut *s.get() }))
}

/// QuickJS's allocator (see the module's documentation).
pub struct Blocks;

/// The header of the block at `p`.
///
/// # Safety
/// `p` is a block of [`Blocks`].
unsafe fn header<'a>(p: *mut u8) -> &'a mut Header {
    &mut *p.sub(HEADER).cast::<Header>()
}

/// `size` rounded up to whole words (at least one, for the free list's link), or `None` past
/// [`MAX_BLOCK`].
fn rounded(size: usize) -> Option<usize> {
    (size <= MAX_BLOCK).then(|| size.max(ALIGN).next_multiple_of(ALIGN))
}

/// The usable size of the block at `p` (0 for null).
///
/// # Safety
/// `p` is null or a block of [`Blocks`].
unsafe fn usable(p: *mut u8) -> usize {
    if p.is_null() {
        0
    } else {
        header(p).size as usize
    }
}

fn large_layout(size: usize) -> Layout {
    Layout::from_size_align(size + HEADER, ALIGN).expect("sizes are bounded by MAX_BLOCK")
}

impl State {
    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        match count.checked_mul(size) {
            Some(n) => self.alloc(n, true),
            None => ptr::null_mut(),
        }
    }

    fn alloc(&mut self, size: usize, zeroed: bool) -> *mut u8 {
        let Some(size) = rounded(size) else {
            return ptr::null_mut();
        };
        if size <= SMALL_MAX {
            let p = self.small(size);
            if zeroed && !p.is_null() {
                // SAFETY: the block holds `size` bytes.
                unsafe { ptr::write_bytes(p, 0, size) };
            }
            return p;
        }
        let layout = large_layout(size);
        // SAFETY: the layout is not empty.
        let base = unsafe {
            if zeroed {
                alloc_zeroed(layout)
            } else {
                alloc(layout)
            }
        };
        if base.is_null() {
            return base;
        }
        // SAFETY: `base` holds the header and `size` bytes after it.
        unsafe {
            base.cast::<Header>().write(Header {
                size: size as u32,
                tag: self.epoch << 1 | LARGE,
            });
            base.add(HEADER)
        }
    }

    /// A block of `size` bytes (a multiple of [`ALIGN`], at most [`SMALL_MAX`]).
    fn small(&mut self, size: usize) -> *mut u8 {
        let list = &mut self.free[size / ALIGN];
        if !list.is_null() {
            let p = *list;
            // SAFETY: a free block's first word links the list.
            *list = unsafe { p.cast::<*mut u8>().read() };
            return p;
        }
        let need = size + HEADER;
        if (self.end as usize) - (self.next as usize) < need {
            // The rest of the run (less than a block) is left unused.
            // SAFETY: the layout is not empty.
            let run = unsafe { alloc(Layout::from_size_align(RUN, ALIGN).expect("constant")) };
            if run.is_null() {
                return run;
            }
            self.next = run;
            // SAFETY: `run` holds RUN bytes.
            self.end = unsafe { run.add(RUN) };
        }
        let base = self.next;
        // SAFETY: the run has `need` bytes left at `base`.
        unsafe {
            self.next = base.add(need);
            base.cast::<Header>().write(Header {
                size: size as u32,
                tag: self.epoch << 1,
            });
            base.add(HEADER)
        }
    }

    /// # Safety
    /// `p` is null or a live block of [`Blocks`].
    unsafe fn free(&mut self, p: *mut u8) {
        if p.is_null() {
            return;
        }
        let h = header(p);
        if h.tag >> 1 != self.epoch {
            // The snapshot's: left where it is, unwritten.
            return;
        }
        let size = h.size as usize;
        if h.tag & LARGE != 0 {
            dealloc(p.sub(HEADER), large_layout(size));
        } else {
            let list = &mut self.free[size / ALIGN];
            p.cast::<*mut u8>().write(*list);
            *list = p;
        }
    }

    /// # Safety
    /// `p` is null or a live block of [`Blocks`].
    unsafe fn realloc(&mut self, p: *mut u8, size: usize) -> *mut u8 {
        if p.is_null() {
            return self.alloc(size, false);
        }
        let Some(rounded) = rounded(size) else {
            return ptr::null_mut();
        };
        let h = header(p);
        let old = h.size as usize;
        if h.tag >> 1 == self.epoch && h.tag & LARGE != 0 && rounded > SMALL_MAX {
            let base = realloc(p.sub(HEADER), large_layout(old), rounded + HEADER);
            if base.is_null() {
                return base;
            }
            (*base.cast::<Header>()).size = rounded as u32;
            return base.add(HEADER);
        }
        if rounded <= old && h.tag & LARGE == 0 {
            return p;
        }
        let q = self.alloc(size, false);
        if !q.is_null() {
            ptr::copy_nonoverlapping(p, q, old.min(size));
            self.free(p);
        }
        q
    }
}

// SAFETY: blocks are aligned to 8 bytes (QuickJS's largest alignment) and hold at least the
// size asked for; `usable_size` gives the size they hold.
unsafe impl rquickjs::allocator::Allocator for Blocks {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        with_state(|s| s.alloc(size, false))
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        with_state(|s| s.calloc(count, size))
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        with_state(|s| s.free(ptr))
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        with_state(|s| s.realloc(ptr, new_size))
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        usable(ptr)
    }
}

/// QuickJS's calls into [`Blocks`], without rquickjs's layer (a call through a trait object
/// per call): installed by [`install`].
mod direct {
    use std::ffi::c_void;

    use super::with_state;
    use rquickjs::qjs::size_t;

    pub unsafe extern "C" fn calloc(_: *mut c_void, count: size_t, size: size_t) -> *mut c_void {
        with_state(|s| s.calloc(count as usize, size as usize)).cast()
    }

    pub unsafe extern "C" fn malloc(_: *mut c_void, size: size_t) -> *mut c_void {
        with_state(|s| s.alloc(size as usize, false)).cast()
    }

    pub unsafe extern "C" fn free(_: *mut c_void, ptr: *mut c_void) {
        with_state(|s| s.free(ptr.cast()))
    }

    pub unsafe extern "C" fn realloc(
        _: *mut c_void,
        ptr: *mut c_void,
        size: size_t,
    ) -> *mut c_void {
        with_state(|s| s.realloc(ptr.cast(), size as usize)).cast()
    }

    pub unsafe extern "C" fn usable_size(ptr: *const c_void) -> size_t {
        super::usable(ptr.cast_mut().cast()) as size_t
    }
}

/// Points the runtime's allocation calls straight at [`Blocks`]' code. The runtime must have
/// been made with [`Blocks`] (`Runtime::new_with_alloc`), so that what it allocated so far is
/// [`Blocks`]' too; this only takes rquickjs's trait object out of the calls.
///
/// # Safety
/// `rt` is a live runtime made with [`Blocks`].
pub unsafe fn install(rt: *mut rquickjs::qjs::JSRuntime) {
    // QuickJS keeps its allocation functions as the first field of the runtime (quickjs.c,
    // `struct JSRuntime`), a copy of what `JS_NewRuntime2` was given.
    rt.cast::<rquickjs::qjs::JSMallocFunctions>()
        .write(rquickjs::qjs::JSMallocFunctions {
            js_calloc: Some(direct::calloc),
            js_malloc: Some(direct::malloc),
            js_free: Some(direct::free),
            js_realloc: Some(direct::realloc),
            js_malloc_usable_size: Some(direct::usable_size),
        });
}

/// Leaves the blocks allocated so far to the snapshot: later blocks come from a new run and
/// new free lists, and freeing an earlier one does nothing. Called once, at the end of the
/// snapshot's initialisation.
pub fn seal() {
    with_state(|s| {
        s.free = [ptr::null_mut(); SMALL_MAX / ALIGN + 1];
        s.next = ptr::null_mut();
        s.end = ptr::null_mut();
        s.epoch += 1;
    });
}

#[cfg(target_arch = "wasm32")]
extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
}

/// Takes every free chunk of dlmalloc below the top of the heap, and returns where the top
/// starts: every block allocated so far lies below it, every later one above. Called once, at
/// the end of the snapshot's initialisation.
#[cfg(target_arch = "wasm32")]
pub fn plug_holes() -> usize {
    // A request larger than any hole comes from the top: where the top starts.
    const PROBE: usize = 256 << 10;
    // SAFETY: plain libc allocation calls; the chunks kept are never freed or used.
    unsafe {
        let top = malloc(PROBE);
        if top.is_null() {
            return 0;
        }
        free(top);
        let mut size = PROBE / 2;
        while size >= 1 {
            // Best fit: each request takes the smallest free chunk that holds it (splitting a
            // larger one leaves a smaller hole, taken by a later, smaller request).
            loop {
                let p = malloc(size);
                if p.is_null() {
                    break;
                }
                if p >= top {
                    free(p);
                    break;
                }
            }
            size = if size > 256 {
                size / 2
            } else {
                size - size.min(8)
            };
        }
        top as usize
    }
}

/// Natively (the engine's unit tests) there is no snapshot.
#[cfg(not(target_arch = "wasm32"))]
pub fn plug_holes() -> usize {
    0
}

extern "C" {
    /// QuickJS as stampede's build changes it (src/quickjs_patch.rs at the repository's root):
    /// the GC objects below `limit` become immortal to the VUs.
    fn JS_SealHeap(rt: *mut rquickjs::qjs::JSRuntime, limit: usize);
}

/// Makes every object of `rt` allocated so far immortal: a VU's use of them no longer writes
/// their reference counts, and its collections no longer visit them (see the build's
/// src/quickjs_patch.rs). `limit` is where [`plug_holes`] found the top of the heap; 0 (no
/// snapshot) changes nothing.
///
/// # Safety
/// `rt` is a live runtime, with no collection under way; every block below `limit` was
/// allocated before this call and every later one is above it.
pub unsafe fn make_immortal(rt: *mut rquickjs::qjs::JSRuntime, limit: usize) {
    if limit != 0 {
        JS_SealHeap(rt, limit);
    }
}

/// Tells the host where this instance's memory lies (`memory.settle`): from here on the kernel
/// maps only the snapshot's pages this VU touches, not the 16 around each, and the ones mapped
/// so far that the VU has not written are unmapped. Called once per instance, before the
/// script loads.
#[cfg(target_arch = "wasm32")]
pub fn settle() {
    let end = core::arch::wasm32::memory_size(0) * 65536;
    // SAFETY: byte 1 to the end of memory is this instance's, readable; nothing writes it
    // during the call, and the host reads none of it (it uses where the list lies).
    let pages =
        unsafe { core::slice::from_raw_parts(core::ptr::with_exposed_provenance(1), end - 1) };
    crate::host::memory::settle(pages);
}

/// Natively (the engine's unit tests) there is no host.
#[cfg(not(target_arch = "wasm32"))]
pub fn settle() {}

#[cfg(test)]
mod tests {
    use super::*;
    use rquickjs::allocator::Allocator;

    /// A small deterministic generator (xorshift), so that a failure can be replayed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> usize {
            (self.next() % n) as usize
        }
    }

    struct Live {
        ptr: *mut u8,
        len: usize,
        fill: u8,
    }

    fn check(b: &Live) {
        // SAFETY: a live block holds `len` bytes.
        let bytes = unsafe { std::slice::from_raw_parts(b.ptr, b.len) };
        assert!(
            bytes.iter().all(|&x| x == b.fill),
            "a block's bytes changed"
        );
        assert_eq!(b.ptr as usize % ALIGN, 0, "blocks are aligned");
        // SAFETY: as above.
        assert!(unsafe { Blocks::usable_size(b.ptr) } >= b.len);
    }

    /// A size a script can ask for (a huge `ArrayBuffer`, a string) but no header can hold
    /// gets no block, whether it is asked for, multiplied out or grown to; the block being
    /// grown stays as it was.
    #[test]
    fn sizes_past_the_largest_block_get_none() {
        let mut a = Blocks;
        for size in [
            MAX_BLOCK + 1,
            u32::MAX as usize - 3,
            u32::MAX as usize,
            usize::MAX,
        ] {
            assert!(a.alloc(size).is_null(), "{size}");
        }
        assert!(a.calloc(2, usize::MAX / 2 + 1).is_null());
        assert!(a.calloc(MAX_BLOCK / 2 + 1, 2).is_null());
        let p = a.alloc(600);
        // SAFETY: the block holds 600 bytes; it is live until freed below.
        unsafe {
            ptr::write_bytes(p, 7, 600);
            assert!(a.realloc(p, usize::MAX).is_null());
            assert!(a.realloc(p, MAX_BLOCK + 1).is_null());
            assert!(std::slice::from_raw_parts(p, 600).iter().all(|&x| x == 7));
            a.dealloc(p);
        }
    }

    /// Random allocations, reallocations and frees, each block filled with its own byte and
    /// checked before it goes: a block that overlaps another, or loses its bytes when it
    /// moves, fails. A seal in the middle: the blocks from before it stay readable and are
    /// never handed out again.
    #[test]
    fn blocks_keep_their_bytes_and_never_overlap() {
        let mut a = Blocks;
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut live: Vec<Live> = Vec::new();
        let mut sealed: Vec<Live> = Vec::new();
        for step in 0..40_000u32 {
            if step == 20_000 {
                seal();
                sealed = std::mem::take(&mut live);
                // Half of the snapshot's blocks are freed now: they must not come back.
                for b in sealed.iter().step_by(2) {
                    // SAFETY: a live block of this allocator.
                    unsafe { a.dealloc(b.ptr) };
                }
            }
            let len = match rng.below(10) {
                0 => rng.below(4_000),
                1 => 0,
                _ => rng.below(SMALL_MAX as u64 + 16),
            };
            let fill = (step % 251) as u8 + 1;
            match rng.below(4) {
                0 | 1 => {
                    let ptr = if rng.below(2) == 0 {
                        a.alloc(len)
                    } else {
                        let p = a.calloc(1, len.max(1));
                        // SAFETY: calloc's block holds len.max(1) zeroed bytes.
                        assert!(unsafe { std::slice::from_raw_parts(p, len) }
                            .iter()
                            .all(|&x| x == 0));
                        p
                    };
                    // SAFETY: the block holds `len` bytes.
                    unsafe { ptr::write_bytes(ptr, fill, len) };
                    live.push(Live { ptr, len, fill });
                }
                2 if !live.is_empty() => {
                    let i = rng.below(live.len() as u64);
                    let b = live.swap_remove(i);
                    check(&b);
                    // SAFETY: a live block of this allocator.
                    unsafe { a.dealloc(b.ptr) };
                }
                3 if !live.is_empty() => {
                    let i = rng.below(live.len() as u64);
                    check(&live[i]);
                    // SAFETY: a live block of this allocator.
                    let ptr = unsafe { a.realloc(live[i].ptr, len) };
                    let kept = live[i].len.min(len);
                    // SAFETY: the block holds `len` bytes.
                    let bytes = unsafe { std::slice::from_raw_parts(ptr, kept) };
                    assert!(
                        bytes.iter().all(|&x| x == live[i].fill),
                        "realloc lost bytes"
                    );
                    unsafe { ptr::write_bytes(ptr, fill, len) };
                    live[i] = Live { ptr, len, fill };
                }
                _ => {}
            }
        }
        // No two live blocks overlap, none overlaps a snapshot block, and the snapshot's
        // blocks, freed or not, still hold their bytes.
        let mut spans: Vec<(usize, usize)> = live
            .iter()
            .chain(sealed.iter())
            .map(|b| (b.ptr as usize, b.ptr as usize + b.len.max(1)))
            .collect();
        spans.sort();
        for w in spans.windows(2) {
            assert!(w[0].1 <= w[1].0, "blocks overlap: {:x?}", w);
        }
        for b in live.iter().chain(sealed.iter()) {
            check(b);
        }
    }
}
