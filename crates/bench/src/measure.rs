//! What a process costs, read from `/proc` (Linux): CPU time (user + system) and resident
//! memory (now and peak). No `libc` call, so no `unsafe`.

use anyhow::Context;

/// The kernel reports `/proc/*/stat` times in `USER_HZ` ticks, which Linux fixes at 100
/// whatever the kernel's own tick rate (see `proc(5)`, "clock ticks").
const USER_HZ: u64 = 100;

/// User + system CPU time of this process so far (every thread, living or ended), in ms,
/// with a 10 ms resolution.
pub fn process_cpu_ms() -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // The command name (field 2) is in parentheses and may hold spaces: fields count from
    // the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("/proc/self/stat has no ')'")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    let ticks = |i: usize| -> anyhow::Result<u64> {
        fields
            .get(i)
            .context("short /proc/self/stat")?
            .parse::<u64>()
            .context("a tick count in /proc/self/stat")
    };
    Ok((ticks(11)? + ticks(12)?) * 1000 / USER_HZ)
}

/// CPU time of the living threads of this process in ns (`/proc/self/task/*/schedstat`):
/// nanosecond resolution for short phases such as one no-op cycle. Threads that already
/// ended are not counted, so measure deltas across phases that keep their threads.
pub fn threads_cpu_ns() -> anyhow::Result<u64> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").context("reading /proc/self/task")? {
        let path = task?.path().join("schedstat");
        // A thread may end between listing and reading.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        total += text
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(total)
}

/// `VmRSS` (now) and `VmHWM` (peak since the process started), in KiB.
pub fn rss_kib() -> anyhow::Result<(u64, u64)> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let field = |name: &str| -> anyhow::Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("{name} in /proc/self/status"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cpu_and_memory_are_read_and_move_the_right_way() {
        let cpu0 = process_cpu_ms().unwrap();
        let ns0 = threads_cpu_ns().unwrap();
        // Burn some CPU and touch 64 MiB.
        let mut v = vec![0u8; 64 << 20];
        let mut x = 0u64;
        for (i, b) in v.iter_mut().enumerate() {
            *b = (i % 251) as u8;
            x = x.wrapping_mul(31).wrapping_add(u64::from(*b));
        }
        assert_ne!(x, 1);
        let (rss, hwm) = rss_kib().unwrap();
        assert!(hwm >= rss && hwm >= 64 * 1024, "{rss} {hwm}");
        assert!(threads_cpu_ns().unwrap() > ns0);
        assert!(process_cpu_ms().unwrap() >= cpu0);
        drop(v);
    }
}
