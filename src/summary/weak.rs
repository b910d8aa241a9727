//! Weak scaling (a zip ties the sets to the workers, so the work grew with them): each pool's
//! efficiency as its throughput per worker against the same pool's with the fewest workers.

use std::collections::BTreeMap;

use super::CellSummary;
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
/// axes: its efficiency per worker against its cell with the fewest workers, from paired
/// rounds' per-round ratios when both ran paired, else the ratio of the two medians.
pub fn weak(cells: &[CellSummary]) -> Vec<Scaling> {
    let mut groups: BTreeMap<String, Vec<&CellSummary>> = BTreeMap::new();
    for c in cells
        .iter()
        .filter(|c| !c.cell.executor.is_sequential() && c.stats.is_some())
    {
        let key = format!("{}, {} {:?}", c.cell.workload, c.executor_name(), c.cell.values);
        groups.entry(key).or_default().push(c);
    }
    let mut out = Vec::new();
    for group in groups.into_values() {
        let mut group = group;
        group.sort_by_key(|c| (c.cell.workers(), c.cell.sets));
        let reference = group[0];
        if group.iter().all(|c| c.cell.workers() == reference.cell.workers()) {
            continue;
        }
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
            label: format!("{}, {}", reference.cell.workload, reference.executor_name()),
            steps,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::ExecutorKind;
    use crate::summary::summarize;
    use crate::summary::tests::{cell, row};

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
}
