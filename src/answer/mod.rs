//! The answer to the question `runner` exists for, stated first: per workload and setting, the
//! executors compared directly (which is faster, by how much, with an interval whose confidence
//! is stated, or "no clear winner"), the winner's price in CPU and memory, and the best
//! configuration overall. Computed from the cell summaries; the exporters print it.

mod across;
mod form;
pub mod kinds;
pub mod why;

use std::fmt::Write;

use crate::axis::{AxisDef, Kind, Role};
use crate::plan::{axes, Cell, Question};
use crate::stats::adaptive::Looks;
use crate::stats::{ratio_of_medians, Ratio};
use crate::summary::CellSummary;
pub use across::Across;
pub use form::Form;
pub use why::Why;

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
    /// The bound within which two pools count as equal (`equivalence`, a fraction).
    pub equivalence: f64,
    /// The ratio is the median of per-round ratios (paired rounds), not of two medians.
    pub paired: bool,
    /// Rounds where only one side was whole, left out of a paired ratio.
    pub dropped: usize,
    /// Rounds (repetitions, unpaired) the ratio rests on.
    pub rounds: usize,
    /// The looks a run that repeats until decided planned (1 otherwise): a look whose
    /// interval falls short of the stated confidence decides nothing.
    pub looks: usize,
    /// CPU seconds and memory (PSS peak) of the winner (or `a`) over the other.
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
    /// Failed or noisy repetitions behind it.
    pub caveats: Vec<String>,
    /// For a winner: where the slower side's extra time goes.
    pub why: Option<Why>,
    /// A verdict across runtimes (Python's interpreter, its GIL), and which kind; `None` for
    /// pools on one runtime.
    pub across: Option<Across>,
    /// The kind of machine both sides ran on, when rows of several kinds were merged
    /// ([`kinds`]); `None` on one kind.
    pub kind: Option<String>,
}

/// How verdicts are stated: the equivalence bound, and the looks a run that repeats until
/// decided plans (each look's interval aims at the level that keeps all of them together at
/// the stated confidence: [`Looks`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub equivalence: f64,
    pub looks: Looks,
    /// Which pairs of pools the answer states (`[answer]`).
    pub question: Question,
}

impl Bound {
    pub const DEFAULT: Bound = Bound {
        equivalence: crate::experiment::DEFAULT_EQUIVALENCE,
        looks: Looks::SINGLE,
        question: Question::Default,
    };
}

/// Every pair of cells that ran the same work with the same setting ([`Cell::setting`]) whose
/// pools the question asks about ([`Question::asks`]). By default, within a language every pair
/// of pools is compared; across languages only a pool with its mirror (thread with py-thread,
/// process with py-process): "Rust vs Python" for one design. Where the cells ran on several
/// runtimes (Python's interpreters, GIL settings), the verdicts across them follow
/// ([`across`]), those of the pools asked about.
pub fn verdicts(cells: &[CellSummary], bound: &Bound) -> Vec<Verdict> {
    let mut out = Vec::new();
    let side = |c: &CellSummary| c.cell.side(&|a| varies(cells, a));
    for (i, x) in cells.iter().enumerate() {
        for y in &cells[i + 1..] {
            // The side that comes first in the registries is `a`: thread before process,
            // whichever ran first.
            let (x, y) = if y.cell < x.cell { (y, x) } else { (x, y) };
            let (a, b) = (x.cell.executor, y.cell.executor);
            let same = x.cell.setting().matches(&y.cell.setting())
                && x.executor_name() != y.executor_name()
                && bound.question.asks(a, b);
            if same {
                let v = verdict(x, y, &setting(cells, x), [side(x), side(y)], bound);
                out.push(finish(v, x, y, bound));
            }
        }
    }
    let q = &bound.question;
    out.extend(
        across::verdicts(cells, bound)
            .into_iter()
            .filter(|v| q.is_default() || q.asks(v.a.executor, v.b.executor)),
    );
    out.sort_by_key(|v| GROUPS.iter().position(|g| *g == v.group()));
    out
}

/// A verdict's bound, form and, for a winner, why: from its ratio.
fn finish(mut v: Verdict, x: &CellSummary, y: &CellSummary, bound: &Bound) -> Verdict {
    v.equivalence = bound.equivalence;
    v.looks = bound.looks.count();
    v.winner = match v.form() {
        Some(Form::Faster(side)) => Some(side),
        _ => None,
    };
    v.why = v.winner.and_then(|w| {
        let (slow, fast, name) = match w {
            Side::A => (y, x, &v.b_name),
            Side::B => (x, y, &v.a_name),
        };
        Some(Why::of(name, &slow.stats.as_ref()?.parts, &fast.stats.as_ref()?.parts))
    });
    v
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
/// several of its values); then, when the cells ran on several runtimes, the one of this
/// verdict's (`on 3.13.5t (GIL off)`).
fn setting(cells: &[CellSummary], x: &CellSummary) -> String {
    let mut s = work_setting(cells, &x.cell);
    if across::runtimes_vary(cells) && x.cell.runtime().iter().next().is_some() {
        s += &format!(", on {}", across::label(cells, x));
    }
    s
}

/// The setting's workload, workers and work axes (what [`setting`] says before the runtime).
fn work_setting(cells: &[CellSummary], c: &Cell) -> String {
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

fn verdict(x: &CellSummary, y: &CellSummary, setting: &str, [a_name, b_name]: [String; 2], bound: &Bound) -> Verdict {
    let mut caveats = Vec::new();
    for c in [x, y] {
        if let Some(note) = c.failure_note() {
            caveats.push(format!("{}: {note}", c.executor_name()));
        }
        if let Some(st) = c.stats.as_ref().filter(|st| st.noisy_reps > 0) {
            caveats.push(format!("{}: {} noisy repetitions", c.executor_name(), st.noisy_reps));
        }
    }
    // One kind of machine on both sides: a cell pooled from two kinds compares with nothing.
    let comparable = x.hardware == y.hardware && x.hardware.len() <= 1;
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
        equivalence: 0.05,
        looks: 1,
        paired: false,
        dropped: 0,
        rounds: 0,
        cpu: None,
        memory: None,
        caveats,
        why: None,
        across: None,
        kind: None,
    };
    let (Some(sx), Some(sy), true) = (&x.stats, &y.stats, comparable) else {
        return v;
    };
    ratio(&mut v, [sx, sy], [&x.failed_rounds, &y.failed_rounds], &bound.looks);
    v.winner = v.ratio.and_then(|r| {
        if r.ci_low > 1.0 {
            Some(Side::A)
        } else if r.ci_high < 1.0 {
            Some(Side::B)
        } else {
            None
        }
    });
    // (`verdicts` restates the winner by the form: equal within the bound comes first.)
    let (w, l) = if v.winner == Some(Side::B) { (sy, sx) } else { (sx, sy) };
    let memory = |s: &crate::summary::CellStats| s.pss_peak_mib.unwrap_or(s.pss_mib);
    v.cpu = (l.cpu_s > 0.0).then(|| w.cpu_s / l.cpu_s);
    v.memory = (memory(l) > 0.0).then(|| memory(w) / memory(l));
    v
}

/// The throughput ratio of `a` over `b`: the median of per-round ratios with the sign test's
/// interval when both ran in paired rounds (only rounds where both are whole enter; a round
/// that one side ran but did not finish whole is dropped and counted, while a round one side
/// never ran, because its own comparisons were decided, is simply not a pair), else the ratio
/// of the two medians.
fn ratio(v: &mut Verdict, [a, b]: [&crate::summary::CellStats; 2], failed: [&[usize]; 2], looks: &Looks) {
    if a.rounds.is_empty() || b.rounds.is_empty() {
        v.ratio = ratio_of_medians(&a.tps, &b.tps);
        v.rounds = a.tps.len().min(b.tps.len());
        return;
    }
    let theirs: std::collections::HashMap<usize, f64> = b.rounds.iter().map(|(k, t, _)| (*k, *t)).collect();
    let ratios: Vec<f64> = a
        .rounds
        .iter()
        .filter_map(|(k, t, _)| theirs.get(k).map(|u| t / u))
        .collect();
    v.paired = true;
    v.rounds = ratios.len();
    let lone = |mine: &[(usize, f64, f64)], other_failed: &[usize]| {
        mine.iter().filter(|(k, _, _)| other_failed.contains(k)).count()
    };
    v.dropped = lone(&a.rounds, failed[1]) + lone(&b.rounds, failed[0]);
    if v.dropped > 0 {
        v.caveats
            .push(format!("{} rounds dropped: a side was not whole", v.dropped));
    }
    v.ratio = crate::stats::adaptive::at_look(&ratios, looks);
}

/// The groups the answer is read in, in order.
const GROUPS: [&str; 7] = [
    "Rust's pools",
    "Python's pools",
    "Rust vs Python, each pool with its mirror",
    "Rust vs Python, across designs",
    "Across interpreters and GIL settings: the same pool",
    "Across interpreters and GIL settings: each one's best pool",
    "Across interpreters and GIL settings: one thread (py-sequential), the build's own price",
];

impl Verdict {
    /// Which of [`GROUPS`] it belongs to.
    pub fn group(&self) -> &'static str {
        match (self.across, self.a.executor.is_python(), self.b.executor.is_python()) {
            (Some(Across::SamePool), ..) => GROUPS[4],
            (Some(Across::Best { .. }), ..) => GROUPS[5],
            (Some(Across::Loop), ..) => GROUPS[6],
            (None, false, false) => GROUPS[0],
            (None, true, true) => GROUPS[1],
            _ if self.a.executor.mirror() == Some(self.b.executor)
                || self.b.executor.mirror() == Some(self.a.executor) =>
            {
                GROUPS[2]
            }
            // Only a question the file asks (`[answer]`) pairs a pool with another's mirror.
            _ => GROUPS[3],
        }
    }

    /// One line, in one of three forms whose words scripts read: `thread faster than process
    /// (1.12x [1.07, 1.18] at >= 95.0 %)`, `thread ≈ process (within ±5 %: 1.01x [0.97, 1.04] at
    /// >= 95.0 %)`, or `undecided within ±5 %: no difference beyond ±9 % (1.01x [0.92, 1.09] at
    /// >= 95.0 %); about 12 more rounds would settle it`; then the winner's price.
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
        let unpaired = if self.paired { "" } else { ", unpaired" };
        let interval = |r: Ratio| {
            format!(
                "{:.2}x [{:.2}, {:.2}] at >= {:.1} %{unpaired}",
                r.value,
                r.ci_low,
                r.ci_high,
                r.confidence * 100.0
            )
        };
        let pct = |x: f64| format!("±{:.0} %", x * 100.0);
        let (head, who) = match self.form() {
            Some(Form::Faster(Side::A)) | None => (format!("{a} faster than {b} ({})", interval(r)), a),
            Some(Form::Equal) => (
                format!("{a} ≈ {b} (within {}: {})", pct(self.equivalence), interval(r)),
                a,
            ),
            Some(Form::Undecided { beyond, more }) => {
                let more = more.map_or("many more rounds would be needed to settle it".to_string(), |n| {
                    format!("about {n} more rounds would settle it")
                });
                (
                    format!(
                        "{a} vs {b}: undecided within {}: no difference beyond {} ({}); {more}",
                        pct(self.equivalence),
                        pct(beyond),
                        interval(r)
                    ),
                    a,
                )
            }
            Some(Form::Faster(Side::B)) => {
                let flipped = Ratio {
                    value: 1.0 / r.value,
                    ci_low: 1.0 / r.ci_high,
                    ci_high: 1.0 / r.ci_low,
                    confidence: r.confidence,
                };
                (format!("{b} faster than {a} ({})", interval(flipped)), b)
            }
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
        for x in v.iter().filter(|x| x.group() == *g) {
            let _ = writeln!(s, "{indent}- {}", x.line());
            if let Some(why) = &x.why {
                let _ = writeln!(s, "{indent}  - {why}");
            }
        }
    }
    for line in best {
        let _ = writeln!(s, "- best, {line}");
    }
    s
}

#[cfg(test)]
mod tests;
