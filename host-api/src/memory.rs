//! `stampede:script/memory`: the engine's memory mapped page by page, not 16 pages at a time.
//!
//! A VU of the JavaScript engine starts from one snapshot, mapped copy-on-write by wasmtime
//! from a file (a memfd) the size of the snapshot. On a read fault in such a mapping, Linux
//! maps not only the page touched but the pages around it that the file has in memory, up to
//! 16 (`fault_around_bytes`, 64 KiB). For one process that reads a file it saves faults; for
//! a thousand VUs that each read about 60 of the snapshot's 300 pages, scattered, it maps
//! nearly all of them into each VU: the memory is shared and costs nothing more, but every VU
//! is charged the whole snapshot in RSS, which is what `top`, `ps` and the OOM killer look at.
//!
//! The kernel has no switch for this per mapping, with one exception: it does not fault
//! around in a range registered with `userfaultfd` for write-protection, because it tracks such
//! a range page by page. Registering with `UFFD_FEATURE_WP_ASYNC` (Linux 6.7) needs no thread
//! to answer faults, and write-protecting nothing makes the registration do nothing else. So
//! [`settle`] registers the engine's memory that way, then unmaps the pages it finds mapped
//! there but never written (the snapshot's, mapped by fault-around before the call): they
//! are mapped again, one by one and unchanged, when the VU reads them.
//!
//! Where that cannot be done (not Linux, an older kernel, `userfaultfd` refused by the
//! system's policy), nothing is done: the memory is the same, only its accounting differs.

use wasmtime::component::{Linker, WasmList};
use wasmtime::StoreContextMut;

/// What a store keeps for `memory.settle`.
pub trait MemoryView {
    /// Whether the store's instance has settled its memory: only its first call is carried
    /// out (each takes the process's lock on its memory map, so a script calling it in a loop
    /// would slow every VU).
    fn memory_settled(&mut self) -> &mut bool;
}

/// Adds `stampede:script/memory` to `linker`.
pub fn add_to_linker<T: MemoryView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    let mut instance = linker.instance("stampede:script/memory@0.3.0")?;
    instance.func_wrap(
        "settle",
        |mut store: StoreContextMut<'_, T>, (pages,): (WasmList<u8>,)| {
            if std::mem::replace(store.data_mut().memory_settled(), true) {
                return Ok(());
            }
            // Checked by wasmtime to lie in the instance's memory; only its place is used.
            let pages = pages.as_le_slice(&store);
            settle(pages.as_ptr() as usize, pages.len());
            Ok(())
        },
    )
}

/// Whether [`settle`] can work in this process: `None` when it can, or why not.
pub fn unavailable() -> Option<&'static str> {
    imp::kernel().err()
}

/// Maps the memory at `start..start + len` (inside a wasm memory, whose pages are either
/// private copies or the snapshot's, unchanged; from the page `start` is on, to the last
/// whole page) page by page from now on, and unmaps the snapshot's pages mapped in it.
/// Returns how many pages it unmapped, or `None` when it could do nothing.
fn settle(start: usize, len: usize) -> Option<usize> {
    imp::settle(start, len)
}

#[cfg(target_os = "linux")]
mod imp {
    use std::fs::File;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::fs::FileExt;
    use std::sync::OnceLock;

    /// From `<linux/userfaultfd.h>` (the kernel's, 6.7 and later; libc has none of them).
    const UFFD_USER_MODE_ONLY: libc::c_int = 1;
    const UFFD_API: u64 = 0xAA;
    const UFFD_FEATURE_WP_ASYNC: u64 = 1 << 15;
    /// `_IOWR(0xAA, 0x3F, struct uffdio_api)`.
    const UFFDIO_API: libc::c_ulong = 0xC018_AA3F;
    /// `_IOWR(0xAA, 0x00, struct uffdio_register)`.
    const UFFDIO_REGISTER: libc::c_ulong = 0xC020_AA00;
    const UFFDIO_REGISTER_MODE_WP: u64 = 1 << 1;

    #[repr(C)]
    struct UffdioApi {
        api: u64,
        features: u64,
        ioctls: u64,
    }

    #[repr(C)]
    struct UffdioRegister {
        start: u64,
        len: u64,
        mode: u64,
        ioctls: u64,
    }

    /// `/proc/self/pagemap`: bit 63, the page is mapped; bit 61, it is the file's page (not a
    /// private copy).
    pub(super) const PRESENT: u64 = 1 << 63;
    pub(super) const FILE: u64 = 1 << 61;

    pub(super) struct Kernel {
        uffd: OwnedFd,
        pagemap: File,
        page: usize,
        /// The process that opened them: a child made by `fork` inherits both descriptors,
        /// which still name its parent's memory.
        pid: u32,
    }

    pub(super) fn kernel() -> Result<&'static Kernel, &'static str> {
        static KERNEL: OnceLock<Result<Kernel, String>> = OnceLock::new();
        KERNEL.get_or_init(open).as_ref().map_err(|e| e.as_str())
    }

    fn open() -> Result<Kernel, String> {
        let flags = libc::O_CLOEXEC | libc::O_NONBLOCK | UFFD_USER_MODE_ONLY;
        // SAFETY: a system call with no pointer argument.
        let fd = unsafe { libc::syscall(libc::SYS_userfaultfd, flags) };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return Err(format!("userfaultfd: {e}"));
        }
        // SAFETY: the call returned a new descriptor, owned from here on.
        let uffd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        let mut api = UffdioApi {
            api: UFFD_API,
            features: UFFD_FEATURE_WP_ASYNC,
            ioctls: 0,
        };
        // SAFETY: `api` is the struct UFFDIO_API reads and writes.
        if unsafe { libc::ioctl(uffd.as_raw_fd(), UFFDIO_API, &mut api) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err(format!(
                "userfaultfd without asynchronous write-protection (Linux 6.7): {e}"
            ));
        }
        if api.features & UFFD_FEATURE_WP_ASYNC == 0 {
            return Err("userfaultfd without asynchronous write-protection (Linux 6.7)".into());
        }
        let pagemap =
            File::open("/proc/self/pagemap").map_err(|e| format!("/proc/self/pagemap: {e}"))?;
        // SAFETY: sysconf has no memory arguments.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .ok()
            .filter(|p| p.is_power_of_two())
            .ok_or("no page size")?;
        Ok(Kernel {
            uffd,
            pagemap,
            page,
            pid: std::process::id(),
        })
    }

    pub(super) fn settle(start: usize, len: usize) -> Option<usize> {
        let k = kernel().ok().filter(|k| k.pid == std::process::id())?;
        // A wasm memory starts on a page: the page `start` is on is part of it.
        let first = start & !(k.page - 1);
        let end = start.checked_add(len)? & !(k.page - 1);
        if end <= first {
            return Some(0);
        }
        let mut reg = UffdioRegister {
            start: first as u64,
            len: (end - first) as u64,
            mode: UFFDIO_REGISTER_MODE_WP,
            ioctls: 0,
        };
        // SAFETY: `reg` is the struct UFFDIO_REGISTER reads and writes; the range is part of
        // a wasm memory, whose mappings only change their fault-around by this.
        if unsafe { libc::ioctl(k.uffd.as_raw_fd(), UFFDIO_REGISTER, &mut reg) } != 0 {
            return None;
        }
        Some(unmap_unwritten(k, first, end))
    }

    /// Unmaps the pages in `first..end` that are mapped and the file's own: reading them
    /// again maps the same page. Private copies (written pages) and untouched pages stay.
    fn unmap_unwritten(k: &Kernel, first: usize, end: usize) -> usize {
        // Pagemap entries read at a time (32 KiB).
        const CHUNK: usize = 4096;
        let pages = (end - first) / k.page;
        let mut entries = vec![0u8; 8 * pages.min(CHUNK)];
        let mut unmapped = 0;
        for done in (0..pages).step_by(CHUNK) {
            let buf = &mut entries[..8 * (pages - done).min(CHUNK)];
            let at = (first / k.page + done) as u64 * 8;
            if k.pagemap.read_exact_at(buf, at).is_err() {
                break;
            }
            for (run, len) in clean_runs(buf) {
                let addr = first + (done + run) * k.page;
                // SAFETY: the pages are the file's, unchanged by this process: a later read
                // maps the same contents again.
                let rc = unsafe {
                    libc::madvise(addr as *mut libc::c_void, len * k.page, libc::MADV_DONTNEED)
                };
                if rc == 0 {
                    unmapped += len;
                }
            }
        }
        unmapped
    }

    /// The runs of pages, as (first, count), that `entries` (pagemap's, 8 bytes a page) show
    /// mapped and still the file's.
    fn clean_runs(entries: &[u8]) -> Vec<(usize, usize)> {
        let mut runs = Vec::new();
        let mut start = None;
        let pages = entries.len() / 8;
        for (i, e) in entries.chunks_exact(8).enumerate() {
            let e = u64::from_le_bytes(e.try_into().expect("8 bytes"));
            match (e & PRESENT != 0 && e & FILE != 0, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    runs.push((s, i - s));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            runs.push((s, pages - s));
        }
        runs
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub(super) fn kernel() -> Result<(), &'static str> {
        Err("only on Linux")
    }

    pub(super) fn settle(_start: usize, _len: usize) -> Option<usize> {
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::os::unix::fs::FileExt;

    const PAGES: usize = 64;

    /// Which of the `PAGES` pages at `at` are mapped, and which of those are private copies.
    fn mapped(at: *const u8) -> (Vec<usize>, Vec<usize>) {
        use super::imp::{FILE, PRESENT};
        let pagemap = std::fs::File::open("/proc/self/pagemap").unwrap();
        let mut buf = vec![0u8; 8 * PAGES];
        pagemap
            .read_exact_at(&mut buf, (at as u64 / 4096) * 8)
            .unwrap();
        let entries: Vec<u64> = buf
            .chunks(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let present = (0..PAGES).filter(|&i| entries[i] & PRESENT != 0).collect();
        let private = (0..PAGES)
            .filter(|&i| entries[i] & PRESENT != 0 && entries[i] & FILE == 0)
            .collect();
        (present, private)
    }

    /// As wasmtime maps a snapshot: a private mapping of a memfd. After `settle`, the pages
    /// read and not written are unmapped, the written one keeps what was written, a page
    /// read maps alone (no fault-around), and one unmapped reads the file's bytes again.
    #[test]
    fn settled_memory_maps_only_the_pages_touched_and_keeps_every_byte() {
        if let Some(why) = super::unavailable() {
            panic!("memory.settle cannot work on this machine: {why}");
        }
        // SAFETY: plain system calls on a file and a mapping made here and used only here.
        unsafe {
            let fd = libc::memfd_create(c"settle-test".as_ptr(), libc::MFD_CLOEXEC);
            assert!(fd >= 0);
            let file: std::fs::File = std::os::fd::FromRawFd::from_raw_fd(fd);
            let bytes: Vec<u8> = (0..PAGES * 4096).map(|i| (i / 4096) as u8).collect();
            std::io::Write::write_all(&mut &file, &bytes).unwrap();
            let at = libc::mmap(
                std::ptr::null_mut(),
                PAGES * 4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE,
                std::os::fd::AsRawFd::as_raw_fd(&file),
                0,
            ) as *mut u8;
            assert_ne!(at as *mut libc::c_void, libc::MAP_FAILED);
            assert_eq!(std::ptr::read_volatile(at.add(5 * 4096)), 5);
            std::ptr::write_volatile(at.add(7 * 4096 + 1), 0xEE);
            let (before, private) = mapped(at);
            assert!(
                before.contains(&5) && private == [7],
                "{before:?} {private:?}"
            );

            let unmapped = super::settle(at as usize + 1, PAGES * 4096 - 1);
            assert_eq!(
                unmapped,
                Some(before.len() - 1),
                "mapped before: {before:?}"
            );
            assert_eq!(mapped(at), (vec![7], vec![7]));

            assert_eq!(std::ptr::read_volatile(at.add(20 * 4096 + 9)), 20);
            assert_eq!(std::ptr::read_volatile(at.add(5 * 4096)), 5);
            assert_eq!(std::ptr::read_volatile(at.add(7 * 4096 + 1)), 0xEE);
            assert_eq!(std::ptr::read_volatile(at.add(7 * 4096)), 7);
            assert_eq!(mapped(at), (vec![5, 7, 20], vec![7]));
            libc::munmap(at.cast(), PAGES * 4096);
        }
    }
}
