//! The order the (cell, repetition) pairs run in: a pure function of the cells, the repetition
//! counts, the order and the seed.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::{Cell, Rep};

/// The order repetitions run in. A cell's warm-ups always come before its measured repetitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// In rounds: round i runs repetition i of every cell, the cells that do the same work
    /// (the pools a verdict compares and their baseline) back to back, in a seeded order that
    /// turns around every other round (ABBA): what a verdict compares ran seconds apart, and
    /// the order within a round favours no side.
    Paired,
    /// Every repetition of a cell, then the next cell.
    Cells,
    /// Repetition 0 of every cell, then repetition 1 of every cell, ...: drift hits all alike.
    Interleaved,
    /// All (cell, repetition) pairs in a seeded random order.
    Random,
}

/// How many repetitions each cell runs, in which order, from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repetitions {
    pub warmup: usize,
    pub measured: usize,
    pub order: Order,
    pub seed: u64,
}

/// The (cell, repetition) pairs in the experiment's order. A cell's warm-ups come before its
/// measured repetitions; in interleaved and random order every warm-up runs first.
pub fn schedule(reps: &Repetitions, cells: &[Cell]) -> Vec<(Cell, Rep)> {
    let (w, n) = (reps.warmup, reps.measured);
    let warmups = move |c: &Cell| {
        let c = *c;
        (0..w).map(move |index| (c, Rep { warmup: true, index }))
    };
    let measured = move |c: &Cell| {
        let c = *c;
        (0..n).map(move |index| (c, Rep { warmup: false, index }))
    };
    match reps.order {
        Order::Paired => {
            let mut out: Vec<(Cell, Rep)> = cells.iter().flat_map(warmups).collect();
            out.extend((0..n).flat_map(|index| round(cells, reps.seed, index)));
            out
        }
        Order::Cells => cells.iter().flat_map(|c| warmups(c).chain(measured(c))).collect(),
        Order::Interleaved => {
            let mut out: Vec<(Cell, Rep)> = cells.iter().flat_map(warmups).collect();
            out.extend((0..n).flat_map(|index| cells.iter().map(move |c| (*c, Rep { warmup: false, index }))));
            out
        }
        Order::Random => {
            let mut rest: Vec<(Cell, Rep)> = cells.iter().flat_map(measured).collect();
            let mut rng = ChaCha8Rng::seed_from_u64(reps.seed);
            rng.set_stream(u64::MAX); // apart from every repetition's draws
            for i in (1..rest.len()).rev() {
                rest.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
            }
            cells.iter().flat_map(warmups).chain(rest).collect()
        }
    }
}

/// Round `index` of the paired order: every cell once, the cells of one work together and,
/// within them, the cells with the same number of workers (the pools one verdict compares, and
/// the sequential baseline with the single workers) next to each other; each in its seeded
/// order, turned around on odd rounds.
pub fn round(cells: &[Cell], seed: u64, index: usize) -> Vec<(Cell, Rep)> {
    let mut groups: Vec<Vec<Vec<Cell>>> = Vec::new();
    for c in cells {
        let g = match groups.iter().position(|g| g[0][0].work() == c.work()) {
            Some(i) => &mut groups[i],
            None => {
                groups.push(Vec::new());
                groups.last_mut().expect("just pushed")
            }
        };
        match g.iter_mut().find(|s| s[0].workers() == c.workers()) {
            Some(s) => s.push(*c),
            None => g.push(vec![*c]),
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(u64::MAX - 1); // apart from the draws and the random order
    let mut out = Vec::new();
    for mut g in groups {
        for s in &mut g {
            shuffle(&mut rng, s);
        }
        shuffle(&mut rng, &mut g);
        let mut flat: Vec<Cell> = g.into_iter().flatten().collect();
        if index % 2 == 1 {
            flat.reverse();
        }
        out.extend(flat.into_iter().map(|c| (c, Rep { warmup: false, index })));
    }
    out
}

/// Fisher-Yates, from the seeded stream.
fn shuffle<T>(rng: &mut ChaCha8Rng, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        v.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;

    use super::*;
    use crate::plan::{expand, Axes, ExecutorKind};
    use crate::workload::WorkloadKind;

    fn cells() -> Vec<Cell> {
        let axes = Axes {
            workers: vec![NonZeroUsize::new(2).unwrap()],
            sets: vec![NonZeroUsize::new(2).unwrap()],
            ..Axes::with_defaults(
                vec![WorkloadKind::named("resize").unwrap()],
                vec![
                    ExecutorKind::named("sequential").unwrap(),
                    ExecutorKind::named("thread").unwrap(),
                    ExecutorKind::named("process").unwrap(),
                ],
            )
        };
        expand(&axes, &[])
    }

    #[test]
    fn orders_cover_the_same_pairs_with_warmups_first() {
        let cells = cells();
        let mut reps = Repetitions {
            warmup: 1,
            measured: 3,
            order: Order::Cells,
            seed: 7,
        };
        let by_cells = schedule(&reps, &cells);
        reps.order = Order::Interleaved;
        let inter = schedule(&reps, &cells);
        reps.order = Order::Random;
        let random = schedule(&reps, &cells);

        assert_eq!(random, schedule(&reps, &cells), "seeded");
        reps.order = Order::Paired;
        let paired = schedule(&reps, &cells);
        // Rounds: each the same cells, the second in the first's order turned around.
        let rounds: Vec<Vec<Cell>> = (0..3)
            .map(|i| {
                paired[3 + 3 * i..6 + 3 * i]
                    .iter()
                    .map(|(c, r)| {
                        assert_eq!(r.index, i);
                        *c
                    })
                    .collect()
            })
            .collect();
        let mut back = rounds[1].clone();
        back.reverse();
        assert_eq!(rounds[0], back, "ABBA");
        assert_eq!(rounds[0], rounds[2]);
        for s in [&by_cells, &inter, &random, &paired] {
            let mut sorted = s.clone();
            sorted.sort_by_key(|(c, r)| (c.id(), r.warmup, r.index));
            let mut want = by_cells.clone();
            want.sort_by_key(|(c, r)| (c.id(), r.warmup, r.index));
            assert_eq!(sorted, want);
        }
        assert!(
            by_cells[0].1.warmup && !by_cells[1].1.warmup && by_cells[4].1.warmup,
            "each cell's warm-up first"
        );
        for s in [&inter, &random] {
            assert!(s[..3].iter().all(|(_, r)| r.warmup), "all warm-ups first");
        }
        assert_eq!(inter[3].0, cells[0]);
        assert_eq!(inter[4].0, cells[1], "interleaved: one repetition of each cell in turn");
        assert_ne!(random, inter);
    }

    #[test]
    fn a_round_runs_what_one_verdict_compares_back_to_back() {
        let axes = Axes {
            workers: vec![
                NonZeroUsize::new(1).unwrap(),
                NonZeroUsize::new(2).unwrap(),
                NonZeroUsize::new(4).unwrap(),
            ],
            ..Axes::with_defaults(
                vec![
                    WorkloadKind::named("resize").unwrap(),
                    WorkloadKind::named("spin").unwrap(),
                ],
                ["sequential", "thread", "process", "hybrid"]
                    .map(|e| ExecutorKind::named(e).unwrap())
                    .to_vec(),
            )
        };
        let cells = expand(&axes, &[]);
        let mut orders = Vec::new();
        for index in 0..4 {
            let r: Vec<Cell> = round(&cells, 11, index).into_iter().map(|(c, _)| c).collect();
            assert_eq!(r.len(), cells.len());
            // Each (work, workers) holds one run of neighbours.
            let key = |c: &Cell| (c.work(), c.workers());
            let runs = r.windows(2).filter(|w| key(&w[0]) != key(&w[1])).count() + 1;
            let mut keys: Vec<_> = r.iter().map(key).collect();
            keys.dedup();
            let distinct: std::collections::HashSet<_> = keys.iter().copied().collect();
            assert_eq!(
                runs,
                distinct.len(),
                "round {index}: {:?}",
                r.iter().map(Cell::id).collect::<Vec<_>>()
            );
            orders.push(r);
        }
        for w in orders[0].iter().map(Cell::work) {
            let of = |r: &[Cell]| r.iter().filter(|c| c.work() == w).copied().collect::<Vec<_>>();
            let mut back = of(&orders[1]);
            back.reverse();
            assert_eq!(of(&orders[0]), back, "ABBA within each work");
        }
        assert_eq!(orders[0], orders[2], "the order comes again every other round");
    }

    #[test]
    fn a_round_puts_one_work_on_every_runtime_side_by_side() {
        use crate::axis::Value;
        use crate::pools::axes::{GIL, PYTHON};
        let mut axes = Axes {
            workers: vec![NonZeroUsize::new(2).unwrap()],
            ..Axes::with_defaults(
                vec![
                    WorkloadKind::named("spin").unwrap(),
                    WorkloadKind::named("sleep").unwrap(),
                ],
                ["py-sequential", "py-thread", "py-process"]
                    .map(|e| ExecutorKind::named(e).unwrap())
                    .to_vec(),
            )
        };
        axes.set(
            &PYTHON,
            vec![Value::Listed(0, "a/bin/python"), Value::Listed(1, "b/bin/python")],
        );
        axes.set(&GIL, vec![Value::Word("off"), Value::Word("on")]);
        let cells = expand(&axes, &[]);
        assert_eq!(cells.len(), 2 * 2 * 2 * 3, "workloads x interpreters x gil x executors");
        for index in 0..2 {
            let r: Vec<Cell> = round(&cells, 3, index).into_iter().map(|(c, _)| c).collect();
            // Each workload's cells, whatever interpreter and GIL, are one run of neighbours,
            // and within it the two-worker pools of every runtime sit together.
            let runs = r.windows(2).filter(|w| w[0].workload != w[1].workload).count() + 1;
            assert_eq!(runs, 2, "{:?}", r.iter().map(Cell::id).collect::<Vec<_>>());
            let key = |c: &Cell| (c.work(), c.workers());
            let mut keys: Vec<_> = r.iter().map(key).collect();
            keys.dedup();
            assert_eq!(keys.len(), 4, "per workload: the loop, then the pools on every runtime");
        }
    }
}
