//! The baseline: every task in turn on the calling thread.

use std::time::Instant;

use super::{run_task, Executor, Job, PoolStats, TaskEvent};
use crate::executor::PoolError;
use crate::pools::ExecutorKind;

pub struct Sequential;

impl Executor for Sequential {
    fn kind(&self) -> ExecutorKind {
        ExecutorKind::SEQUENTIAL
    }

    fn run(&self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, PoolError> {
        let start = Instant::now();
        let mut worker = super::start_worker(job, 0)?;
        let pool_start_s = start.elapsed().as_secs_f64();
        let phase = Instant::now();
        for task in job.tasks.iter() {
            on_event(TaskEvent::Started(task.index));
            on_event(TaskEvent::Finished(run_task(&mut worker, &job.ctx, &task, phase)));
        }
        let task_phase_s = phase.elapsed().as_secs_f64();
        let pss_kib = crate::measure::pss_kib(None).unwrap_or(0);
        let session_s = worker.session_s;
        let t = Instant::now();
        drop(worker);
        Ok(PoolStats {
            pool_start_s,
            task_phase_s,
            shutdown_s: t.elapsed().as_secs_f64(),
            session_s,
            workers_started: 1,
            sessions: 1,
            pss_kib,
            ..PoolStats::default()
        })
    }
}
