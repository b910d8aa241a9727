//! Linux `/proc` readings: peak RSS reset and read, thread count.

use std::fs;

/// Resets this process's peak RSS (`VmHWM`) to its current RSS (Linux ≥ 4.0); false if refused.
pub fn reset_peak_rss() -> bool {
    fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// This process's peak RSS in KiB since start or the last [`reset_peak_rss`].
pub fn peak_rss_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

fn status_kib(key: &str) -> Option<u64> {
    kib_field("/proc/self/status", key)
}

/// A `Key:   1234 kB` line of a `/proc` file, in KiB.
fn kib_field(path: &str, key: &str) -> Option<u64> {
    let s = fs::read_to_string(path).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Threads in this process right now.
pub fn thread_count() -> usize {
    fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_follows_an_allocation_and_resets() {
        reset_peak_rss();
        let before = peak_rss_kib().unwrap();
        let mut v = vec![0u8; 64 << 20];
        for i in (0..v.len()).step_by(4096) {
            v[i] = 1;
        }
        std::hint::black_box(&v);
        let after = peak_rss_kib().unwrap();
        assert!(after >= before + 60 * 1024, "{before} -> {after}");
        drop(v);
        assert!(reset_peak_rss());
        assert!(peak_rss_kib().unwrap() < after);
    }
}

/// Busy CPU seconds of the whole machine since boot (user, nice, system, irq, softirq, steal
/// from `/proc/stat`), at jiffy resolution.
pub fn machine_busy_s() -> Option<f64> {
    let s = fs::read_to_string("/proc/stat").ok()?;
    let line = s.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal ...
    let busy = v.first()? + v.get(1)? + v.get(2)? + v.get(5)? + v.get(6)? + v.get(7).unwrap_or(&0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some(busy as f64 / hz)
}

/// Proportional set size of a process (this one for `None`), KiB: shared pages split among the
/// processes that map them, so a pool's PSS adds up to what it really occupies.
pub fn pss_kib(pid: Option<i32>) -> Option<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/smaps_rollup"),
        None => "/proc/self/smaps_rollup".to_string(),
    };
    kib_field(&path, "Pss:")
}

/// PSS of a process and all its descendants (a repetition, its pool's workers, and a Python
/// interpreter's own workers), KiB.
pub fn tree_pss_kib(pid: i32) -> Option<u64> {
    let own = pss_kib(Some(pid))?;
    let rest: u64 = tree_pids(pid).iter().skip(1).filter_map(|&c| pss_kib(Some(c))).sum();
    Some(own + rest)
}

/// A process and its descendants, the process first: the children of each of its threads
/// (a thread that forked is the parent it records), then theirs.
pub fn tree_pids(pid: i32) -> Vec<i32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        i += 1;
        let Ok(threads) = fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in threads.flatten() {
            let children = fs::read_to_string(t.path().join("children")).unwrap_or_default();
            for c in children.split_whitespace().filter_map(|c| c.parse::<i32>().ok()) {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// The peak RSS of a running process so far (`VmHWM`), KiB.
pub fn peak_rss_of(pid: i32) -> Option<u64> {
    kib_field(&format!("/proc/{pid}/status"), "VmHWM:")
}

#[cfg(test)]
mod proc_tests {
    use super::*;

    #[test]
    fn machine_busy_time_grows_and_pss_is_read() {
        let a = machine_busy_s().unwrap();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(100) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(machine_busy_s().unwrap() - a >= 0.05);
        let pss = pss_kib(None).unwrap();
        assert!(pss > 100, "{pss}");
        assert!(pss_kib(Some(1 << 30)).is_none());
    }
}
