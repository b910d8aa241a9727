//! What a repetition costs: CPU time from rusage, peak memory, and latency percentiles.

mod linux;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use linux::{
    machine_busy_s, peak_rss_kib, peak_rss_of, pss_kib, reset_peak_rss, thread_count, tree_pids, tree_pss_kib,
};

/// CPU seconds, peak resident memory and contention counters of a process (or of reaped
/// children), as `getrusage` and `wait4` give them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub user_s: f64,
    pub sys_s: f64,
    /// Peak resident set, KiB (`ru_maxrss`).
    pub maxrss_kib: u64,
    /// Page faults served without I/O (`ru_minflt`) and with it (`ru_majflt`).
    #[serde(default)]
    pub minflt: u64,
    #[serde(default)]
    pub majflt: u64,
    /// Context switches: voluntary (waiting: I/O, a lock, a sleep) and involuntary (preempted).
    #[serde(default)]
    pub nvcsw: u64,
    #[serde(default)]
    pub nivcsw: u64,
}

impl Usage {
    pub fn from_rusage(r: &libc::rusage) -> Usage {
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        Usage {
            user_s: secs(r.ru_utime),
            sys_s: secs(r.ru_stime),
            maxrss_kib: r.ru_maxrss.max(0) as u64,
            minflt: r.ru_minflt.max(0) as u64,
            majflt: r.ru_majflt.max(0) as u64,
            nvcsw: r.ru_nvcsw.max(0) as u64,
            nivcsw: r.ru_nivcsw.max(0) as u64,
        }
    }

    /// This process, all its threads included.
    fn getrusage(who: libc::c_int) -> Usage {
        // SAFETY: getrusage only writes the struct we pass.
        let mut r: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(who, &mut r) };
        Usage::from_rusage(&r)
    }

    pub fn of_self() -> Usage {
        Usage::getrusage(libc::RUSAGE_SELF)
    }

    /// The calling thread alone (`RUSAGE_THREAD`): about 0.35 µs a call here.
    pub fn of_thread() -> Usage {
        Usage::getrusage(libc::RUSAGE_THREAD)
    }

    /// Every child this process has reaped (each with what it reaped in turn). Its peak RSS
    /// is the largest child's.
    pub fn of_children() -> Usage {
        Usage::getrusage(libc::RUSAGE_CHILDREN)
    }

    /// CPU time spent between `earlier` and `self`.
    pub fn since(self, earlier: Usage) -> Usage {
        Usage {
            user_s: (self.user_s - earlier.user_s).max(0.0),
            sys_s: (self.sys_s - earlier.sys_s).max(0.0),
            maxrss_kib: self.maxrss_kib,
            minflt: self.minflt.saturating_sub(earlier.minflt),
            majflt: self.majflt.saturating_sub(earlier.majflt),
            nvcsw: self.nvcsw.saturating_sub(earlier.nvcsw),
            nivcsw: self.nivcsw.saturating_sub(earlier.nivcsw),
        }
    }

    pub fn cpu_s(&self) -> f64 {
        self.user_s + self.sys_s
    }

    /// CPU times added; peak RSS summed (each process's own peak).
    pub fn plus(self, o: Usage) -> Usage {
        Usage {
            user_s: self.user_s + o.user_s,
            sys_s: self.sys_s + o.sys_s,
            maxrss_kib: self.maxrss_kib + o.maxrss_kib,
            minflt: self.minflt + o.minflt,
            majflt: self.majflt + o.majflt,
            nvcsw: self.nvcsw + o.nvcsw,
            nivcsw: self.nivcsw + o.nivcsw,
        }
    }
}

/// Waits until other processes use under 5 % of the machine over a 200 ms window, `limit` passes,
/// or `stop` says so.
pub fn wait_for_idle(limit: Duration, stop: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    let window = Duration::from_millis(200);
    let capacity = window.as_secs_f64() * cores() as f64;
    while start.elapsed() < limit && !stop() {
        let (a, me) = (machine_busy_s(), Usage::of_self());
        std::thread::sleep(window);
        let ours = Usage::of_self().since(me).cpu_s();
        match a.zip(machine_busy_s()) {
            Some((a, b)) if (b - a - ours) / capacity < 0.05 => return,
            Some(_) => {}
            None => return,
        }
    }
}

/// How much this machine's speed moves from run to run: a fixed CPU loop timed again and again.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Noise {
    pub runs: usize,
    /// The median time of one run of the loop, seconds.
    pub seconds: f64,
    /// Coefficient of variation of the runs' times (standard deviation over mean).
    pub cv: f64,
    /// The slowest run over the fastest.
    pub spread: f64,
}

/// Times a fixed loop of about 30 ms up to 40 times, within `limit`: the machine's timing noise,
/// what a comparison of two pools must see through.
pub fn noise_probe(limit: Duration) -> Option<Noise> {
    let start = std::time::Instant::now();
    let mut times = Vec::new();
    while times.len() < 40 && start.elapsed() < limit {
        let t = std::time::Instant::now();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..30_000_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        std::hint::black_box(x);
        times.push(t.elapsed().as_secs_f64());
    }
    if times.len() < 3 {
        return None;
    }
    let n = times.len() as f64;
    let mean = times.iter().sum::<f64>() / n;
    let sd = (times.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let (lo, hi) = times
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), &t| (lo.min(t), hi.max(t)));
    Some(Noise {
        runs: times.len(),
        seconds: percentile(&times, 50.0)?,
        cv: sd / mean,
        spread: hi / lo,
    })
}

/// Linear-interpolated percentile (as numpy's default) of unsorted values; `None` when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = p.clamp(0.0, 100.0) / 100.0 * (v.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (rank - lo as f64))
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process of the machine, so a worker's
/// reading and its parent's can be subtracted.
pub fn monotonic_ns() -> u64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).expect("CLOCK_MONOTONIC is always there");
    t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
}

/// Logical cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy() {
        // numpy.percentile([1, 2, 3, 4, 10], [50, 95]) == [3.0, 8.8]
        let v = [10.0, 2.0, 4.0, 1.0, 3.0];
        assert_eq!(percentile(&v, 50.0), Some(3.0));
        assert!((percentile(&v, 95.0).unwrap() - 8.8).abs() < 1e-12);
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
    }

    #[test]
    fn own_cpu_time_grows_with_work() {
        let before = Usage::of_self();
        let mut x = 1u64;
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(60) {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let spent = Usage::of_self().since(before);
        assert!(spent.cpu_s() > 0.03, "{spent:?}");
        assert!(spent.maxrss_kib > 0);
    }
}
