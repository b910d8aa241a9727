//! The question the answer states (`[answer]`): today's pairs by default (within each language
//! every pair of pools, across languages each pool with its mirror), the pairs the file names
//! (`compare`), or every pool against one (`reference`). Pure: which pairs are asked, and
//! whether a pair meets in a plan's cells at all.

use serde::{Deserialize, Serialize};

use super::Cell;
use crate::pools::ExecutorKind;

/// Which pairs of pools the answer compares.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Question {
    /// Within a language every pair of pools (loops left out); across languages a pool with its
    /// mirror; and the verdicts across runtimes.
    #[default]
    Default,
    /// `compare = [["py-thread", "py-process"], ...]`: these pairs only, either way round. A
    /// pool paired with itself asks for its variants (Python's start methods).
    Compare(Vec<(ExecutorKind, ExecutorKind)>),
    /// `reference = "py-process"`: every other pool (loops left out) against this one.
    Reference(ExecutorKind),
}

impl Question {
    /// Whether the answer states a verdict between pools `a` and `b` (the same pool for a
    /// verdict across runtimes or between its variants).
    pub fn asks(&self, a: ExecutorKind, b: ExecutorKind) -> bool {
        match self {
            Question::Default => {
                (a == b || (!a.is_sequential() && !b.is_sequential()))
                    && (a.is_python() == b.is_python() || a.mirror() == Some(b))
            }
            Question::Compare(pairs) => pairs.iter().any(|&(x, y)| (x, y) == (a, b) || (y, x) == (a, b)),
            Question::Reference(r) => match (a == *r, b == *r) {
                (true, true) => true,
                (true, false) => !b.is_sequential(),
                (false, true) => !a.is_sequential(),
                (false, false) => false,
            },
        }
    }

    /// Whether this is the default question.
    pub fn is_default(&self) -> bool {
        *self == Question::Default
    }
}

/// Whether some cell of pool `a` and some other cell of pool `b` do the same work with the
/// same workers on the same runtime: a verdict between them can be stated.
pub fn meet(cells: &[Cell], a: ExecutorKind, b: ExecutorKind) -> bool {
    cells.iter().filter(|x| x.executor == a).any(|x| {
        cells
            .iter()
            .filter(|y| y.executor == b && *y != x)
            .any(|y| x.setting().matches(&y.setting()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(name: &str) -> ExecutorKind {
        ExecutorKind::named(name).unwrap()
    }

    #[test]
    fn the_default_pairs_pools_of_a_language_and_mirrors_and_never_a_loop() {
        let q = Question::Default;
        assert!(q.asks(e("thread"), e("process")));
        assert!(q.asks(e("py-thread"), e("py-process")));
        assert!(q.asks(e("thread"), e("py-thread")));
        assert!(!q.asks(e("thread"), e("py-process")));
        assert!(!q.asks(e("sequential"), e("thread")));
        assert!(q.asks(e("py-process"), e("py-process")));
    }

    #[test]
    fn compare_asks_the_named_pairs_either_way_and_reference_every_pool_against_one() {
        let q = Question::Compare(vec![(e("py-thread"), e("py-process"))]);
        assert!(q.asks(e("py-process"), e("py-thread")));
        assert!(!q.asks(e("thread"), e("process")));
        assert!(!q.asks(e("py-process"), e("py-process")), "its variants were not asked");
        let q = Question::Reference(e("py-process"));
        assert!(q.asks(e("thread"), e("py-process")));
        assert!(q.asks(e("py-process"), e("py-thread")));
        assert!(!q.asks(e("thread"), e("process")));
        assert!(
            !q.asks(e("py-sequential"), e("py-process")),
            "a loop is the baseline, not a pool"
        );
    }
}
