//! The answer to the question `runner` exists for, stated first: per workload and setting, the
//! executors compared directly (which is faster, by how much, with an interval whose confidence
//! is stated, or "no clear winner"), the winner's price in CPU and memory, and the best
//! configuration overall. Computed from the cell summaries; the exporters print it.

use std::fmt::Write;

use crate::plan::{ExecutorKind, Format, Pinning};
use crate::stats::{ratio_of_medians, Ratio};
use crate::summary::CellSummary;

/// Two executors compared on the same work and setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// "resize, 2 workers" (and the intra-op threads where the workload has a model).
    pub setting: String,
    pub a: ExecutorKind,
    pub b: ExecutorKind,
    /// How each side is named: the executor, with processes x threads for hybrid.
    pub a_name: String,
    pub b_name: String,
    /// Throughput of `a` over `b`; `None` when either has no whole repetition.
    pub ratio: Option<Ratio>,
    /// The faster one when the interval excludes 1.
    pub winner: Option<ExecutorKind>,
    /// CPU seconds and memory (PSS peak) of the winner (or `a`) over the other.
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
    /// Failed or noisy repetitions behind it.
    pub caveats: Vec<String>,
}

/// Every pair of non-sequential executors that ran the same work with the same setting.
pub fn verdicts(cells: &[CellSummary]) -> Vec<Verdict> {
    let mut models: Vec<&str> = cells.iter().filter_map(|c| c.model.as_deref()).collect();
    models.dedup();
    let name_models = models.iter().any(|m| *m != models[0]);
    let mut out = Vec::new();
    for (i, x) in cells.iter().enumerate() {
        for y in &cells[i + 1..] {
            let same = x.workload == y.workload
                && x.workers == y.workers
                && x.intra_op_threads == y.intra_op_threads
                && x.pinning == y.pinning
                && x.format == y.format
                && x.model == y.model
                && x.sets == y.sets
                // Different executors, or one executor in two shapes (hybrid 2x1 and 1x2) or
                // start methods (py-process fork and spawn).
                && x.executor_name() != y.executor_name()
                && !x.executor.is_sequential()
                && !y.executor.is_sequential()
                && comparable_across_languages(x.executor, y.executor);
            if same {
                out.push(verdict(x, y, name_models));
            }
        }
    }
    out.sort_by_key(|v| GROUPS.iter().position(|g| *g == v.group()));
    out
}

/// `name_model`: the experiment compares models, so the setting names the cell's.
/// Within a language every pair of pools is compared; across languages only a pool with its
/// mirror (thread with py-thread, process with py-process): "Rust vs Python" for one design.
fn comparable_across_languages(a: ExecutorKind, b: ExecutorKind) -> bool {
    use ExecutorKind::*;
    a.is_python() == b.is_python()
        || matches!(
            (a, b),
            (Thread, PyThread) | (PyThread, Thread) | (Process, PyProcess) | (PyProcess, Process)
        )
}

fn verdict(x: &CellSummary, y: &CellSummary, name_model: bool) -> Verdict {
    let mut setting = format!(
        "{}, {} worker{}",
        x.workload,
        x.workers,
        if x.workers == 1 { "" } else { "s" }
    );
    if let Some(t) = x.intra_op_threads.filter(|&t| t > 1) {
        setting += &format!(" x {t} intra-op threads");
    }
    if x.pinning == Pinning::Cores {
        setting += ", pinned";
    }
    if let Some(f) = x.format.filter(|&f| f != Format::Jpeg) {
        setting += &format!(", {f}");
    }
    if let Some(m) = x.model.as_deref().filter(|_| name_model) {
        setting += &format!(", {m}");
    }
    let mut caveats = Vec::new();
    for c in [x, y] {
        if let Some(note) = c.failure_note() {
            caveats.push(format!("{}: {note}", c.executor_name()));
        }
        if let Some(st) = c.stats.as_ref().filter(|st| st.noisy_reps > 0) {
            caveats.push(format!("{}: {} noisy repetitions", c.executor_name(), st.noisy_reps));
        }
    }
    if x.hardware != y.hardware {
        caveats.push("measured on different hardware: not compared".into());
    }
    let comparable = x.hardware == y.hardware;
    let (Some(sx), Some(sy), true) = (&x.stats, &y.stats, comparable) else {
        return Verdict {
            setting,
            a: x.executor,
            b: y.executor,
            a_name: x.executor_name(),
            b_name: y.executor_name(),
            ratio: None,
            winner: None,
            cpu: None,
            memory: None,
            caveats,
        };
    };
    let ratio = ratio_of_medians(&sx.tps, &sy.tps);
    let winner = ratio.and_then(|r| {
        if r.ci_low > 1.0 {
            Some(x.executor)
        } else if r.ci_high < 1.0 {
            Some(y.executor)
        } else {
            None
        }
    });
    let b_wins = ratio.is_some_and(|r| r.ci_high < 1.0);
    let (w, l) = if b_wins { (sy, sx) } else { (sx, sy) };
    let memory = |s: &crate::summary::CellStats| s.pss_peak_mib.unwrap_or(s.pss_mib);
    Verdict {
        setting,
        a: x.executor,
        b: y.executor,
        a_name: x.executor_name(),
        b_name: y.executor_name(),
        ratio,
        winner,
        cpu: (l.cpu_s > 0.0).then(|| w.cpu_s / l.cpu_s),
        memory: (memory(l) > 0.0).then(|| memory(w) / memory(l)),
        caveats,
    }
}

/// The groups the answer is read in, in order.
const GROUPS: [&str; 3] = [
    "Rust's pools",
    "Python's pools",
    "Rust vs Python, each pool with its mirror",
];

impl Verdict {
    /// Which of [`GROUPS`] it belongs to.
    pub fn group(&self) -> &'static str {
        match (self.a.is_python(), self.b.is_python()) {
            (false, false) => GROUPS[0],
            (true, true) => GROUPS[1],
            _ => GROUPS[2],
        }
    }

    /// One line: `resize, 2 workers: thread ≈ process (1.04x [0.97, 1.10] at >= 93.8 %, no clear
    /// winner); thread uses 0.9x the CPU and 0.4x the memory`.
    pub fn line(&self) -> String {
        let (a, b) = (&self.a_name, &self.b_name);
        let Some(r) = self.ratio else {
            return format!(
                "{}: {} vs {}: no verdict, a side has no whole repetition ({})",
                self.setting,
                a,
                b,
                self.caveats.join("; ")
            );
        };
        let interval = |r: Ratio| {
            format!(
                "{:.2}x [{:.2}, {:.2}] at >= {:.1} %",
                r.value,
                r.ci_low,
                r.ci_high,
                r.confidence * 100.0
            )
        };
        let (head, who) = match self.winner {
            Some(_) if r.ci_low > 1.0 => (format!("{a} faster than {b} ({})", interval(r)), a),
            Some(w) => {
                let flipped = Ratio {
                    value: 1.0 / r.value,
                    ci_low: 1.0 / r.ci_high,
                    ci_high: 1.0 / r.ci_low,
                    confidence: r.confidence,
                };
                let _ = w;
                (format!("{b} faster than {a} ({})", interval(flipped)), b)
            }
            None => (format!("{a} ≈ {b} ({}, no clear winner)", interval(r)), a),
        };
        let mut s = format!("{}: {head}", self.setting);
        let mut price = Vec::new();
        if let Some(c) = self.cpu {
            price.push(format!("{c:.1}x the CPU"));
        }
        if let Some(m) = self.memory {
            price.push(format!("{m:.1}x the memory"));
        }
        if !price.is_empty() {
            let other = if who == a { b } else { a };
            let _ = write!(s, "; {who} uses {} of {other}", price.join(" and "));
        }
        if !self.caveats.is_empty() {
            let _ = write!(s, " [{}]", self.caveats.join("; "));
        }
        s
    }
}

/// Per workload, the cell with the highest median throughput, and the one with the highest
/// throughput per GiB of memory (PSS peak).
pub fn best(cells: &[CellSummary]) -> Vec<String> {
    let mut workloads = Vec::new();
    for c in cells {
        if !workloads.contains(&c.workload) {
            workloads.push(c.workload);
        }
    }
    let mut out = Vec::new();
    for w in workloads {
        let measured: Vec<(&CellSummary, f64, f64)> = cells
            .iter()
            .filter(|c| c.workload == w)
            .filter_map(|c| {
                let st = c.stats.as_ref()?;
                let gib = st.pss_peak_mib.unwrap_or(st.pss_mib) / 1024.0;
                Some((c, st.throughput_tps.median, st.throughput_tps.median / gib.max(1e-9)))
            })
            .collect();
        let top = |key: &dyn Fn(&(&CellSummary, f64, f64)) -> f64| {
            measured
                .iter()
                .max_by(|a, b| key(a).total_cmp(&key(b)))
                .map(|t| t.0.cell.clone())
        };
        if let (Some(fast), Some(lean)) = (top(&|t| t.1), top(&|t| t.2)) {
            out.push(format!("{w}: fastest {fast}; most throughput per GiB {lean}"));
        }
    }
    out
}

/// "The answer" as text: the verdict lines (grouped by language when both ran), then the best
/// configurations.
pub fn text(cells: &[CellSummary]) -> String {
    let v = verdicts(cells);
    let mut s = String::new();
    let present: Vec<&str> = GROUPS
        .into_iter()
        .filter(|g| v.iter().any(|x| x.group() == *g))
        .collect();
    for g in &present {
        let indent = if present.len() > 1 {
            let _ = writeln!(s, "- {g}:");
            "  "
        } else {
            ""
        };
        for line in v.iter().filter(|x| x.group() == *g).map(Verdict::line) {
            let _ = writeln!(s, "{indent}- {line}");
        }
    }
    for line in best(cells) {
        let _ = writeln!(s, "- best, {line}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RunRow;
    use crate::summary::summarize;
    use crate::summary::tests::{cell, row};

    const SIX: [f64; 6] = [1.0, 1.01, 0.99, 1.02, 0.98, 1.0];

    fn rows(executor: ExecutorKind, walls: &[f64], errors: &[Option<&str>]) -> Vec<RunRow> {
        let c = cell(executor, 2);
        walls
            .iter()
            .enumerate()
            .map(|(i, w)| row(&c, i, *w, errors.get(i).copied().flatten()))
            .collect()
    }

    fn answer(thread: &[f64], process: &[f64], process_errors: &[Option<&str>]) -> Vec<Verdict> {
        let mut all = rows(ExecutorKind::Thread, thread, &[]);
        all.extend(rows(ExecutorKind::Process, process, process_errors));
        verdicts(&summarize(&all))
    }

    #[test]
    fn a_clear_winner_is_named_with_its_ratio() {
        let v = answer(&SIX, &SIX.map(|w| w * 1.3), &[]);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].winner, Some(ExecutorKind::Thread));
        let line = v[0].line();
        assert!(
            line.starts_with("spin, 2 workers: thread faster than process (1.30x ["),
            "{line}"
        );
        // The process cell faster: the line names it, with the ratio turned its way.
        let v = answer(&SIX.map(|w| w * 1.3), &SIX, &[]);
        assert_eq!(v[0].winner, Some(ExecutorKind::Process));
        assert!(
            v[0].line().contains("process faster than thread (1.30x ["),
            "{}",
            v[0].line()
        );
    }

    #[test]
    fn within_noise_is_no_clear_winner() {
        let v = answer(&SIX, &SIX.map(|w| w * 1.01), &[]);
        assert_eq!(v[0].winner, None);
        assert!(v[0].line().contains("thread ≈ process") && v[0].line().contains("no clear winner"));
    }

    #[test]
    fn failed_repetitions_are_named_and_a_side_with_none_gets_no_verdict() {
        let errors = [
            Some("task 1 timed out after 1.000 s; the repetition was stopped"),
            None,
            None,
            None,
            None,
            None,
        ];
        let v = answer(&SIX, &SIX.map(|w| w * 1.3), &errors);
        assert!(
            v[0].line().contains("process: 1 of 6 repetitions failed: timeout"),
            "{}",
            v[0].line()
        );
        let all_failed = [Some("interrupted"); 6];
        let v = answer(&SIX, &SIX, &all_failed);
        assert_eq!(v[0].ratio, None);
        assert!(v[0].line().contains("no verdict"), "{}", v[0].line());
    }

    #[test]
    fn noisy_repetitions_are_named() {
        let mut all = rows(ExecutorKind::Thread, &SIX, &[]);
        all.extend(rows(ExecutorKind::Process, &SIX.map(|w| w * 1.3), &[]));
        all[7].noisy = true;
        let v = verdicts(&summarize(&all));
        assert!(v[0].line().contains("process: 1 noisy repetitions"), "{}", v[0].line());
    }

    #[test]
    fn sequential_is_not_a_side() {
        let mut all = rows(ExecutorKind::Sequential, &SIX, &[]);
        all.extend(rows(ExecutorKind::Thread, &SIX, &[]));
        assert!(verdicts(&summarize(&all)).is_empty());
        assert_eq!(best(&summarize(&all)).len(), 1);
    }
}
