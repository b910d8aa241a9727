//! The process pool: `workers` processes forked from the single-threaded repetition process, each
//! with a few tasks queued behind the one it runs ([`super::fork`]).

use std::time::Duration;

use super::{fork, Executor, Job, PoolStats, TaskEvent};
use crate::executor::PoolError;
use crate::pools::ExecutorKind;

pub struct Process;

impl Executor for Process {
    fn kind(&self) -> ExecutorKind {
        ExecutorKind::PROCESS
    }

    fn run(&self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, PoolError> {
        fork::run(job, on_event)
    }

    fn watchdog(&self, task_timeout: Duration) -> Duration {
        fork::watchdog(task_timeout)
    }
}
