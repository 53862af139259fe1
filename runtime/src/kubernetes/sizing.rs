//! How much memory a pod asks for: stampede's own per-VU figures, measured by `bench/`
//! (see the README's "Running on many machines"), times the VUs the pod runs at most, plus
//! what the process needs besides its VUs.

/// What language the script is in: VUs of interpreted languages carry their interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptKind {
    /// A compiled component (Rust, C, …).
    Compiled,
    /// JavaScript (an engine in every VU).
    JavaScript,
    /// Python (an interpreter in every VU).
    Python,
}

impl ScriptKind {
    /// Resident memory per VU while it sends requests, bytes (bench/: Rust 93 KiB, rounded
    /// up for connection and sample buffers; JavaScript on the QuickJS engine 515 KiB idle,
    /// rounded up likewise; Python 6.5 MiB).
    pub fn per_vu(self) -> u64 {
        match self {
            ScriptKind::Compiled => 128 << 10,
            ScriptKind::JavaScript => 1 << 20,
            ScriptKind::Python => 7 << 20,
        }
    }
}

/// The process besides its VUs: the compiled script, the runtime's threads, histograms.
const BASE: u64 = 96 << 20;

/// (request, limit) in bytes for a pod of at most `vus` VUs of `kind`, or `per_vu` bytes
/// each when given: the request is what the VUs need; the limit leaves room for response
/// bodies and bursts, twice as much.
pub fn memory_for(kind: ScriptKind, vus: u64, per_vu: Option<u64>) -> (u64, u64) {
    let per_vu = per_vu.unwrap_or_else(|| kind.per_vu());
    let request = BASE.saturating_add(per_vu.saturating_mul(vus));
    (request, request.saturating_mul(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_grows_with_the_vus() {
        let (r1, l1) = memory_for(ScriptKind::Compiled, 1000, None);
        assert_eq!(r1, BASE + 1000 * (128 << 10));
        assert_eq!(l1, 2 * r1);
        let (r2, _) = memory_for(ScriptKind::JavaScript, 1000, None);
        assert!(r2 > r1);
        assert_eq!(
            memory_for(ScriptKind::Compiled, 10, Some(1 << 20)).0,
            BASE + (10 << 20)
        );
    }
}
