//! How many tasks the fork pool keeps queued in each worker process behind those it runs: the
//! `process_queue` axis ([`crate::pools::axes::QUEUE`]), and the depth that adapts to task time (pure, tested here).
//!
//! A worker with a task queued goes from one task to the next without waiting for the parent:
//! the parent's message and its wake-up overlap the worker's work instead of adding to it. The
//! queue is kept to about [`Depth::TARGET_MS`] of work, so short tasks queue many and long ones
//! one; near the end of the phase nothing is queued, so no worker sits on tasks another could run.

use crate::pools::axes::QUEUE_MAX;

/// The queue's depth for one repetition: fixed by the axis, or from the mean time of the tasks
/// done so far.
#[derive(Debug, Clone)]
pub(super) struct Depth {
    fixed: Option<usize>,
    done_ms: f64,
    done: u32,
}

impl Depth {
    /// Work to keep queued in a worker, in task time.
    pub const TARGET_MS: f64 = 1.0;
    /// Most tasks queued in a worker.
    pub const MAX: usize = QUEUE_MAX;

    /// From the axis's value (0: adapt).
    pub fn new(setting: u32) -> Depth {
        Depth {
            fixed: (setting > 0).then_some(setting as usize),
            done_ms: 0.0,
            done: 0,
        }
    }

    /// A task ended after `ms` of its own time.
    pub fn record(&mut self, ms: f64) {
        self.done_ms += ms.max(0.0);
        self.done += 1;
    }

    /// Tasks to queue in a worker beyond those its threads run, with `pending` tasks not yet
    /// sent and `running` threads in the pool: none once every task left could start at once.
    pub fn queued(&self, pending: usize, running: usize) -> usize {
        if pending <= running {
            return 0;
        }
        if let Some(n) = self.fixed {
            return n;
        }
        if self.done == 0 {
            return 1;
        }
        let mean = self.done_ms / self.done as f64;
        let n = (Self::TARGET_MS / mean.max(1e-6)).ceil();
        (n as usize).clamp(1, Self::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_tasks_queue_many_long_ones_one_and_the_end_of_the_phase_none() {
        let mut d = Depth::new(0);
        assert_eq!(d.queued(100, 2), 1, "before any task ends: two in flight");
        d.record(0.001);
        assert_eq!(d.queued(100, 2), Depth::MAX);
        let mut d = Depth::new(0);
        d.record(0.1);
        d.record(0.3);
        assert_eq!(d.queued(100, 2), 5, "1 ms of 0.2 ms tasks");
        let mut d = Depth::new(0);
        d.record(40.0);
        assert_eq!(d.queued(100, 2), 1);
        assert_eq!(d.queued(2, 2), 0, "every task left can start at once");
    }

    #[test]
    fn a_fixed_depth_stays() {
        let mut d = Depth::new(3);
        d.record(0.001);
        assert_eq!(d.queued(100, 4), 3);
        assert_eq!(d.queued(4, 4), 0);
    }
}
