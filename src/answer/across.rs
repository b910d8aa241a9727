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
use crate::executor::{GIL, PYTHON};
use crate::plan::Cell;
use crate::spec::Value;
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
    values.retain(|k| runtime.get(k).is_none());
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

/// Each runtime's best pool against each other runtime's, per work and worker count; where
/// both bests are one pool, its same-pool verdict says it already.
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
                if pool_of(&a.cell) != pool_of(&b.cell) {
                    let kind = Across::Best { candidates: na * nb };
                    out.push(compare(cells, a, b, kind, bound));
                }
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
    };
    let mut v = verdict(x, y, &work_setting(cells, &x.cell), [name(x), name(y)], &strict);
    if let Some(r) = &mut v.ratio {
        r.confidence = (1.0 - candidates as f64 * (1.0 - r.confidence)).max(0.0);
    }
    v.across = Some(kind);
    finish(v, x, y, bound)
}
