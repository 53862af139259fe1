//! How busy the load generator itself was: CPU time of this process against the cores it had.

use std::time::{Duration, Instant};

/// CPU time used by this process so far (user, system).
pub fn process_cpu() -> (Duration, Duration) {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return (Duration::ZERO, Duration::ZERO);
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    (tv(usage.ru_utime), tv(usage.ru_stime))
}

/// Peak resident memory of this process, in bytes.
pub fn peak_rss() -> u64 {
    // SAFETY: as above.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    usage.ru_maxrss as u64 * 1024
}

/// Cores this process may run on.
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// A CPU-time measurement in progress.
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    wall: Instant,
    user: Duration,
    sys: Duration,
}

/// CPU use over an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuUse {
    /// Wall-clock length of the interval.
    pub wall: Duration,
    /// User CPU time.
    pub user: Duration,
    /// System CPU time.
    pub sys: Duration,
    /// Cores available.
    pub cores: usize,
}

impl CpuUse {
    /// Share of the available cores used, 0–1.
    pub fn utilisation(&self) -> f64 {
        let wall = self.wall.as_secs_f64() * self.cores.max(1) as f64;
        if wall <= 0.0 {
            0.0
        } else {
            ((self.user + self.sys).as_secs_f64() / wall).min(1.0)
        }
    }
}

impl CpuMeter {
    /// Starts measuring now.
    pub fn start() -> Self {
        let (user, sys) = process_cpu();
        Self {
            wall: Instant::now(),
            user,
            sys,
        }
    }

    /// CPU use since the start.
    pub fn read(&self) -> CpuUse {
        let (user, sys) = process_cpu();
        CpuUse {
            wall: self.wall.elapsed(),
            user: user.saturating_sub(self.user),
            sys: sys.saturating_sub(self.sys),
            cores: cores(),
        }
    }
}
