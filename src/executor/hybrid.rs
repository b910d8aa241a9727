//! The hybrid executor, what real services run: `processes` forked workers with `threads` threads
//! each ([`super::fork`]), each thread with its own state and ORT session built after the fork;
//! a process runs as many tasks at once as it has threads, with more queued behind them.

use std::time::Duration;

use super::{fork, Executor, Job, PoolStats, TaskEvent};
use crate::executor::PoolError;
use crate::pools::ExecutorKind;

pub struct Hybrid;

impl Executor for Hybrid {
    fn kind(&self) -> ExecutorKind {
        ExecutorKind::HYBRID
    }

    fn run(&self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, PoolError> {
        fork::run(job, on_event)
    }

    fn watchdog(&self, task_timeout: Duration) -> Duration {
        fork::watchdog(task_timeout)
    }
}
