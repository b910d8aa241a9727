//! Runs each repetition in a fresh child of the single-threaded orchestrator, so that no thread,
//! ORT environment or heap left by one repetition touches the next one's numbers, and a crash
//! loses only that repetition. Results stream back over a pipe, one JSON line per message.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::unistd::{fork, pipe2, ForkResult};
use serde::{Deserialize, Serialize};

use crate::draw::{Rep, Task};
use crate::executor::{describe_status, executor, Job, PoolStats};
use crate::measure::{peak_rss_kib, reset_peak_rss, thread_count, Usage};
use crate::plan::Cell;
use crate::workload::{Context, TaskRecord};

/// Everything measured about one repetition, beside its tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RepMeasure {
    /// Pool start, tasks and shutdown.
    pub wall_s: f64,
    pub pool: PoolStats,
    /// CPU of the repetition's own process (all its threads) during `wall_s`.
    pub parent: Usage,
    /// Peak RSS of the repetition's own process during the repetition, KiB.
    pub parent_peak_kib: u64,
}

impl RepMeasure {
    pub fn user_s(&self) -> f64 {
        self.parent.user_s + self.pool.children.user_s
    }
    pub fn sys_s(&self) -> f64 {
        self.parent.sys_s + self.pool.children.sys_s
    }
    /// Peak RSS summed over the parent and every worker process, KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.parent_peak_kib + self.pool.children_peak_kib
    }
}

/// The outcome of one repetition: its measure if it got that far, and what went wrong.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepResult {
    pub measure: Option<RepMeasure>,
    pub error: Option<String>,
}

/// Runs one repetition of a cell, reporting each finished task through `on_task`.
pub trait RepRunner {
    fn run(
        &mut self,
        cell: &Cell,
        rep: Rep,
        tasks: Vec<Task>,
        on_task: &mut dyn FnMut(TaskRecord),
    ) -> RepResult;
}

#[derive(Serialize, Deserialize)]
enum Msg {
    Task(TaskRecord),
    Done(RepMeasure),
    Failed { error: String, measure: RepMeasure },
}

/// The real runner: one forked process per repetition.
pub struct Forked {
    /// Shared settings; intra-op threads and the output folder are set per cell.
    pub base: Context,
    /// Resized images go to `<images_root>/<cell id>/` when saving is on.
    pub images_root: Option<PathBuf>,
    pub task_timeout: Option<Duration>,
}

impl RepRunner for Forked {
    fn run(
        &mut self,
        cell: &Cell,
        _rep: Rep,
        tasks: Vec<Task>,
        on_task: &mut dyn FnMut(TaskRecord),
    ) -> RepResult {
        let fail = |e: String| RepResult {
            measure: None,
            error: Some(e),
        };
        let mut ctx = self.base.clone();
        ctx.intra_op_threads = cell.intra_op_threads.map_or(1, |t| t.get());
        if let Some(root) = &self.images_root {
            let dir = root.join(cell.id());
            if let Err(e) = std::fs::create_dir_all(&dir) {
                return fail(format!("cannot create {}: {e}", dir.display()));
            }
            ctx.out_dir = Some(dir);
        }
        let job = Job {
            tasks: Arc::new(tasks),
            ctx: Arc::new(ctx),
            workers: cell.workers.get(),
            task_timeout: self.task_timeout,
        };
        let threads = thread_count();
        if threads > 1 {
            return fail(format!(
                "refusing to fork: the runner has {threads} threads"
            ));
        }
        let (rd, wr) = match pipe2(OFlag::O_CLOEXEC) {
            Ok(p) => p,
            Err(e) => return fail(format!("pipe failed: {e}")),
        };
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        // SAFETY: the orchestrator is single-threaded (checked above).
        match unsafe { fork() } {
            Err(e) => fail(format!("fork failed: {e}")),
            Ok(ForkResult::Child) => {
                drop(rd);
                child_main(cell, &job, wr);
                // SAFETY: leave without running the orchestrator's destructors (its CSV writers).
                unsafe { libc::_exit(0) }
            }
            Ok(ForkResult::Parent { child }) => {
                drop(wr);
                let mut result = RepResult::default();
                for line in BufReader::new(File::from(rd)).lines() {
                    let Ok(line) = line else { break };
                    match serde_json::from_str::<Msg>(&line) {
                        Ok(Msg::Task(rec)) => on_task(rec),
                        Ok(Msg::Done(m)) => result.measure = Some(m),
                        Ok(Msg::Failed { error, measure }) => {
                            result.measure = Some(measure);
                            result.error = Some(error);
                        }
                        Err(e) => {
                            result.error =
                                Some(format!("garbled message from the repetition process: {e}"))
                        }
                    }
                }
                let mut status = 0;
                // SAFETY: waitpid writes only the status.
                unsafe { libc::waitpid(child.as_raw(), &mut status, 0) };
                if result.measure.is_none() && result.error.is_none() {
                    result.error = Some(format!(
                        "the repetition process {}",
                        describe_status(status)
                    ));
                }
                result
            }
        }
    }
}

fn child_main(cell: &Cell, job: &Job, wr: OwnedFd) {
    let mut out = File::from(wr);
    let mut send = |msg: &Msg| {
        let mut line = serde_json::to_vec(msg).unwrap_or_default();
        line.push(b'\n');
        let _ = out.write_all(&line);
    };
    reset_peak_rss();
    let before = Usage::of_self();
    let start = Instant::now();
    let res = executor(cell.executor).run(job, &mut |rec| send(&Msg::Task(rec)));
    let wall_s = start.elapsed().as_secs_f64();
    let parent = Usage::of_self().since(before);
    let parent_peak_kib = peak_rss_kib().unwrap_or(parent.maxrss_kib);
    match res {
        Ok(pool) => send(&Msg::Done(RepMeasure {
            wall_s,
            pool,
            parent,
            parent_peak_kib,
        })),
        Err(error) => send(&Msg::Failed {
            error,
            measure: RepMeasure {
                wall_s,
                parent,
                parent_peak_kib,
                ..Default::default()
            },
        }),
    }
}
