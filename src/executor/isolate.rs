//! Runs each repetition in a fresh child of the single-threaded orchestrator, so that no thread,
//! ORT environment or heap left by one repetition touches the next one's numbers, and a crash
//! loses only that repetition. Results stream back over a pipe, one JSON line per message.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::{pipe2, Pid};
use serde::{Deserialize, Serialize};

use super::{executor, Job, PoolStats, RepRunner, TaskEvent};
use crate::interrupt;
use crate::measure::{machine_busy_s, peak_rss_kib, reset_peak_rss, Usage};
use crate::plan::{Cell, Rep, Task};
use crate::proc;
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
    /// CPU seconds other processes used on the machine while the repetition ran.
    pub other_cpu_s: Option<f64>,
}

#[derive(Serialize, Deserialize)]
enum Msg {
    Started(usize),
    Task(TaskRecord),
    Done(RepMeasure),
    Failed { error: String, measure: RepMeasure },
}

/// The real runner: one forked process (and process group) per repetition.
pub struct Isolated {
    /// Shared settings; intra-op threads and the output folder are set per cell.
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
}

/// Waits until other processes use under 5 % of the machine over a 200 ms window, or `limit`.
fn wait_for_idle(limit: Duration) {
    let start = Instant::now();
    let window = Duration::from_millis(200);
    let capacity = window.as_secs_f64() * crate::measure::cores() as f64;
    while start.elapsed() < limit {
        let (a, me) = (machine_busy_s(), Usage::of_self());
        std::thread::sleep(window);
        let ours = Usage::of_self().since(me).cpu_s();
        match a.zip(machine_busy_s()) {
            Some((a, b)) if (b - a - ours) / capacity < 0.05 => return,
            Some(_) => {}
            None => return,
        }
    }
}

impl RepRunner for Isolated {
    fn run(&mut self, cell: &Cell, _rep: Rep, tasks: Vec<Task>, on_task: &mut dyn FnMut(TaskRecord)) -> RepResult {
        let fail = |e: String| RepResult {
            measure: None,
            error: Some(e),
            other_cpu_s: None,
        };
        let mut ctx = self.base.clone();
        ctx.intra_op_threads = cell.intra_op_threads.map_or(1, |t| t.get());
        ctx.out_dir = self.outputs.join(cell.id());
        let job = Job {
            workload: cell.workload,
            tasks: Arc::new(tasks),
            ctx: Arc::new(ctx),
            workers: cell.workers.get(),
            task_timeout: self.task_timeout,
        };
        if let Err(e) = proc::ensure_single_threaded() {
            return fail(e);
        }
        // Workers orphaned by a dying repetition are re-parented here, to be reaped.
        proc::become_subreaper();
        let (rd, wr) = match pipe2(OFlag::O_CLOEXEC) {
            Ok(p) => p,
            Err(e) => return fail(format!("pipe failed: {e}")),
        };
        if let Some(limit) = self.wait_for_idle {
            wait_for_idle(limit);
        }
        let (busy_before, me_before) = (machine_busy_s(), Usage::of_self());
        let child = proc::spawn(|| {
            // Its own process group: a terminal's Ctrl-C reaches only the orchestrator, which
            // decides, and one signal reaches the repetition and all its workers.
            proc::own_group(Pid::from_raw(0));
            interrupt::reset_in_child();
            // SAFETY: the child's copy of the read end, closed once; never used again here.
            unsafe { libc::close(rd.as_raw_fd()) };
            child_main(cell, &job, &wr);
            0
        });
        let child = match child {
            Ok(pid) => pid,
            Err(e) => return fail(e),
        };
        drop(wr);
        proc::own_group(child);
        let executor = executor(cell.executor);
        let watch = Watch {
            task: self.task_timeout.map(|t| executor.watchdog(t)),
            repetition: self.repetition_timeout,
        };
        let result = supervise(rd, &watch, on_task);
        // Whatever happened, nothing of this repetition may outlive it.
        proc::kill_group(child);
        let waited = proc::wait(child);
        let orphans = proc::reap_orphans();
        match waited {
            Ok((status, usage)) => {
                let mut r = finish(result, status);
                // Other processes' CPU: the machine's busy time minus the repetition's whole
                // process tree (wait4 counts its reaped workers) and this orchestrator's own.
                let ours = usage.cpu_s() + orphans.cpu_s() + Usage::of_self().since(me_before).cpu_s();
                r.other_cpu_s = busy_before.zip(machine_busy_s()).map(|(a, b)| (b - a - ours).max(0.0));
                r
            }
            Err(e) => RepResult {
                error: Some(result.error.unwrap_or(format!("the repetition process {e}"))),
                ..result
            },
        }
    }
}

struct Watch {
    task: Option<Duration>,
    repetition: Option<Duration>,
}

/// Reads the repetition's messages until its pipe closes, killing it on a timeout or an
/// immediate stop; returns what it learnt.
fn supervise(rd: OwnedFd, watch: &Watch, on_task: &mut dyn FnMut(TaskRecord)) -> RepResult {
    let start = Instant::now();
    let mut result = RepResult::default();
    let mut running: Vec<(usize, Instant)> = Vec::new();
    let mut pipe = File::from(rd);
    let (mut buf, mut chunk) = (Vec::new(), vec![0u8; 64 * 1024]);
    let mut killed: Option<String> = None;
    loop {
        if killed.is_none() {
            let late = watch
                .task
                .and_then(|t| running.iter().find(|(_, s)| s.elapsed() > t).map(|(i, _)| (*i, t)));
            killed = if interrupt::stop_now() {
                Some("interrupted".to_string())
            } else if let Some((task, t)) = late {
                Some(format!(
                    "task {task} timed out after {:.3} s; the repetition was stopped",
                    t.as_secs_f64()
                ))
            } else {
                watch
                    .repetition
                    .filter(|t| start.elapsed() > *t)
                    .map(|t| format!("the repetition timed out after {:.3} s", t.as_secs_f64()))
            };
            if killed.is_some() {
                // The caller kills the repetition's process group.
                return RepResult {
                    measure: result.measure,
                    error: killed,
                    other_cpu_s: None,
                };
            }
        }
        let mut fds = [PollFd::new(pipe.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => {
                return RepResult {
                    measure: None,
                    error: Some(format!("poll failed: {e}")),
                    other_cpu_s: None,
                }
            }
        }
        let n = match pipe.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return RepResult {
                    measure: None,
                    error: Some(format!("reading the repetition's results: {e}")),
                    other_cpu_s: None,
                }
            }
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some(end) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            match serde_json::from_slice::<Msg>(&line) {
                Ok(Msg::Started(i)) => running.push((i, Instant::now())),
                Ok(Msg::Task(rec)) => {
                    running.retain(|(i, _)| *i != rec.task);
                    on_task(rec);
                }
                Ok(Msg::Done(m)) => result.measure = Some(m),
                Ok(Msg::Failed { error, measure }) => {
                    result.measure = Some(measure);
                    result.error = Some(error);
                }
                Err(e) => result.error = Some(format!("garbled message from the repetition process: {e}")),
            }
        }
    }
    result
}

fn finish(mut result: RepResult, status: proc::Status) -> RepResult {
    if result.measure.is_none() && result.error.is_none() {
        result.error = Some(format!("the repetition process {}", status.describe()));
    }
    result
}

/// The repetition process: runs the pool and sends each task's record and the measure up `wr`.
fn child_main(cell: &Cell, job: &Job, wr: &OwnedFd) {
    let mut out = File::from(wr.try_clone().unwrap_or_else(|_| proc::exit_now(1)));
    let watched = job.task_timeout.is_some();
    let mut send = |msg: &Msg| {
        let mut line = serde_json::to_vec(msg).unwrap_or_default();
        line.push(b'\n');
        let _ = out.write_all(&line);
    };
    reset_peak_rss();
    let before = Usage::of_self();
    let start = Instant::now();
    let res = executor(cell.executor).run(job, &mut |event| match event {
        TaskEvent::Started(i) if watched => send(&Msg::Started(i)),
        TaskEvent::Started(_) => {}
        TaskEvent::Finished(rec) => send(&Msg::Task(rec)),
    });
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
