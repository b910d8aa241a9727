//! The answer to the question `runner` exists for, stated first: per workload and setting, the
//! executors compared directly (which is faster, by how much, with an interval whose confidence
//! is stated, or "no clear winner"), the winner's price in CPU and memory, and the best
//! configuration overall. Computed from the cell summaries; the exporters print it.

use std::fmt::Write;

use crate::plan::{axes, Cell};
use crate::spec::{AxisDef, Kind, Role};
use crate::stats::{ratio_of_medians, Ratio};
use crate::summary::CellSummary;

/// Which side of a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

/// Two cells compared on the same work and setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// "resize, 2 workers" (and the intra-op threads where the workload has a model).
    pub setting: String,
    pub a: Cell,
    pub b: Cell,
    /// How each side is named: the executor, with processes x threads for hybrid and how its
    /// pool starts for Python's process pool.
    pub a_name: String,
    pub b_name: String,
    /// Throughput of `a` over `b`; `None` when either has no whole repetition.
    pub ratio: Option<Ratio>,
    /// The faster side when the interval excludes 1.
    pub winner: Option<Side>,
    /// CPU seconds and memory (PSS peak) of the winner (or `a`) over the other.
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
    /// Failed or noisy repetitions behind it.
    pub caveats: Vec<String>,
}

/// Every pair of non-sequential cells that ran the same work with the same setting ([`Cell::setting`]).
/// Within a language every pair of pools is compared; across languages only a pool with its
/// mirror (thread with py-thread, process with py-process): "Rust vs Python" for one design.
pub fn verdicts(cells: &[CellSummary]) -> Vec<Verdict> {
    let mut out = Vec::new();
    let side = |c: &CellSummary| c.cell.side(&|a| varies(cells, a));
    for (i, x) in cells.iter().enumerate() {
        for y in &cells[i + 1..] {
            let (a, b) = (x.cell.executor, y.cell.executor);
            let same = x.cell.setting().matches(&y.cell.setting())
                && x.executor_name() != y.executor_name()
                && !a.is_sequential()
                && !b.is_sequential()
                && (a.is_python() == b.is_python() || a.mirror() == Some(b));
            if same {
                out.push(verdict(x, y, &setting(cells, &x.cell), [side(x), side(y)]));
            }
        }
    }
    out.sort_by_key(|v| GROUPS.iter().position(|g| *g == v.group()));
    out
}

/// Whether the cells hold more than one value of `axis`.
fn varies(cells: &[CellSummary], axis: &AxisDef) -> bool {
    let first = cells.iter().find_map(|o| axis.of(&o.cell.values));
    cells
        .iter()
        .any(|o| axis.of(&o.cell.values).is_some_and(|w| Some(w) != first))
}

/// "classify, 2 workers x 2 intra-op threads, pinned, png": the workload, the workers and every
/// work axis that says something (a listed one, such as the model, only when the cells hold
/// several of its values).
fn setting(cells: &[CellSummary], c: &Cell) -> String {
    let workers = c.workers();
    let plural = if workers == 1 { "" } else { "s" };
    let mut s = format!("{}, {workers} worker{plural}", c.workload);
    for axis in axes::ALL.iter().filter(|a| a.role == Role::Work) {
        let Some(v) = axis.of(&c.values) else { continue };
        if matches!(axis.kind, Kind::Paths { .. }) && !varies(cells, axis) {
            continue;
        }
        if let Some(part) = (axis.setting)(v) {
            s += &part;
        }
    }
    s
}

fn verdict(x: &CellSummary, y: &CellSummary, setting: &str, [a_name, b_name]: [String; 2]) -> Verdict {
    let mut caveats = Vec::new();
    for c in [x, y] {
        if let Some(note) = c.failure_note() {
            caveats.push(format!("{}: {note}", c.executor_name()));
        }
        if let Some(st) = c.stats.as_ref().filter(|st| st.noisy_reps > 0) {
            caveats.push(format!("{}: {} noisy repetitions", c.executor_name(), st.noisy_reps));
        }
    }
    let comparable = x.hardware == y.hardware;
    if !comparable {
        caveats.push("measured on different hardware: not compared".into());
    }
    let mut v = Verdict {
        setting: setting.to_string(),
        a: x.cell,
        b: y.cell,
        a_name,
        b_name,
        ratio: None,
        winner: None,
        cpu: None,
        memory: None,
        caveats,
    };
    let (Some(sx), Some(sy), true) = (&x.stats, &y.stats, comparable) else {
        return v;
    };
    v.ratio = ratio_of_medians(&sx.tps, &sy.tps);
    v.winner = v.ratio.and_then(|r| {
        if r.ci_low > 1.0 {
            Some(Side::A)
        } else if r.ci_high < 1.0 {
            Some(Side::B)
        } else {
            None
        }
    });
    let (w, l) = if v.winner == Some(Side::B) { (sy, sx) } else { (sx, sy) };
    let memory = |s: &crate::summary::CellStats| s.pss_peak_mib.unwrap_or(s.pss_mib);
    v.cpu = (l.cpu_s > 0.0).then(|| w.cpu_s / l.cpu_s);
    v.memory = (memory(l) > 0.0).then(|| memory(w) / memory(l));
    v
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
        match (self.a.executor.is_python(), self.b.executor.is_python()) {
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
            Some(Side::A) => (format!("{a} faster than {b} ({})", interval(r)), a),
            Some(Side::B) => {
                let flipped = Ratio {
                    value: 1.0 / r.value,
                    ci_low: 1.0 / r.ci_high,
                    ci_high: 1.0 / r.ci_low,
                    confidence: r.confidence,
                };
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
        if !workloads.contains(&c.cell.workload) {
            workloads.push(c.cell.workload);
        }
    }
    let mut out = Vec::new();
    for w in workloads {
        let measured: Vec<(&CellSummary, f64, f64)> = cells
            .iter()
            .filter(|c| c.cell.workload == w)
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
                .map(|t| t.0.id.clone())
        };
        if let (Some(fast), Some(lean)) = (top(&|t| t.1), top(&|t| t.2)) {
            out.push(format!("{w}: fastest {fast}; most throughput per GiB {lean}"));
        }
    }
    out
}

/// "The answer" as text: the verdict lines (grouped by language when both ran), then the best
/// configurations.
pub fn text(v: &[Verdict], best: &[String]) -> String {
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
    for line in best {
        let _ = writeln!(s, "- best, {line}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::ExecutorKind;
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
        let mut all = rows(ExecutorKind::named("thread").unwrap(), thread, &[]);
        all.extend(rows(ExecutorKind::named("process").unwrap(), process, process_errors));
        verdicts(&summarize(&all))
    }

    #[test]
    fn a_clear_winner_is_named_with_its_ratio() {
        let v = answer(&SIX, &SIX.map(|w| w * 1.3), &[]);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].winner, Some(Side::A));
        let line = v[0].line();
        assert!(
            line.starts_with("spin, 2 workers: thread faster than process (1.30x ["),
            "{line}"
        );
        // The process cell faster: the line names it, with the ratio turned its way.
        let v = answer(&SIX.map(|w| w * 1.3), &SIX, &[]);
        assert_eq!(v[0].winner, Some(Side::B));
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
        let mut all = rows(ExecutorKind::named("thread").unwrap(), &SIX, &[]);
        all.extend(rows(
            ExecutorKind::named("process").unwrap(),
            &SIX.map(|w| w * 1.3),
            &[],
        ));
        all[7].noisy = true;
        let v = verdicts(&summarize(&all));
        assert!(v[0].line().contains("process: 1 noisy repetitions"), "{}", v[0].line());
    }

    #[test]
    fn sequential_is_not_a_side() {
        let mut all = rows(ExecutorKind::named("sequential").unwrap(), &SIX, &[]);
        all.extend(rows(ExecutorKind::named("thread").unwrap(), &SIX, &[]));
        assert!(verdicts(&summarize(&all)).is_empty());
        assert_eq!(best(&summarize(&all)).len(), 1);
    }
}
