//! A repetition's tasks as the pools see them: a list of drawn ones, or synthetic tasks (no
//! input) made from their index when a worker asks, so that a million of them weigh nothing in
//! the measured processes. A leaf beside `task.rs`: the plan makes them, executors read them.

use std::borrow::Cow;
use std::sync::Arc;

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::task::{Input, Rep, Task, WorkloadKind};

/// Task `index`'s own seed in repetition `rep`: one word of a ChaCha8 stream of its own (apart
/// from the draws'), so it depends on nothing but the seed, the repetition and the index.
pub fn task_seed(seed: u64, rep: Rep, index: usize) -> u64 {
    Seeds::at(seed, rep, index).next_u64()
}

/// The seeds of consecutive tasks: the stream read in order (task `i`'s seed is words `2i` and
/// `2i + 1`), a few nanoseconds each; seeking costs a block.
#[derive(Clone)]
struct Seeds(ChaCha8Rng);

impl Seeds {
    fn at(seed: u64, rep: Rep, index: usize) -> Seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7A5C_5EED_0000_0001);
        rng.set_stream(rep.stream());
        rng.set_word_pos(2 * index as u128);
        Seeds(rng)
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

/// A repetition's tasks, in index order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Tasks {
    /// Drawn inputs (images, noise, a shuffled mix), one task each.
    Listed(Arc<Vec<Task>>),
    /// `n` tasks of `kind` with no input: task `i` is made from `i` (and its seed from the
    /// experiment's seed and the repetition), so they take no memory.
    Made {
        n: usize,
        kind: WorkloadKind,
        seed: u64,
        rep: Rep,
    },
}

impl Tasks {
    pub fn listed(tasks: Vec<Task>) -> Tasks {
        Tasks::Listed(Arc::new(tasks))
    }

    pub fn len(&self) -> usize {
        match self {
            Tasks::Listed(v) => v.len(),
            Tasks::Made { n, .. } => *n,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Task `i` (random access; a made task costs a seek of its seed's stream).
    pub fn get(&self, i: usize) -> Option<Cow<'_, Task>> {
        self.cursor().at(i)
    }

    /// Every task in order, each made once.
    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, Task>> + '_ {
        let mut c = self.cursor();
        (0..self.len()).map_while(move |i| c.at(i))
    }

    /// A reader that makes consecutive tasks cheaply (a worker is handed runs of them).
    pub fn cursor(&self) -> Cursor<'_> {
        Cursor {
            tasks: self,
            seeds: None,
        }
    }

    /// Every task, as a list (the mock runner and tests; the pools read them one by one).
    pub fn to_vec(&self) -> Vec<Task> {
        self.iter().map(Cow::into_owned).collect()
    }
}

/// Reads tasks by index, keeping the seed stream where the last one left it.
pub struct Cursor<'a> {
    tasks: &'a Tasks,
    /// The next index the stream stands at, and the stream.
    seeds: Option<(usize, Seeds)>,
}

impl<'a> Cursor<'a> {
    pub fn at(&mut self, i: usize) -> Option<Cow<'a, Task>> {
        match self.tasks {
            Tasks::Listed(v) => v.get(i).map(Cow::Borrowed),
            &Tasks::Made { n, kind, seed, rep } => {
                if i >= n {
                    return None;
                }
                if !matches!(&self.seeds, Some((next, _)) if *next == i) {
                    self.seeds = Some((i, Seeds::at(seed, rep, i)));
                }
                let (next, seeds) = self.seeds.as_mut().expect("set above");
                // A task's seed is the stream's next two words, so the next task's follow.
                let task_seed = seeds.next_u64();
                *next = i + 1;
                Some(Cow::Owned(Task {
                    index: i,
                    kind,
                    input: Input::None,
                    seed: task_seed,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(n: usize) -> Tasks {
        Tasks::Made {
            n,
            kind: WorkloadKind(0),
            seed: 7,
            rep: Rep {
                warmup: false,
                index: 3,
            },
        }
    }

    #[test]
    fn made_tasks_carry_the_seeds_task_seed_gives_in_any_order_of_reading() {
        let t = made(50);
        let rep = Rep {
            warmup: false,
            index: 3,
        };
        let seeds: Vec<u64> = t.iter().map(|t| t.seed).collect();
        let want: Vec<u64> = (0..50).map(|i| task_seed(7, rep, i)).collect();
        assert_eq!(seeds, want);
        assert!(t
            .iter()
            .enumerate()
            .all(|(i, t)| t.index == i && t.input == Input::None));
        let mut c = t.cursor();
        for i in [9, 10, 11, 3, 4, 49, 0] {
            assert_eq!(c.at(i).unwrap().seed, want[i], "task {i}");
        }
        assert!(c.at(50).is_none() && t.get(50).is_none());
        assert_eq!(t.get(17).unwrap().seed, want[17]);
    }

    #[test]
    fn seeds_differ_by_task_and_repetition() {
        let a = made(2).to_vec();
        assert_ne!(a[0].seed, a[1].seed);
        let other = Tasks::Made {
            n: 2,
            kind: WorkloadKind(0),
            seed: 7,
            rep: Rep { warmup: true, index: 3 },
        };
        assert_ne!(other.to_vec()[0].seed, a[0].seed);
    }

    #[test]
    fn both_forms_cross_a_process_boundary_whole() {
        for t in [made(4), Tasks::listed(made(3).to_vec())] {
            let back: Tasks = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
            assert_eq!(back, t);
        }
    }
}
