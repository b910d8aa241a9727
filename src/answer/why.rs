//! Why a decided verdict came out as it did: the slower side's extra wall time per repetition
//! split into parts taken from measured columns (pool start, dispatch and IPC, tasks running
//! slower than the same tasks in the other pool, workers idle at the end of the task phase,
//! shutdown), what they leave, and the contention counter that differs most. Means, not
//! medians: means of parts add up to the mean of their sum.

use std::fmt;

use crate::summary::Parts;

/// The parts may leave at most this share of the extra time unexplained; beyond it the line
/// says so rather than forcing the split.
pub const TOLERANCE: f64 = 0.25;

/// A part is named when it holds at least this share of the extra time.
const SHOWN: f64 = 0.05;

/// One verdict's why.
#[derive(Debug, Clone, PartialEq)]
pub struct Why {
    /// The slower side's name.
    pub slower: String,
    /// Its extra wall time per repetition (mean), seconds; not positive when the means do not
    /// show what the paired medians do.
    pub extra_s: f64,
    /// Each part's seconds, in the order of [`Why::NAMES`].
    pub parts: [f64; 5],
    /// What the parts leave of `extra_s`.
    pub rest_s: f64,
    /// The slower side's mean task time over the other's, minus 1.
    pub task_slowdown: f64,
    /// The counter per task that differs most (at least 1.5x either way), slower over faster.
    pub counter: Option<(&'static str, f64)>,
}

impl Why {
    pub const NAMES: [&'static str; 5] = [
        "pool start",
        "dispatch and IPC",
        "slower tasks",
        "idle workers at the end",
        "shutdown",
    ];

    /// The split of `slower`'s extra time over `faster`'s (same work, same workers).
    pub fn of(slower: &str, s: &Parts, f: &Parts) -> Why {
        let extra_s = s.wall_s - f.wall_s;
        let parts = [
            s.start_s - f.start_s,
            s.ipc_s - f.ipc_s,
            s.tasks_s - f.tasks_s,
            s.idle_s - f.idle_s,
            s.shutdown_s - f.shutdown_s,
        ];
        let per_task = |p: &Parts, x: f64| x / p.tasks.max(1.0);
        let (ts, tf) = (per_task(s, s.tasks_s), per_task(f, f.tasks_s));
        let counter = (0..4)
            .filter_map(|i| {
                let (a, b) = (per_task(s, s.counters[i]), per_task(f, f.counters[i]));
                // Too few to compare: under ten a repetition on both sides.
                (a > 0.0 && b > 0.0 && s.counters[i].max(f.counters[i]) >= 10.0).then(|| (Parts::COUNTERS[i], a / b))
            })
            .filter(|(_, r)| !(1.0 / 1.5..1.5).contains(r))
            .max_by(|x, y| x.1.ln().abs().total_cmp(&y.1.ln().abs()));
        Why {
            slower: slower.to_string(),
            extra_s,
            parts,
            rest_s: extra_s - parts.iter().sum::<f64>(),
            task_slowdown: if tf > 0.0 { ts / tf - 1.0 } else { 0.0 },
            counter,
        }
    }

    /// Whether the parts explain the difference within [`TOLERANCE`].
    pub fn adds_up(&self) -> bool {
        self.extra_s > 0.0 && self.rest_s.abs() <= TOLERANCE * self.extra_s
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.extra_s;
        if e <= 0.0 {
            return write!(
                f,
                "why: {}'s mean wall time is not higher (the paired medians decide; outliers move the means), so it is not split",
                self.slower
            );
        }
        let share = |x: f64| x / e * 100.0;
        let mut named: Vec<(&str, f64)> = Why::NAMES
            .iter()
            .copied()
            .zip(self.parts)
            .filter(|(_, x)| share(*x).abs() >= SHOWN * 100.0)
            .collect();
        if self.adds_up() && share(self.rest_s).abs() >= SHOWN * 100.0 {
            named.push(("the rest", self.rest_s));
        }
        named.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        let parts: Vec<String> = named
            .iter()
            .map(|(n, x)| format!("{n} {} ({:.0} %)", time(*x), share(*x)))
            .collect();
        write!(f, "why: {} takes {} more a repetition", self.slower, time(e))?;
        if !parts.is_empty() {
            write!(f, ": {}", parts.join(", "))?;
        }
        if !self.adds_up() {
            write!(
                f,
                "; {} ({:.0} %) is not in these columns",
                time(self.rest_s),
                share(self.rest_s)
            )?;
        }
        let t = self.task_slowdown;
        if t.abs() < 0.03 {
            write!(f, "; its tasks run at the same speed")?;
        } else {
            let how = if t > 0.0 { "slower" } else { "faster" };
            write!(f, "; its tasks run {:.0} % {how}", t.abs() * 100.0)?;
        }
        if let Some((name, r)) = self.counter {
            write!(f, " ({name} {r:.1}x)")?;
        }
        Ok(())
    }
}

/// Seconds from 0.1 s up, milliseconds below.
fn time(x: f64) -> String {
    if x.abs() >= 0.1 {
        format!("{x:.3} s")
    } else {
        format!("{:.1} ms", x * 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(start: f64, ipc: f64, tasks: f64, idle: f64, rest: f64, minflt: f64) -> Parts {
        Parts {
            wall_s: start + ipc + tasks + idle + 0.01 + rest,
            start_s: start,
            task_phase_s: ipc + tasks + idle + rest,
            shutdown_s: 0.01,
            tasks_s: tasks,
            ipc_s: ipc,
            idle_s: idle,
            tasks: 100.0,
            counters: [minflt, 0.0, 50.0, 5.0],
        }
    }

    #[test]
    fn a_process_pool_that_pays_for_its_start_and_ipc() {
        let thread = parts(0.001, 0.0, 1.0, 0.002, 0.0, 1000.0);
        let process = parts(0.013, 0.004, 1.0, 0.002, 0.0, 1000.0);
        let w = Why::of("process", &process, &thread);
        assert!(w.adds_up());
        assert!(
            (w.parts.iter().sum::<f64>() + w.rest_s - w.extra_s).abs() < 1e-12,
            "the parts add up"
        );
        assert_eq!(
            w.to_string(),
            "why: process takes 16.0 ms more a repetition: pool start 12.0 ms (75 %), dispatch and IPC 4.0 ms (25 %); its tasks run at the same speed"
        );
    }

    #[test]
    fn threads_whose_tasks_run_slower_name_the_counter() {
        let process = parts(0.013, 0.004, 1.0, 0.0, 0.0, 1000.0);
        let thread = parts(0.001, 0.0, 1.14, 0.0, 0.0, 3100.0);
        let w = Why::of("thread", &thread, &process);
        assert!(w.adds_up());
        assert_eq!(w.counter, Some(("minor faults", 3.1)));
        let line = w.to_string();
        assert!(line.starts_with("why: thread takes 0.124 s more a repetition: slower tasks 0.140 s (113 %), pool start -12.0 ms (-10 %)"), "{line}");
        assert!(
            line.ends_with("; its tasks run 14 % slower (minor faults 3.1x)"),
            "{line}"
        );
    }

    #[test]
    fn a_split_that_does_not_add_up_says_so() {
        let a = parts(0.0, 0.0, 1.0, 0.0, 0.0, 0.0);
        let b = parts(0.0, 0.0, 1.0, 0.0, 0.3, 0.0);
        let w = Why::of("b", &b, &a);
        assert!(!w.adds_up());
        assert!(w.to_string().contains("0.300 s (100 %) is not in these columns"), "{w}");
        // Means that do not show the difference are not split.
        let w = Why::of("a", &a, &b);
        assert!(w.to_string().contains("is not higher"), "{w}");
    }
}
