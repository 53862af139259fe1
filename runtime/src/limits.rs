//! The operating-system limits that many VUs run into, and what to say when they do.

/// The kernel's limit on memory mappings per process, if readable.
pub fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Memory mappings this process has now, if readable.
pub fn map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/self/maps")
        .ok()
        .map(|s| s.lines().count() as u64)
}

/// Raises this process's open-file limit to its hard limit (each VU connection is a file);
/// returns the limit now in force.
pub fn raise_nofile() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur as u64;
            }
        }
        lim.rlim_cur as u64
    }
}

/// Memory mappings a VU needs: its linear memory, table and fiber stack, each with a guard.
const MAPS_PER_VU: u64 = 6;

/// Refuses up front a number of VUs the kernel's mapping limit cannot hold.
pub fn check_map_count(wanted: u64) -> Result<(), String> {
    let (Some(maps), Some(max)) = (map_count(), max_map_count()) else {
        return Ok(());
    };
    if maps + MAPS_PER_VU * wanted > max {
        return Err(format!(
            "{wanted} VUs need about {} memory mappings, more than the kernel allows (vm.max_map_count = {max}). \
             Raise it, e.g. `sudo sysctl -w vm.max_map_count={}`, or run fewer VUs",
            MAPS_PER_VU * wanted,
            (MAPS_PER_VU * wanted * 2).max(262_144)
        ));
    }
    Ok(())
}

/// Explains a failure to make VU `made + 1` of `wanted`, when an OS limit is the cause.
pub fn explain_vu_failure(error: &str, made: u64, wanted: u64) -> Option<String> {
    if !(error.contains("os error 12") || error.contains("Cannot allocate memory")) {
        return None;
    }
    let (maps, max) = (map_count()?, max_map_count()?);
    if maps + 64 >= max || MAPS_PER_VU * wanted >= max {
        Some(format!(
            "the kernel's limit on memory mappings was reached after {made} of {wanted} VUs \
             (vm.max_map_count = {max}; stampede needs about {MAPS_PER_VU} per VU). Raise it, e.g. \
             `sudo sysctl -w vm.max_map_count={}`, or run fewer VUs",
            (MAPS_PER_VU * wanted * 2).max(262_144)
        ))
    } else {
        Some(format!(
            "out of memory after {made} of {wanted} VUs: lower --vu-memory-limit (the address space reserved \
             per VU), run fewer VUs, or check `ulimit -v`"
        ))
    }
}
