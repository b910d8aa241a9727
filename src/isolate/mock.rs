//! A [`RepRunner`] that pretends, so the run loop is tested in milliseconds: every task takes
//! 1 ms, except that repetition 1 of process cells "crashes" after its first task.

use std::collections::HashMap;

use super::{Ended, Failure, RepMeasure, RepResult, RepRunner};
use crate::plan::{Cell, Rep, Task};
use crate::pools::ExecutorKind;
use crate::tasks::Tasks;
use crate::workload::TaskRecord;

#[derive(Default)]
pub struct Mock {
    /// The tasks each (executor, repetition) was given.
    pub seen: HashMap<(ExecutorKind, Rep), Vec<Task>>,
}

impl RepRunner for Mock {
    fn run(&mut self, cell: &Cell, rep: Rep, tasks: Tasks, on_task: &mut dyn FnMut(TaskRecord)) -> RepResult {
        self.seen.insert((cell.executor, rep), tasks.to_vec());
        let crash = cell.executor == ExecutorKind::named("process").unwrap() && !rep.warmup && rep.index == 1;
        for t in tasks.iter().take(if crash { 1 } else { tasks.len() }) {
            let mut rec = TaskRecord::blank(&t, Some(0));
            rec.ms = 1.0;
            on_task(rec);
        }
        if crash {
            return RepResult::failed(Failure::Died(crate::proc::WaitStatus(libc::SIGKILL)));
        }
        RepResult::of(Ended::Measured(RepMeasure {
            wall_s: tasks.len() as f64 / 1000.0 / cell.workers() as f64,
            ..Default::default()
        }))
    }
}
