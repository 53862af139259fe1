//! The heap as the snapshot leaves it.
//!
//! Every VU starts from a copy-on-write image of the engine's memory, so a page of it costs a
//! VU its own 4 KiB only once the VU writes to it. wasi-libc's dlmalloc (Rust's allocations,
//! QuickJS's blocks over 504 bytes and its 4 KiB arenas of small blocks) serves a request from
//! its free chunks first: the holes that the collection before the snapshot leaves between
//! live data. A VU's own allocations — its script's source, parse and bytecode, new arenas —
//! would land in those holes and copy a snapshot page for each. [`plug_holes`] takes every
//! free chunk once, at snapshot time, so that what a VU allocates from dlmalloc comes from the
//! top of the heap, in pages of its own filled one after the other. The chunks taken are never
//! used; they stay in the shared image.
//!
//! (QuickJS's arenas are left as they are: taking their free blocks too makes a VU start a new
//! arena, a page, for every size class it allocates, more pages than the holes it would fill.)

#[cfg(target_arch = "wasm32")]
extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
}

/// Takes every free chunk of dlmalloc below the top of the heap. Called once, at the end of
/// the snapshot's initialisation.
#[cfg(target_arch = "wasm32")]
pub fn plug_holes() {
    // A request larger than any hole comes from the top: where the top starts.
    const PROBE: usize = 256 << 10;
    // SAFETY: plain libc allocation calls; the chunks kept are never freed or used.
    unsafe {
        let top = malloc(PROBE);
        if top.is_null() {
            return;
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
    }
}

/// Natively (the engine's unit tests) there is no snapshot.
#[cfg(not(target_arch = "wasm32"))]
pub fn plug_holes() {}
