//! Python's pools as executors (`py-sequential`, `py-thread`, `py-process`): the repetition
//! process starts the interpreter on `python/pools.py`, hands it the tasks and each workload's
//! settings as JSON, and reads one JSON line per event back. It measures the interpreter and
//! its pool from outside, as it measures its own pools: phases by its own clock, CPU by `wait4`
//! (the interpreter's waited-for workers included, orphans adopted and reaped), PSS and each
//! process's peak RSS over the interpreter's process tree.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::Pid;
use serde::Deserialize;

use super::{Executor, Job, PoolStats, TaskEvent};
use crate::measure::{peak_rss_of, pss_kib, tree_pids, tree_pss_kib};
use crate::plan::{ExecutorKind, StartMethod};
use crate::proc;
use crate::workload::{Stages, TaskRecord, Top1};

/// The Python module every py-* executor runs, built into the binary; each run writes it into
/// its results folder (`pools.py`) and runs that copy.
pub const MODULE: &str = include_str!("../../python/pools.py");

/// The Python a run's py-* cells use.
#[derive(Debug, Clone)]
pub struct Interpreter {
    /// The project's venv, or `python` named in the experiment.
    pub interpreter: PathBuf,
    /// The copy of [`MODULE`] to run.
    pub module: PathBuf,
}

/// What a repetition needs to run one of Python's pools.
#[derive(Debug, Clone)]
pub struct PyJob {
    pub py: Interpreter,
    pub executor: ExecutorKind,
    pub start_method: Option<StartMethod>,
}

pub struct PyPool;

/// How long the pool's shutdown may take before it is killed.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(30);

/// One task as `pools.py` reports it.
#[derive(Deserialize)]
struct PyRecord {
    task: usize,
    worker: Option<usize>,
    error: Option<String>,
    #[serde(default)]
    ms: f64,
    #[serde(default)]
    wait_ms: f64,
    #[serde(default)]
    ipc_ms: f64,
    #[serde(default)]
    stages: Stages,
    top1: Option<Top1>,
    #[serde(default)]
    cpus: String,
}

#[derive(Deserialize)]
struct Ready {
    session_s: f64,
    states: usize,
    workers: usize,
    /// The worker processes (the interpreter itself for threads and the loop).
    pids: Vec<i32>,
    error: Option<String>,
}

impl Executor for PyPool {
    fn run(&self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, String> {
        let py = job
            .python
            .as_ref()
            .ok_or("no Python interpreter was set up for this run")?;
        let spec = spec(job, py)?;
        // Python's own helpers (forkserver, resource tracker) may outlive the interpreter for a
        // moment: adopted here, they are reaped and counted.
        proc::become_subreaper();
        let start = Instant::now();
        let mut child = Command::new(&py.py.interpreter)
            .arg(&py.py.module)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Marks the interpreter and every process it starts, for the fault drills.
            .env("RUNNER_PYTHON_MODULE", &py.py.module)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", py.py.interpreter.display()))?;
        let pid = Pid::from_raw(child.id() as i32);
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        let mut io = Lines::new(
            child.stdout.take().ok_or("no stdout")?,
            child.stderr.take().ok_or("no stderr")?,
        );
        let mut stats = PoolStats::default();
        // On any failure the interpreter and everything it started are killed (its workers hold
        // its pipes, so nothing else would end them) and reaped here.
        let fail = |io: &mut Lines, what: String| -> String {
            proc::kill_descendants(Duration::from_secs(5));
            io.drain(Instant::now() + Duration::from_secs(1));
            format!("{what}{}", io.stderr_tail())
        };

        let hello = io.next();
        if hello.as_ref().is_none_or(|v| v.get("hello").is_none()) {
            return Err(fail(&mut io, "the Python interpreter did not start".into()));
        }
        stats.interpreter_s = start.elapsed().as_secs_f64();
        if let Err(e) = stdin.write_all(spec.as_bytes()).and_then(|_| stdin.flush()) {
            return Err(fail(&mut io, format!("cannot send the job to Python: {e}")));
        }
        let ready: Ready = match io.next().map(serde_json::from_value) {
            Some(Ok(r)) => r,
            _ => return Err(fail(&mut io, "Python's pool did not start".into())),
        };
        stats.pool_start_s = start.elapsed().as_secs_f64() - stats.interpreter_s;
        stats.session_s = ready.session_s;
        stats.sessions = ready.states;
        stats.workers_started = ready.workers;
        if ready.states == 0 {
            // No worker could build its state: the pool cannot run at all, as for Rust's pools.
            let why = ready.error.unwrap_or_default();
            return Err(fail(&mut io, format!("every Python worker failed to start: {why}")));
        }

        // The task phase ends when Python says so; records come during it (with a task timeout,
        // so the watchdog sees each task end) or after it.
        let phase = Instant::now();
        let mut done = vec![false; job.tasks.len()];
        let mut ended = false;
        while let Some(v) = io.next() {
            if let Some(i) = v.get("started").and_then(|i| i.as_u64()) {
                on_event(TaskEvent::Started(i as usize));
            } else if v.get("tasks_done").is_some() {
                stats.task_phase_s = phase.elapsed().as_secs_f64();
            } else if v.get("records_done").is_some() {
                ended = true;
                break;
            } else {
                let r: PyRecord =
                    serde_json::from_value(v).map_err(|e| fail(&mut io, format!("a bad record from Python: {e}")))?;
                let task = job
                    .tasks
                    .get(r.task)
                    .filter(|_| !done[r.task])
                    .ok_or_else(|| fail(&mut io, format!("Python reported task {} twice or unasked", r.task)))?;
                done[r.task] = true;
                let mut rec = TaskRecord::failed(task, r.worker.unwrap_or(usize::MAX), String::new());
                (rec.error, rec.ms, rec.wait_ms, rec.ipc_ms) = (r.error, r.ms, r.wait_ms, r.ipc_ms);
                (rec.stages, rec.top1, rec.cpus) = (r.stages, r.top1, r.cpus);
                on_event(TaskEvent::Finished(rec));
            }
        }
        if !ended {
            return Err(fail(&mut io, "Python stopped in the task phase".into()));
        }
        // The pool's memory at the end of the task phase: the interpreter and every process under
        // it (its workers, and Python's forkserver or resource tracker where it runs one), not
        // this coordinating process, which the runner's own pools do not have; the workers'
        // own PSS from the pids they reported.
        let tree = tree_pids(pid.as_raw());
        stats.pss_kib = tree_pss_kib(pid.as_raw()).unwrap_or(0);
        if py.executor == ExecutorKind::PyProcess {
            stats.workers_pss_kib = Some(ready.pids.iter().filter_map(|&p| pss_kib(Some(p))).sum());
        }
        stats.children_peak_kib = tree.iter().filter_map(|&p| peak_rss_of(p)).sum();

        let shutdown = Instant::now();
        let _ = stdin.write_all(b"\n");
        drop(stdin);
        // A pool that cannot shut down within the limit is killed, as the thread pool's is.
        if !io.drain(shutdown + SHUTDOWN_LIMIT) {
            return Err(fail(
                &mut io,
                format!("Python's pool did not shut down within {SHUTDOWN_LIMIT:?}"),
            ));
        }
        let (status, usage) = proc::wait(pid)?;
        let orphans = proc::reap_all(Duration::from_secs(5));
        stats.shutdown_s = shutdown.elapsed().as_secs_f64();
        stats.children = usage.plus(orphans);
        if !status.success() {
            return Err(format!("Python {}{}", status.describe(), io.stderr_tail()));
        }
        Ok(stats)
    }
}

/// The job `pools.py` reads: the executor, its shape, each part's settings, the tasks.
fn spec(job: &Job, py: &PyJob) -> Result<String, String> {
    let mut settings = serde_json::Map::new();
    for part in job.workload.parts() {
        let s = part
            .get()
            .python(&job.ctx)?
            .ok_or_else(|| format!("workload {part} has no Python implementation"))?;
        settings.insert(part.name().to_string(), s);
    }
    let tasks: Vec<serde_json::Value> = job
        .tasks
        .iter()
        .map(|t| {
            let input = match &t.input {
                crate::plan::Input::File { path, .. } => serde_json::json!({ "path": path }),
                crate::plan::Input::Noise { seed, width, height } => {
                    serde_json::json!({ "noise": seed, "width": width, "height": height })
                }
                crate::plan::Input::None => serde_json::json!({}),
            };
            serde_json::json!({ "index": t.index, "kind": t.kind.name(), "image": t.input.name(), "input": input })
        })
        .collect();
    let spec = serde_json::json!({
        "executor": py.executor.name(),
        "workers": job.workers,
        "start_method": py.start_method.map(|m| m.name()),
        "intra_op_threads": job.ctx.intra_op_threads,
        "max_pixels": job.ctx.max_pixels,
        "watch": job.task_timeout.is_some(),
        "out_dir": job.ctx.out_dir,
        "pin": job.pin.as_deref(),
        "settings": settings,
        "tasks": tasks,
    });
    Ok(format!("{spec}\n"))
}

/// The interpreter's stdout as JSON lines, with its stderr kept (the last 4 KiB) for errors.
struct Lines {
    out: std::process::ChildStdout,
    err: std::process::ChildStderr,
    buf: Vec<u8>,
    stderr: Vec<u8>,
    out_open: bool,
    err_open: bool,
}

impl Lines {
    fn new(out: std::process::ChildStdout, err: std::process::ChildStderr) -> Lines {
        Lines {
            out,
            err,
            buf: Vec::new(),
            stderr: Vec::new(),
            out_open: true,
            err_open: true,
        }
    }

    /// The next JSON line; `None` at the end of stdout. A line that is not JSON (something
    /// printed by a library) is kept with stderr and skipped.
    fn next(&mut self) -> Option<serde_json::Value> {
        loop {
            if let Some(n) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=n).collect();
                match serde_json::from_slice(&line) {
                    Ok(v) => return Some(v),
                    Err(_) => self.keep_stderr(&line),
                }
                continue;
            }
            if !self.out_open {
                return None;
            }
            self.pump(PollTimeout::NONE);
        }
    }

    fn keep_stderr(&mut self, bytes: &[u8]) {
        self.stderr.extend_from_slice(bytes);
        let cut = self.stderr.len().saturating_sub(4096);
        self.stderr.drain(..cut);
    }

    /// Reads whatever is ready on stdout and stderr, waiting up to `timeout` for something.
    fn pump(&mut self, timeout: PollTimeout) {
        let mut chunk = [0u8; 64 * 1024];
        let (o, e) = (self.out_open, self.err_open);
        let mut fds = Vec::new();
        if o {
            fds.push(PollFd::new(self.out.as_fd(), PollFlags::POLLIN));
        }
        if e {
            fds.push(PollFd::new(self.err.as_fd(), PollFlags::POLLIN));
        }
        if fds.is_empty() || poll(&mut fds, timeout).is_err() {
            return;
        }
        let ready: Vec<bool> = fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect();
        drop(fds);
        let mut k = 0;
        if o {
            if ready[k] {
                match self.out.read(&mut chunk) {
                    Ok(0) | Err(_) => self.out_open = false,
                    Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                }
            }
            k += 1;
        }
        if e && ready[k] {
            match self.err.read(&mut chunk) {
                Ok(0) | Err(_) => self.err_open = false,
                Ok(n) => self.keep_stderr(&chunk[..n]),
            }
        }
    }

    /// Reads both pipes to their end (the interpreter and its workers have exited or are
    /// exiting); `false` if they are still open at `deadline`.
    fn drain(&mut self, deadline: Instant) -> bool {
        while self.out_open || self.err_open {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let ms = left.as_millis().min(1000) as u16;
            self.pump(PollTimeout::from(ms.max(1)));
        }
        self.buf.clear();
        true
    }

    fn stderr_tail(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr);
        let text = text.trim();
        match text.lines().last() {
            Some(last) => format!(": {last}"),
            None => String::new(),
        }
    }
}
