//! Shards: which (cell, repetition) pairs each of N machines runs. A pure function of the
//! schedule, the shard count and an estimated cost per cell, so every node computes the same
//! split; the seeds and draws of a pair do not depend on which shard runs it.

use std::fmt;
use std::num::NonZeroUsize;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Cell, Rep};

/// One slice of N: `index` counts from 1, as Slurm's array task ids do. Written `I/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Shard {
    pub index: usize,
    pub count: NonZeroUsize,
}

impl Shard {
    /// `shard-2-of-4`, the results folder's name.
    pub fn folder(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl From<Shard> for String {
    fn from(s: Shard) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for Shard {
    type Error = String;
    fn try_from(s: String) -> Result<Shard, String> {
        s.parse()
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N` with 1 <= I <= N.
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}` is not a shard: write I/N with 1 <= I <= N, e.g. 1/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: NonZeroUsize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count.get() {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// How pairs are split between shards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Every repetition of a cell on one shard, so a cell is measured on one node; cells are
    /// balanced by estimated cost (largest first, each to the least loaded shard).
    #[default]
    Cells,
    /// Repetition i of every cell (warm-up or measured) on shard i mod N: more parallelism for
    /// few cells, but a cell's repetitions are measured on several nodes.
    Repetitions,
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Split::Cells => "cells",
            Split::Repetitions => "repetitions",
        })
    }
}

/// The shard (1-based) of each pair of `schedule`, in its order. `cost` estimates one
/// repetition of a cell; only ratios matter.
pub fn assign(schedule: &[(Cell, Rep)], count: NonZeroUsize, split: Split, cost: &dyn Fn(&Cell) -> f64) -> Vec<usize> {
    let n = count.get();
    match split {
        Split::Repetitions => schedule.iter().map(|(_, r)| r.index % n + 1).collect(),
        Split::Cells => {
            // Each cell's whole cost: its repetitions times the cost of one.
            let mut cells: Vec<(Cell, f64)> = Vec::new();
            for (c, _) in schedule {
                match cells.iter_mut().find(|(k, _)| k == c) {
                    Some((_, total)) => *total += cost(c),
                    None => cells.push((*c, cost(c))),
                }
            }
            // Longest processing time first; ties keep plan order, and go to the lowest shard.
            let mut order: Vec<usize> = (0..cells.len()).collect();
            order.sort_by(|&a, &b| cells[b].1.total_cmp(&cells[a].1).then(a.cmp(&b)));
            let mut load = vec![0.0f64; n];
            let mut shard_of = vec![0usize; cells.len()];
            for i in order {
                let least = (0..n)
                    .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
                    .unwrap_or(0);
                load[least] += cells[i].1;
                shard_of[i] = least + 1;
            }
            schedule
                .iter()
                .map(|(c, _)| shard_of[cells.iter().position(|(k, _)| k == c).unwrap_or(0)])
                .collect()
        }
    }
}

/// The pairs of `schedule` that `shard` runs, in the schedule's order.
pub fn slice(schedule: &[(Cell, Rep)], shard: Shard, split: Split, cost: &dyn Fn(&Cell) -> f64) -> Vec<(Cell, Rep)> {
    let of = assign(schedule, shard.count, split, cost);
    schedule
        .iter()
        .zip(of)
        .filter(|(_, s)| *s == shard.index)
        .map(|(p, _)| *p)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{expand, schedule, Axes, ExecutorKind, Order, Repetitions};
    use crate::workload::WorkloadKind;

    fn n(v: usize) -> NonZeroUsize {
        NonZeroUsize::new(v).unwrap()
    }

    fn pairs() -> Vec<(Cell, Rep)> {
        let axes = Axes {
            workers: vec![n(1), n(2)],
            sets: vec![n(2)],
            ..Axes::with_defaults(
                vec![
                    WorkloadKind::named("resize").unwrap(),
                    WorkloadKind::named("classify").unwrap(),
                ],
                vec![
                    ExecutorKind::named("sequential").unwrap(),
                    ExecutorKind::named("thread").unwrap(),
                    ExecutorKind::named("process").unwrap(),
                ],
            )
        };
        let reps = Repetitions {
            warmup: 1,
            measured: 3,
            order: Order::Interleaved,
            seed: 7,
        };
        schedule(&reps, &expand(&axes, &[]))
    }

    fn cost(c: &Cell) -> f64 {
        if c.workload.uses_model() {
            3.0
        } else {
            1.0
        }
    }

    #[test]
    fn shards_parse_from_one() {
        assert_eq!("2/4".parse::<Shard>().unwrap(), Shard { index: 2, count: n(4) });
        for bad in ["0/4", "5/4", "1/0", "1", "a/b", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!("3/4".parse::<Shard>().unwrap().folder(), "shard-3-of-4");
    }

    #[test]
    fn every_pair_runs_on_exactly_one_shard_in_schedule_order() {
        let all = pairs();
        for split in [Split::Cells, Split::Repetitions] {
            for count in 1..=5 {
                let mut seen = Vec::new();
                for index in 1..=count {
                    let part = slice(&all, Shard { index, count: n(count) }, split, &cost);
                    // The slice keeps the schedule's order.
                    let positions: Vec<usize> = part.iter().map(|p| all.iter().position(|q| q == p).unwrap()).collect();
                    assert!(positions.windows(2).all(|w| w[0] < w[1]));
                    seen.extend(part);
                }
                seen.sort_by_key(|(c, r)| (c.id(), r.warmup, r.index));
                let mut want = all.clone();
                want.sort_by_key(|(c, r)| (c.id(), r.warmup, r.index));
                assert_eq!(seen, want, "{split} over {count}");
            }
        }
    }

    #[test]
    fn by_cells_keeps_a_cell_on_one_shard_and_balances_cost() {
        let all = pairs();
        let of = assign(&all, n(2), Split::Cells, &cost);
        for (i, (c, _)) in all.iter().enumerate() {
            for (j, (d, _)) in all.iter().enumerate() {
                if c == d {
                    assert_eq!(of[i], of[j], "{} split", c.id());
                }
            }
        }
        let load = |s: usize| -> f64 {
            all.iter()
                .zip(&of)
                .filter(|(_, &x)| x == s)
                .map(|((c, _), _)| cost(c))
                .sum()
        };
        // 5 resize cells (cost 4 each) and 5 classify cells (12 each): 80 in all, 40 and 40.
        assert_eq!((load(1), load(2)), (40.0, 40.0));
        let plan: Vec<String> = {
            let mut seen: Vec<String> = Vec::new();
            for ((c, _), s) in all.iter().zip(&of) {
                let line = format!("{} -> {s}", c.id());
                if !seen.contains(&line) {
                    seen.push(line);
                }
            }
            seen
        };
        insta::assert_yaml_snapshot!(plan);
    }

    #[test]
    fn by_repetitions_deals_repetition_indices_round_robin() {
        let all = pairs();
        let of = assign(&all, n(2), Split::Repetitions, &cost);
        for ((_, r), s) in all.iter().zip(&of) {
            assert_eq!(*s, r.index % 2 + 1);
        }
    }
}
