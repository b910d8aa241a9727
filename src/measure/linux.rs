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
    let s = fs::read_to_string("/proc/self/status").ok()?;
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
