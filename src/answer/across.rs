//! Verdicts across what runs the work: Python's interpreters and GIL settings (the runtime
//! axes). Where the Python cells ran on more than one runtime, for each work and worker count:
//! the same pool on each pair of runtimes (`py-thread on 3.13.5t (GIL off)` against
//! `py-thread on 3.13.5 (GIL)`), the loop on each pair (at one worker: what the build costs a
//! single thread), and each runtime's best pool against each other runtime's best.
//!
//! The same-pool and loop verdicts are planned comparisons, stated as every verdict is. The
//! best pools are chosen by the data (the highest median throughput), so that verdict's
//! interval is taken at a level at which every pair it could have chosen holds at once
//! (Bonferroni over them: two pools a side are 4 pairs, each at 98.75 % for 95 % together), and
//! it states that joint confidence, which holds whichever pair the data picked.

use super::{finish, varies, verdict, work_setting, Bound, Verdict};
use crate::axis::Value;
use crate::plan::Cell;
use crate::pools::axes::{GIL, PYTHON};
use crate::stats::TARGET;
use crate::summary::CellSummary;

/// Which kind of verdict across runtimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Across {
    /// One pool on two runtimes.
    SamePool,
    /// The loop (py-sequential) on two runtimes: the build's own price on one thread.
    Loop,
    /// Each side is its runtime's best pool, chosen among `candidates` pairs.
    Best { candidates: usize },
}

/// Whether the Python cells ran on more than one runtime (interpreter, GIL setting).
pub(super) fn runtimes_vary(cells: &[CellSummary]) -> bool {
    let mut runtimes = python(cells).map(|c| c.cell.runtime());
    let first = runtimes.next();
    runtimes.any(|r| Some(r) != first)
}

fn python(cells: &[CellSummary]) -> impl Iterator<Item = &CellSummary> {
    cells.iter().filter(|c| c.cell.executor.is_python())
}

/// How a verdict names a cell's runtime: its version, build and GIL as its workers read them
/// (`3.13.5t (GIL off)`), with the interpreter's path and `gil` setting added where two runtimes
/// read alike; the path and setting alone where no worker reported.
pub(super) fn label(cells: &[CellSummary], x: &CellSummary) -> String {
    let of = |c: &CellSummary| c.runtime.clone().unwrap_or_else(|| asked(&c.cell));
    let mine = of(x);
    let clash = python(cells).any(|c| c.cell.runtime() != x.cell.runtime() && of(c) == mine);
    if clash && x.runtime.is_some() {
        format!("{mine}, {}", asked(&x.cell))
    } else {
        mine
    }
}

/// The runtime as the file asked for it: the interpreter's path and the `gil` setting.
fn asked(c: &Cell) -> String {
    let interpreter = PYTHON.of(&c.values).map(Value::text).unwrap_or_default();
    match GIL.of(&c.values) {
        Some(Value::Word(w)) if w != "default" => format!("{interpreter}, gil {w}"),
        _ => interpreter,
    }
}

/// The cell with its runtime taken out: the pool, as two runtimes share it.
fn pool_of(c: &Cell) -> Cell {
    let mut values = c.values;
    let runtime = c.runtime();
    values.retain(|a| runtime.get(a).is_none());
    Cell { values, ..*c }
}

/// Every verdict across runtimes, in the cells' order.
pub(super) fn verdicts(cells: &[CellSummary], bound: &Bound) -> Vec<Verdict> {
    if !runtimes_vary(cells) {
        return Vec::new();
    }
    let py: Vec<&CellSummary> = python(cells).collect();
    let mut out = Vec::new();
    for (i, x) in py.iter().enumerate() {
        for y in &py[i + 1..] {
            let apart = x.cell.setting().across(&y.cell.setting()) && x.cell.runtime() != y.cell.runtime();
            if apart && pool_of(&x.cell) == pool_of(&y.cell) {
                let kind = if x.cell.executor.is_sequential() {
                    Across::Loop
                } else {
                    Across::SamePool
                };
                out.push(compare(cells, x, y, kind, bound));
            }
        }
    }
    out.extend(best(cells, &py, bound));
    out
}

/// Each runtime's best pool against each other runtime's, per work and worker count, stated
/// even where both bests are one pool (its same-pool verdict is a planned comparison at its
/// own level; this one holds whichever pair the data picked).
fn best(cells: &[CellSummary], py: &[&CellSummary], bound: &Bound) -> Vec<Verdict> {
    let pools: Vec<&CellSummary> = py
        .iter()
        .copied()
        .filter(|c| !c.cell.executor.is_sequential())
        .collect();
    let mut out = Vec::new();
    let mut done: Vec<&CellSummary> = Vec::new();
    for first in &pools {
        if done.iter().any(|d| d.cell.setting().across(&first.cell.setting())) {
            continue;
        }
        done.push(first);
        let group: Vec<&CellSummary> = pools
            .iter()
            .copied()
            .filter(|c| c.cell.setting().across(&first.cell.setting()))
            .collect();
        let mut runtimes: Vec<Vec<&CellSummary>> = Vec::new();
        for c in &group {
            match runtimes.iter_mut().find(|r| r[0].cell.runtime() == c.cell.runtime()) {
                Some(r) => r.push(c),
                None => runtimes.push(vec![c]),
            }
        }
        let tops: Vec<(Option<&CellSummary>, usize)> = runtimes
            .iter()
            .map(|r| {
                let top = r
                    .iter()
                    .filter_map(|c| Some((*c, c.stats.as_ref()?.throughput_tps.median)))
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|t| t.0);
                (top, r.len())
            })
            .collect();
        for (i, (a, na)) in tops.iter().enumerate() {
            for (b, nb) in &tops[i + 1..] {
                let (Some(a), Some(b)) = (a, b) else { continue };
                let kind = Across::Best { candidates: na * nb };
                out.push(compare(cells, a, b, kind, bound));
            }
        }
    }
    out
}

/// The verdict of `x` against `y`, each named with its runtime; a best-pool verdict's interval
/// at the level that holds for all its candidate pairs at once, with that joint confidence.
fn compare(cells: &[CellSummary], x: &CellSummary, y: &CellSummary, kind: Across, bound: &Bound) -> Verdict {
    let name = |c: &CellSummary| format!("{} on {}", c.cell.side(&|a| varies(cells, a)), label(cells, c));
    let candidates = match kind {
        Across::Best { candidates } => candidates.max(1),
        _ => 1,
    };
    let miss = (1.0 - TARGET) / candidates as f64;
    let strict = Bound {
        equivalence: bound.equivalence,
        looks: bound.looks.at_target(1.0 - miss),
        question: bound.question.clone(),
    };
    let mut v = verdict(x, y, &work_setting(cells, &x.cell), [name(x), name(y)], &strict);
    if let Some(r) = &mut v.ratio {
        r.confidence = (1.0 - candidates as f64 * (1.0 - r.confidence)).max(0.0);
    }
    v.across = Some(kind);
    finish(v, x, y, bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::{verdicts as all_verdicts, Form};
    use crate::pools::ExecutorKind;
    use crate::record::RunRow;
    use crate::summary::summarize;
    use crate::testing::{cell, row};
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A Python cell on interpreter `at` (0: a build with the GIL, 1: a free-threaded one).
    fn on(executor: &str, workers: usize, at: u8) -> Cell {
        let mut c = cell(ExecutorKind::named(executor).unwrap(), workers);
        c.values.set(
            &PYTHON,
            Value::Listed(at, ["gil/bin/python", "ft/bin/python"][at as usize]),
        );
        c
    }

    /// Paired rounds of every cell: its wall time by `wall`, times noise from `rng` (±`noise`).
    fn rounds(cells: &[Cell], n: usize, noise: f64, rng: &mut ChaCha8Rng, wall: &dyn Fn(&Cell) -> f64) -> Vec<RunRow> {
        let mut out = Vec::new();
        for i in 0..n {
            for c in cells {
                let u = (rng.next_u64() % 10_000) as f64 / 5_000.0 - 1.0;
                let mut r = row(c, i, wall(c) * (1.0 + noise * u), None);
                r.round = Some(i);
                let ft = PYTHON.index_of(&c.values) == 1;
                r.m.python_version = Some("3.13.5".into());
                r.m.gil = Some(if ft { "disabled" } else { "enabled" }.into());
                r.m.free_threaded = Some(ft);
                out.push(r);
            }
        }
        out
    }

    fn cells() -> Vec<Cell> {
        let mut cells = Vec::new();
        for at in 0..2 {
            cells.push(on("py-sequential", 1, at));
            cells.push(on("py-thread", 2, at));
            cells.push(on("py-process", 2, at));
        }
        cells
    }

    #[test]
    fn the_same_pool_the_loop_and_each_ones_best_are_compared_across_runtimes() {
        // The GIL build: threads take turns (1.0), processes run at once (0.5); the
        // free-threaded build: threads at once (0.45), the loop 25 % slower on one thread.
        let wall = |c: &Cell| match (c.executor.name(), PYTHON.index_of(&c.values)) {
            ("py-sequential", 0) => 1.0,
            ("py-sequential", _) => 1.25,
            ("py-thread", 0) => 1.0,
            ("py-thread", _) => 0.45,
            _ => 0.5,
        };
        let rows = rounds(&cells(), 20, 0.02, &mut ChaCha8Rng::seed_from_u64(1), &wall);
        let v = all_verdicts(&summarize(&rows), &Bound::DEFAULT);
        let lines: Vec<String> = v.iter().map(|v| format!("{}: {}", v.group(), v.line())).collect();
        let kinds = |k: Option<Across>| v.iter().filter(|v| v.across == k).count();
        assert_eq!(kinds(None), 2, "thread vs process on each runtime: {lines:#?}");
        assert_eq!(kinds(Some(Across::SamePool)), 2, "{lines:#?}");
        assert_eq!(kinds(Some(Across::Loop)), 1, "{lines:#?}");
        assert_eq!(kinds(Some(Across::Best { candidates: 4 })), 1, "{lines:#?}");
        let find = |s: &str| {
            lines
                .iter()
                .find(|l| l.contains(s))
                .unwrap_or_else(|| panic!("{s}: {lines:#?}"))
        };
        find("Python's pools: spin, 2 workers, on 3.13.5 (GIL): py-process faster than py-thread (2.00x");
        find(
            "the same pool: spin, 2 workers: py-thread on 3.13.5t (GIL off) faster than py-thread on 3.13.5 (GIL) (2.2",
        );
        find("the build's own price: spin, 1 worker: py-sequential on 3.13.5 (GIL) faster than py-sequential on 3.13.5t (GIL off) (1.2");
        let best = find(
            "best pool: spin, 2 workers: py-thread on 3.13.5t (GIL off) faster than py-process on 3.13.5 (GIL) (1.1",
        );
        assert!(
            best.contains("at >= 9"),
            "the joint confidence of the four candidate pairs: {best}"
        );
        let b = v
            .iter()
            .find(|v| matches!(v.across, Some(Across::Best { .. })))
            .unwrap();
        assert!(b.ratio.unwrap().confidence >= TARGET, "{best}");
        // Python's process pool is the same on both.
        let p = v
            .iter()
            .find(|v| v.across == Some(Across::SamePool) && v.a.executor.name() == "py-process");
        assert_eq!(p.unwrap().form(), Some(Form::Equal));
    }

    #[test]
    fn a_best_pool_chosen_by_the_data_is_still_covered_at_the_stated_confidence() {
        // The worst case for choosing by the data: two equally fast pools on one runtime, one
        // on the other, all with the same speed; the true ratio is 1 whichever is picked, and
        // the picked one is the faster-looking of two (so its ratio leans above 1).
        let cells: Vec<Cell> = cells()
            .into_iter()
            .filter(|c| !c.executor.is_sequential())
            .filter(|c| PYTHON.index_of(&c.values) == 0 || c.executor.name() == "py-process")
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (mut covered, mut naive, sims) = (0, 0, 1000);
        for _ in 0..sims {
            let rows = rounds(&cells, 10, 0.1, &mut rng, &|_| 1.0);
            let summary = summarize(&rows);
            let v = verdicts(&summary, &Bound::DEFAULT);
            let b = v
                .iter()
                .find(|v| matches!(v.across, Some(Across::Best { .. })))
                .expect("a best-pool verdict");
            let r = b.ratio.unwrap();
            assert!(r.confidence >= TARGET - 1e-9, "{}", b.line());
            covered += usize::from(r.ci_low <= 1.0 && 1.0 <= r.ci_high);
            // The same pair at the level of one planned comparison.
            let plain = crate::answer::verdict(
                summary.iter().find(|c| c.cell == b.a).unwrap(),
                summary.iter().find(|c| c.cell == b.b).unwrap(),
                "",
                [String::new(), String::new()],
                &Bound::DEFAULT,
            );
            let p = plain.ratio.unwrap();
            naive += usize::from(p.ci_low <= 1.0 && 1.0 <= p.ci_high);
        }
        let coverage = covered as f64 / sims as f64;
        eprintln!(
            "best-pool coverage {coverage}, unadjusted {}",
            naive as f64 / sims as f64
        );
        assert!(coverage >= TARGET, "coverage {coverage}");
        // What the same pair's interval covers at a planned comparison's level, for the record
        // (here, with one side chosen of two, no less: the bias is small, and the adjustment
        // is a guarantee, not a correction).
        assert!(naive <= covered, "naive {naive}, adjusted {covered}");
    }
}
