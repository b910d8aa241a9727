//! Runs each repetition in a fresh child of the single-threaded orchestrator, so that no thread,
//! ORT environment or heap left by one repetition touches the next one's numbers, and a crash
//! loses only that repetition. The child writes each task's start and record into a ring the
//! orchestrator reads ([`records`]: kept if the child dies) and its measure up a pipe
//! ([`supervise`](fn@supervise) reads it); nothing of the harness runs inline. The run loop drives
//! it through [`RepRunner`] (and a mock of it in tests, `mock.rs`).

#[cfg(test)]
pub mod mock;
mod records;
mod supervise;
pub mod zygote;

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::unistd::{pipe2, Pid};

use crate::executor::{Interpreter, Job, TaskEvent};
use crate::interrupt;
use crate::measure::{machine_busy_s, peak_rss_kib, reset_peak_rss, wait_for_idle, Usage};
pub use crate::outcome::Failure;
use crate::plan::{Cell, Rep};
use crate::proc;
use crate::tasks::Tasks;
use crate::workload::{Context, TaskRecord};
use records::{Note, Records};
use supervise::{send, supervise, Heard, Msg, Watch};

/// Runs one repetition of a cell, reporting each finished task through `on_task`.
pub trait RepRunner {
    fn run(&mut self, cell: &Cell, rep: Rep, tasks: Tasks, on_task: &mut dyn FnMut(TaskRecord)) -> RepResult;
}

pub use crate::outcome::{Ended, RepMeasure, RepResult};

/// The real runner: one forked process (and process group) per repetition.
pub struct Isolated {
    /// Shared settings; the cell's axis values and output folder are set per cell.
    pub base: Context,
    /// Each cell's output files go to `<outputs>/<cell id>/`.
    pub outputs: PathBuf,
    /// A task running longer fails. The process pool kills and replaces its worker; threads
    /// cannot be cancelled, so for them the repetition's process is killed instead.
    pub task_timeout: Option<Duration>,
    /// A repetition running longer is killed.
    pub repetition_timeout: Option<Duration>,
    /// Before each repetition, wait up to this long for other processes to go quiet.
    pub wait_for_idle: Option<Duration>,
    /// The interpreters and module of the Python executors, one per entry of the `python`
    /// axis in its order (none when no cell uses them).
    pub python: Vec<Interpreter>,
}

impl Isolated {
    /// The job of one repetition of `cell`: its tasks, the cell's values and output folder.
    fn job(&self, cell: &Cell, tasks: Tasks) -> Job {
        let mut ctx = self.base.clone();
        ctx.out_dir = self.outputs.join(cell.id());
        ctx.values = cell.values;
        Job {
            workload: cell.workload,
            tasks,
            ctx: Arc::new(ctx),
            shape: cell.shape,
            task_timeout: self.task_timeout,
            python: (cell.executor.is_python())
                .then(|| {
                    self.python
                        .get(crate::pools::axes::PYTHON.index_of(&cell.values))
                        .cloned()
                })
                .flatten(),
        }
    }
}

impl RepRunner for Isolated {
    fn run(&mut self, cell: &Cell, _rep: Rep, tasks: Tasks, on_task: &mut dyn FnMut(TaskRecord)) -> RepResult {
        let fail = |e: String| RepResult::failed(Failure::Other(e));
        let job = self.job(cell, tasks);
        if let Err(e) = proc::ensure_single_threaded() {
            return fail(e.to_string());
        }
        // Workers orphaned by a dying repetition are re-parented here, to be reaped.
        proc::become_subreaper();
        let (rd, wr) = match pipe2(OFlag::O_CLOEXEC) {
            Ok(p) => p,
            Err(e) => return fail(format!("pipe failed: {e}")),
        };
        let records = match Records::new() {
            Ok(r) => r,
            Err(e) => return fail(e.to_string()),
        };
        if let Some(limit) = self.wait_for_idle {
            wait_for_idle(limit, interrupt::stop_requested);
        }
        if interrupt::stop_requested() {
            return RepResult::of(Ended::Cut);
        }
        proc::trim_heap();
        let (busy_before, me_before) = (machine_busy_s(), Usage::of_self());
        let child = proc::spawn(|| {
            // Its own process group: a terminal's Ctrl-C reaches only the orchestrator, which
            // decides, and one signal reaches the repetition and all its workers.
            proc::own_group(Pid::from_raw(0));
            // A task's leftovers (a command's background process) come here, to be found.
            proc::become_subreaper();
            interrupt::reset_in_child();
            // Only the pipe's write end: not the orchestrator's CSVs, lock or read end.
            proc::close_other_fds(&[wr.as_raw_fd()]);
            child_main(cell, &job, &wr, &records);
            0
        });
        let child = match child {
            Ok(pid) => pid,
            Err(e) => return fail(e.to_string()),
        };
        drop(wr);
        proc::own_group(child);
        let watch = Watch {
            task: self
                .task_timeout
                .map(|t| (crate::executor::engine(cell.executor).watchdog(t), t)),
            repetition: self.repetition_timeout,
        };
        let mut notes = records.reader();
        let mut heard = supervise(rd, child, &watch, &mut notes, on_task);
        // The process is gone (once `end` has reaped it): what it noted is all there is. The
        // tasks it was running when it failed fail with the reason; the run loop marks those
        // never started.
        let (busy_after, mine) = end(child, &mut heard, busy_before, me_before);
        if let Err(e) = notes.drain(on_task) {
            heard.failure.get_or_insert(Failure::Other(e.to_string()));
        }
        let result = RepResult {
            pss_peak_kib: heard.pss_peak_kib,
            other_cpu_s: busy_after,
            orchestrator_cpu_s: Some(mine),
            ended: heard.ended(),
        };
        if let (Some(why), false) = (result.failure(), result.is_cut()) {
            notes.fail_running(&job.tasks, why, on_task);
        }
        result
    }
}

/// After the repetition's messages: kills and reaps whatever is left of it, tells a stop from
/// outside from a result, and returns what the rest of the machine did meanwhile (other
/// processes' CPU seconds) and the orchestrator's own CPU seconds.
fn end(child: Pid, heard: &mut Heard, busy_before: Option<f64>, me_before: Usage) -> (Option<f64>, f64) {
    // Whatever happened, nothing of this repetition may outlive it.
    proc::kill_group(child);
    let waited = proc::wait(child);
    let orphans = proc::reap_all(Duration::from_secs(5));
    let mine = Usage::of_self().since(me_before).cpu_s();
    let stopped = matches!(&waited, Ok((status, _)) if status.stopped_from_outside());
    let mut other = None;
    match waited {
        Ok((status, usage)) => {
            if heard.measure.is_none() && heard.failure.is_none() {
                heard.failure = Some(Failure::Died(status));
            }
            // Other processes' CPU: the machine's busy time minus the repetition's whole
            // process tree (wait4 counts its reaped workers) and this orchestrator's own.
            let ours = usage.cpu_s() + orphans.cpu_s() + mine;
            other = busy_before.zip(machine_busy_s()).map(|(a, b)| (b - a - ours).max(0.0));
        }
        Err(e) => {
            heard
                .failure
                .get_or_insert(Failure::Other(format!("the repetition process {e}")));
        }
    }
    // Stopped from outside (Slurm's scancel and time limit signal every process of the job,
    // not one group, in any order): not a result, and the run stops as if told to. The
    // runner itself kills only with SIGKILL.
    if heard.measure.is_none() && (stopped || interrupt::stop_requested()) {
        if stopped {
            interrupt::stop_from_outside();
        }
        heard.cut = true;
    }
    (other, mine)
}

/// The repetition process: runs the pool, noting each task's start and record in the ring as
/// they happen, and sends the measure up `wr` once the pool is gone.
fn child_main(cell: &Cell, job: &Job, wr: &OwnedFd, records: &Records) {
    // Python's pools load what they need themselves, inside their measured time; what the
    // tasks read is written for every pool.
    for part in job.workload.parts() {
        let g = part.get();
        let ready = g.inputs(&job.ctx, &job.tasks).and_then(|_| match job.python {
            Some(_) => Ok(()),
            None => g.enter(&job.ctx, &job.tasks),
        });
        if let Err(error) = ready {
            let error = error.to_string();
            let measure = RepMeasure::default();
            return send(wr, &Msg::Failed { error, measure });
        }
    }
    reset_peak_rss();
    let (before, reaped_before) = (Usage::of_self(), Usage::of_children());
    let start = Instant::now();
    let mut notes = records.writer(wr);
    let res = crate::executor::engine(cell.executor).run(job, &mut |event| match event {
        TaskEvent::Started(i) => notes.note(&Note::Started(i)),
        TaskEvent::Finished(rec) => notes.note(&Note::Ended(rec)),
    });
    let wall_s = start.elapsed().as_secs_f64();
    let parent = Usage::of_self().since(before);
    let descendants = Usage::of_children().since(reaped_before);
    let parent_peak_kib = peak_rss_kib().unwrap_or(parent.maxrss_kib);
    match res {
        Ok(pool) => send(
            wr,
            &Msg::Done(RepMeasure {
                wall_s,
                pool,
                parent,
                descendants,
                parent_peak_kib,
            }),
        ),
        Err(error) => send(
            wr,
            &Msg::Failed {
                error: error.to_string(),
                measure: RepMeasure {
                    wall_s,
                    parent,
                    descendants,
                    parent_peak_kib,
                    ..Default::default()
                },
            },
        ),
    }
}
