//! The answer to the question `runner` exists for, stated first: per workload and setting, the
//! executors compared directly (which is faster, by how much, with an interval whose confidence
//! is stated, or "no clear winner"), the winner's price in CPU and memory, and the best
//! configuration overall. Computed from the cell summaries; the exporters print it.

use std::fmt::Write;

use crate::plan::{axes, Cell};
use crate::spec::{AxisDef, Kind, Role};
use crate::stats::{paired_ratio, ratio_of_medians, Ratio};
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
}

/// Every pair of non-sequential cells that ran the same work with the same setting ([`Cell::setting`]).
/// Within a language every pair of pools is compared; across languages only a pool with its
/// mirror (thread with py-thread, process with py-process): "Rust vs Python" for one design.
/// How verdicts are stated: the equivalence bound, and the looks a run that repeats until
/// decided plans (each look's interval aims at 1 - α/looks, so the stated one holds at 1 - α).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    pub equivalence: f64,
    pub looks: usize,
}

impl Bound {
    pub const DEFAULT: Bound = Bound {
        equivalence: crate::experiment::DEFAULT_EQUIVALENCE,
        looks: 1,
    };
}

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
                && !a.is_sequential()
                && !b.is_sequential()
                && (a.is_python() == b.is_python() || a.mirror() == Some(b));
            if same {
                let mut v = verdict(x, y, &setting(cells, &x.cell), [side(x), side(y)], bound);
                v.equivalence = bound.equivalence;
                v.looks = bound.looks;
                v.winner = match v.form() {
                    Some(Form::Faster(side)) => Some(side),
                    _ => None,
                };
                out.push(v);
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
        equivalence: 0.05,
        looks: 1,
        paired: false,
        dropped: 0,
        rounds: 0,
        cpu: None,
        memory: None,
        caveats,
    };
    let (Some(sx), Some(sy), true) = (&x.stats, &y.stats, comparable) else {
        return v;
    };
    ratio(&mut v, sx, sy, bound.looks);
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
/// interval when both ran in paired rounds (only rounds where both are whole enter), else the
/// ratio of the two medians.
fn ratio(v: &mut Verdict, a: &crate::summary::CellStats, b: &crate::summary::CellStats, looks: usize) {
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
    v.dropped = a.rounds.len() + b.rounds.len() - 2 * ratios.len();
    if v.dropped > 0 {
        v.caveats
            .push(format!("{} rounds dropped: a side was not whole", v.dropped));
    }
    let target = crate::stats::adaptive::look_target(crate::stats::TARGET, looks);
    v.ratio = paired_ratio(&ratios, target).map(|r| Ratio {
        confidence: crate::stats::adaptive::overall(r.confidence, looks),
        ..r
    });
}

/// What a verdict says: a winner, equal within the bound, or undecided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Form {
    Faster(Side),
    /// The whole interval lies within [1 - e, 1 + e].
    Equal,
    /// Neither: no difference beyond `beyond` (a fraction) is ruled out; about `more` rounds
    /// would settle it, from the spread seen so far.
    Undecided {
        beyond: f64,
        more: Option<usize>,
    },
}

impl Verdict {
    /// Equal when the whole interval lies within 1 ± e (a real but smaller difference is
    /// equal for the user's purpose), else faster when it excludes 1, else undecided. In a run
    /// that repeats until decided, an interval short of the stated confidence decides nothing.
    pub fn form(&self) -> Option<Form> {
        let r = self.ratio?;
        let e = self.equivalence;
        let undecided = Form::Undecided {
            beyond: (1.0 - r.ci_low).max(r.ci_high - 1.0),
            more: more_rounds(r, e, self.rounds),
        };
        Some(if self.looks > 1 && r.confidence < crate::stats::TARGET - 1e-9 {
            undecided
        } else if r.ci_low >= 1.0 - e && r.ci_high <= 1.0 + e {
            Form::Equal
        } else if r.ci_low > 1.0 {
            Form::Faster(Side::A)
        } else if r.ci_high < 1.0 {
            Form::Faster(Side::B)
        } else {
            undecided
        })
    }
}

/// Rounds still needed to settle an undecided verdict, from its spread: an interval's width
/// shrinks as 1/sqrt(n), and it settles once its half-width is below the distance to 1 (a
/// winner) or to the bound (equal), whichever is nearer.
fn more_rounds(r: Ratio, e: f64, n: usize) -> Option<usize> {
    let half = (r.ci_high - r.ci_low) / 2.0;
    let off = (r.value - 1.0).abs();
    let target = off.max(e - off);
    if n == 0 || target <= 1e-9 || half <= 0.0 {
        return None;
    }
    let total = (n as f64 * (half / target).powi(2)).ceil() as usize;
    Some(total.saturating_sub(n).max(1))
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
        verdicts(&summarize(&all), &Bound::DEFAULT)
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
    fn within_the_bound_is_equal_and_a_wide_interval_undecided() {
        let v = answer(&SIX, &SIX, &[]);
        assert_eq!(v[0].winner, None);
        assert_eq!(v[0].form(), Some(Form::Equal));
        let line = v[0].line();
        assert!(line.contains("thread ≈ process (within ±5 %: 1.00x ["), "{line}");
        assert!(line.contains(", unpaired)"), "order cells: {line}");
        // Spread wider than the bound on both sides of 1: undecided, with what it rules out.
        let wide = [1.0, 1.2, 0.85, 1.1, 0.9, 1.0];
        let v = answer(&SIX, &wide, &[]);
        let Some(Form::Undecided { beyond, more }) = v[0].form() else {
            panic!("{:?}", v[0].form());
        };
        assert!(beyond > 0.05 && more.is_some_and(|n| n > 0), "{beyond} {more:?}");
        let line = v[0].line();
        assert!(
            line.contains("thread vs process: undecided within ±5 %: no difference beyond ±"),
            "{line}"
        );
        assert!(line.contains("more rounds would settle it"), "{line}");
    }

    #[test]
    fn paired_rounds_give_the_median_of_per_round_ratios() {
        // Round k slows both sides alike; thread is 1.2x faster in every round.
        let drift = [1.0, 1.4, 0.9, 1.3, 1.1, 0.95];
        let mut all = Vec::new();
        for (e, f) in [("thread", 1.0), ("process", 1.2)] {
            let c = cell(ExecutorKind::named(e).unwrap(), 2);
            for (k, d) in drift.iter().enumerate() {
                let mut r = row(&c, k, d * f, None);
                r.round = Some(k);
                all.push(r);
            }
        }
        let v = verdicts(&summarize(&all), &Bound::DEFAULT);
        let r = v[0].ratio.unwrap();
        assert!(
            v[0].paired && (r.value - 1.2).abs() < 1e-3 && r.ci_high - r.ci_low < 1e-2,
            "{r:?}"
        );
        assert_eq!(v[0].winner, Some(Side::A));
        assert!(!v[0].line().contains("unpaired"), "{}", v[0].line());
        // Unpaired, the drift hides it.
        let unpaired: Vec<RunRow> = all
            .iter()
            .cloned()
            .map(|mut r| {
                r.round = None;
                r
            })
            .collect();
        let u = verdicts(&summarize(&unpaired), &Bound::DEFAULT);
        assert_eq!(u[0].winner, None, "{:?}", u[0].ratio);
        // A round where one side failed is dropped, and named.
        all[1].error = Some("a crash".into());
        let v = verdicts(&summarize(&all), &Bound::DEFAULT);
        assert_eq!((v[0].rounds, v[0].dropped), (5, 1));
        assert!(v[0].line().contains("1 rounds dropped"), "{}", v[0].line());
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
        let v = verdicts(&summarize(&all), &Bound::DEFAULT);
        assert!(v[0].line().contains("process: 1 noisy repetitions"), "{}", v[0].line());
    }

    #[test]
    fn sequential_is_not_a_side() {
        let mut all = rows(ExecutorKind::named("sequential").unwrap(), &SIX, &[]);
        all.extend(rows(ExecutorKind::named("thread").unwrap(), &SIX, &[]));
        assert!(verdicts(&summarize(&all), &Bound::DEFAULT).is_empty());
        assert_eq!(best(&summarize(&all)).len(), 1);
    }
}
