//! The fork pool's tasks not yet sent: the rest of the index range, behind the tasks a dead
//! worker had queued (which go first). O(workers) of memory however many tasks there are.

use std::collections::VecDeque;
use std::ops::Range;

#[derive(Debug, Default)]
pub(super) struct Pending {
    /// Sent to a worker that died before taking them: sent again first, in their order.
    again: VecDeque<usize>,
    /// Never sent.
    rest: Range<usize>,
}

impl Pending {
    pub fn new(n: usize) -> Pending {
        Pending {
            again: VecDeque::new(),
            rest: 0..n,
        }
    }

    pub fn len(&self) -> usize {
        self.again.len() + self.rest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `n`, in order, without taking them.
    pub fn first(&self, n: usize) -> impl Iterator<Item = usize> + '_ {
        self.again.iter().copied().chain(self.rest.clone()).take(n)
    }

    /// Takes the first `n`.
    pub fn take(&mut self, n: usize) -> Vec<usize> {
        let from_again = n.min(self.again.len());
        let mut taken: Vec<usize> = self.again.drain(..from_again).collect();
        let from_rest = (n - from_again).min(self.rest.len());
        taken.extend(self.rest.start..self.rest.start + from_rest);
        self.rest.start += from_rest;
        taken
    }

    /// Puts a task back at the front.
    pub fn push_front(&mut self, task: usize) {
        self.again.push_front(task);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_come_in_order_with_the_returned_ones_first() {
        let mut p = Pending::new(10);
        assert_eq!(p.take(3), [0, 1, 2]);
        p.push_front(2);
        p.push_front(1);
        assert_eq!(p.len(), 9);
        assert_eq!(p.first(4).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(p.take(4), [1, 2, 3, 4]);
        assert_eq!(p.take(100), [5, 6, 7, 8, 9]);
        assert!(p.is_empty() && p.take(1).is_empty());
    }
}
