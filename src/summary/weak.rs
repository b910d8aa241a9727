//! Weak scaling (a zip ties the sets to the workers, so the work grew with them): each pool's
//! efficiency as its throughput per worker against the same pool's with the fewest workers.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;

use super::CellSummary;
use crate::pools::ShapeKind;
use crate::stats::{paired_ratio, ratio_of_medians, Ratio, TARGET};

/// One pool on one work, as its workers (and its work) grew.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaling {
    /// The pool with every pool axis it has, and the workload: `sleep, thread`.
    pub label: String,
    /// By workers, the fewest first: the reference of the others.
    pub steps: Vec<Step>,
}

/// One cell of a [`Scaling`].
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: String,
    pub workers: usize,
    pub sets: usize,
    /// Median tasks per second.
    pub tps: f64,
    /// (throughput / workers) over the reference's; `None` for the reference itself (1 by
    /// definition) or when either has no whole repetition.
    pub efficiency: Option<Ratio>,
}

/// Every pool (loops left out) with cells at two or more worker counts on otherwise the same
/// axes, whose sets grew with the workers: its efficiency per worker against its cell with the
/// fewest workers, from paired rounds' per-round ratios when both ran paired, else the ratio of
/// the two medians. A hybrid pool grows along one of its dimensions, the other held: its cells
/// are grouped both ways, and the grouping whose sets grew is the one reported.
pub fn weak(cells: &[CellSummary]) -> Vec<Scaling> {
    let mut groups: BTreeMap<(String, String), Vec<&CellSummary>> = BTreeMap::new();
    for c in cells
        .iter()
        .filter(|c| !c.cell.executor.is_sequential() && c.stats.is_some())
    {
        for held in holds(c) {
            let key = format!("{}, {} {:?}", c.cell.workload, c.cell.executor, c.cell.values);
            groups.entry((key, held)).or_default().push(c);
        }
    }
    let groups = groups.into_iter().filter_map(|((_, held), mut group)| {
        group.sort_by_key(|c| (c.cell.workers(), c.cell.sets));
        grew(&group).then_some((held, group))
    });
    let mut out = Vec::new();
    for (held, group) in groups {
        let reference = group[0];
        let base = reference.stats.as_ref().expect("filtered");
        let steps = group
            .iter()
            .map(|c| {
                let st = c.stats.as_ref().expect("filtered");
                let per_worker = reference.cell.workers() as f64 / c.cell.workers() as f64;
                let efficiency = (c.id != reference.id)
                    .then(|| {
                        let theirs: BTreeMap<usize, f64> = base.rounds.iter().map(|(k, t, _)| (*k, *t)).collect();
                        let ratios: Vec<f64> = st
                            .rounds
                            .iter()
                            .filter_map(|(k, t, _)| theirs.get(k).map(|b| t / b))
                            .collect();
                        match ratios.is_empty() {
                            false => paired_ratio(&ratios, TARGET),
                            true => ratio_of_medians(&st.tps, &base.tps),
                        }
                    })
                    .flatten()
                    .map(|r| r.scale(per_worker));
                Step {
                    id: c.id.clone(),
                    workers: c.cell.workers(),
                    sets: c.cell.sets.get(),
                    tps: st.throughput_tps.median,
                    efficiency,
                }
            })
            .collect();
        out.push(Scaling {
            label: format!("{}, {}{held}", reference.cell.workload, pool_name(reference)),
            steps,
        });
    }
    out
}

/// The dimension a group holds while the workers grow: nothing for a pool of one kind of
/// worker; for a hybrid pool, its threads per process or its processes.
fn holds(c: &CellSummary) -> Vec<String> {
    if c.cell.executor.shape() != ShapeKind::ProcessesThreads {
        return vec![String::new()];
    }
    let (p, t) = (c.cell.shape.processes, c.cell.shape.threads);
    let s = |n: NonZeroUsize| if n.get() == 1 { "" } else { "s" };
    vec![
        format!(" ({t} thread{} a process)", s(t)),
        format!(" ({p} process{})", if p.get() == 1 { "" } else { "es" }),
    ]
}

/// Whether a group (by workers, fewest first) is weak scaling: two or more worker counts, and
/// more sets at each larger one.
fn grew(group: &[&CellSummary]) -> bool {
    let steps: Vec<(usize, usize)> = group.iter().map(|c| (c.cell.workers(), c.cell.sets.get())).collect();
    steps.first().map(|f| f.0) != steps.last().map(|l| l.0)
        && steps.windows(2).all(|w| w[0].0 == w[1].0 || w[0].1 < w[1].1)
}

/// The pool with its pool axes, without its shape (a hybrid's shape changes along the group).
fn pool_name(c: &CellSummary) -> String {
    let shape = format!(" {}x{}", c.cell.shape.processes, c.cell.shape.threads);
    match c.cell.executor.shape() {
        ShapeKind::ProcessesThreads => c.executor_name().replacen(&shape, "", 1),
        _ => c.executor_name(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pools::{ExecutorKind, Shape};
    use crate::summary::summarize;
    use crate::testing::{cell, row};

    #[test]
    fn efficiency_is_throughput_per_worker_against_the_fewest_workers_and_the_loop_is_left_out() {
        let e = |n: &str| ExecutorKind::named(n).unwrap();
        let mut rows = Vec::new();
        // The same 3 tasks a repetition; one worker takes 1 s, two take 0.55 s, four 0.3 s.
        for (workers, wall) in [(1, 1.0), (2, 0.55), (4, 0.3)] {
            let mut c = cell(e("thread"), workers);
            c.sets = std::num::NonZeroUsize::new(workers * 8).unwrap();
            rows.extend((0..6).map(|i| row(&c, i, wall, None)));
        }
        rows.extend((0..6).map(|i| row(&cell(e("sequential"), 1), i, 1.0, None)));
        let w = weak(&summarize(&rows));
        assert_eq!(w.len(), 1, "the loop has one worker count: {w:?}");
        assert_eq!(w[0].label, "spin, thread");
        let steps: Vec<(usize, usize)> = w[0].steps.iter().map(|s| (s.workers, s.sets)).collect();
        assert_eq!(steps, [(1, 8), (2, 16), (4, 32)]);
        assert!(w[0].steps[0].efficiency.is_none(), "the reference is 1 by definition");
        let eff = |i: usize| w[0].steps[i].efficiency.unwrap().value;
        assert!((eff(1) - 1.0 / (2.0 * 0.55)).abs() < 1e-3, "{}", eff(1));
        assert!((eff(2) - 1.0 / (4.0 * 0.3)).abs() < 1e-3, "{}", eff(2));
    }

    #[test]
    fn a_hybrid_pool_grows_along_one_dimension_and_is_grouped_by_the_other() {
        let n = |v: usize| std::num::NonZeroUsize::new(v).unwrap();
        let mut rows = Vec::new();
        // processes 1, 2, 4 of 1 thread each, sets 8, 16, 32; and 2x2 beside them at 16 sets
        // (its processes held at 2: one cell, no growth; its threads held at 2: one cell).
        for (p, t, wall) in [(1, 1, 1.0), (2, 1, 0.55), (4, 1, 0.3), (2, 2, 0.3)] {
            let mut c = cell(ExecutorKind::named("hybrid").unwrap(), 1);
            c.shape = Shape {
                processes: n(p),
                threads: n(t),
            };
            c.sets = n(if (p, t) == (2, 2) { 16 } else { 8 * p });
            rows.extend((0..6).map(|i| row(&c, i, wall, None)));
        }
        let w = weak(&summarize(&rows));
        let labels: Vec<&str> = w.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["spin, hybrid (1 thread a process)"], "{w:?}");
        let steps: Vec<(usize, usize)> = w[0].steps.iter().map(|s| (s.workers, s.sets)).collect();
        assert_eq!(steps, [(1, 8), (2, 16), (4, 32)]);
        let eff = w[0].steps[2].efficiency.unwrap().value;
        assert!((eff - 1.0 / (4.0 * 0.3)).abs() < 1e-3, "{eff}");
    }

    #[test]
    fn more_workers_on_the_same_sets_is_not_weak_scaling() {
        let e = ExecutorKind::named("thread").unwrap();
        let rows: Vec<_> = [(1, 1.0), (2, 0.55)]
            .into_iter()
            .flat_map(|(w, wall)| (0..6).map(move |i| row(&cell(e, w), i, wall, None)))
            .collect();
        assert!(weak(&summarize(&rows)).is_empty());
    }
}
