//! Python's pools, which the py-* executors run: the repetition process starts the interpreter
//! on `python/pools.py`, hands it the job ([`PyJobSpec`]: each workload's settings and the task
//! count, then the tasks as it reads them) on a descriptor of its own and reads one JSON message per line back ([`FromPython`])
//! on another, so nothing the user's code prints reaches the protocol; both are typed here and
//! in pools.py, and a message of another shape is an error. It measures the interpreter and its
//! pool from outside, as it measures its own pools: phases by its own clock, CPU by `wait4` (the
//! interpreter's waited-for workers included, orphans adopted and reaped), PSS and each
//! process's peak RSS over the interpreter's process tree.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::unistd::Pid;
use serde::Deserialize;

use super::python_job::{task_lines, PyJobSpec};
use super::python_lines::Lines;
use super::{Job, PoolStats, PythonFacts, PythonPool, TaskEvent};
use crate::executor::PoolError;
use crate::measure::{peak_rss_of, pss_kib, tree_pids, tree_pss_kib};
use crate::outcome::TaskFailure;
use crate::pools::{ExecutorKind, ShapeKind};
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

/// How long the pool's shutdown may take before it is killed.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(30);

/// What `pools.py` writes, one JSON object per line, tagged by `msg`.
#[derive(Deserialize)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub(super) enum FromPython {
    /// Imports done: the interpreter's start-up ends here.
    Hello,
    /// Every worker built its state: pool start ends here.
    Ready(Ready),
    /// A worker (process `pid`) took a task.
    Started { task: usize, pid: i32 },
    /// One task's record.
    Task(PyRecord),
    /// py-process's pool broke (a worker died): `tasks` have no result.
    Broken(Broken),
    /// The task phase is over.
    TasksDone,
    /// Every record is written: the runner measures the pool's memory, then lets it shut down.
    RecordsDone(Done),
}

/// The end of the records: how many workers the pool started in all (recycled ones count),
/// and the pids of those alive now (py-process; empty for the others).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Done {
    #[serde(default)]
    workers_started: usize,
    #[serde(default)]
    pids: Vec<i32>,
}

/// The tasks a broken pool will not finish, and why it broke (the worker that died, and how).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Broken {
    why: String,
    pid: Option<i32>,
    tasks: Vec<usize>,
}

/// One task as `pools.py` reports it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PyRecord {
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
    /// A user's function's result.
    #[serde(default)]
    result: Option<String>,
    /// The peak RSS of a command task's program, KiB.
    #[serde(default)]
    child_peak_kib: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Ready {
    session_s: f64,
    states: usize,
    workers: usize,
    /// The worker processes (the interpreter itself for threads and the loop).
    pids: Vec<i32>,
    error: Option<String>,
    /// What the first worker runs on, read inside it after its imports.
    python: Option<PythonFacts>,
    /// py-process: the start method its workers started by (what `auto` chose).
    #[serde(default)]
    start_method: Option<String>,
}

/// The descriptors `pools.py` reads the job from and writes its messages to (TO_RUNNER and
/// JOB_IN there).
const TO_RUNNER: i32 = 3;
const JOB_IN: i32 = 4;

/// Runs `job` on the Python pool `executor` (`py-sequential`, `py-thread`, `py-process`, `py-interpreter`).
pub(super) fn run(
    job: &Job,
    executor: ExecutorKind,
    on_event: &mut dyn FnMut(TaskEvent),
) -> Result<PoolStats, PoolError> {
    let py = job
        .python
        .as_ref()
        .ok_or("no Python interpreter was set up for this run")?;
    let spec = serde_json::to_string(&PyJobSpec::new(job, executor.name())?).map_err(|e| e.to_string())? + "\n";
    // Python's own helpers (forkserver, resource tracker) may outlive the interpreter for a
    // moment: adopted here, they are reaped and counted.
    proc::become_subreaper();
    let start = Instant::now();
    let (child, to_python, mut io) = start_interpreter(job, py)?;
    let pid = Pid::from_raw(child.id() as i32);
    let mut stats = PoolStats::default();
    let mut feeder = None;
    let phases = pool_start(
        &mut io,
        to_python,
        &spec,
        |pipe| feeder = Some(feed(job, pipe)),
        start,
        &mut stats,
    )
    .and_then(|ready| Ok((ready, task_phase(&mut io, pid, job, on_event, &mut stats)?)))
    // Python has read every task, so the feeder is done: it hands the pipe back.
    .and_then(|(ready, done)| {
        let fed = feeder.take().ok_or("the tasks were never sent")?.join();
        Ok((ready, done, fed.map_err(|_| "the task feeder panicked".to_string())??))
    });
    let (ready, done, to_python) = match phases {
        Ok(phases) => phases,
        Err(e) => {
            // A feeder that stopped says why (Python only saw its lines end).
            let why = match feeder.filter(|f| f.is_finished()).map(JoinHandle::join) {
                Some(Ok(Err(fed))) => fed,
                _ => e,
            };
            return Err(fail(&mut io, why.to_string()).into());
        }
    };
    stats.workers_started = stats.workers_started.max(done.workers_started);
    let pids = if done.pids.is_empty() { &ready.pids } else { &done.pids };
    measure(pid, pids, executor, &mut stats);
    shut_down(pid, &mut io, to_python, &mut stats)?;
    Ok(stats)
}

/// Writes the tasks after the job line, from a thread of its own, as Python reads them (the pipe
/// holds 64 KiB), and hands the pipe back. It holds the only write end, so if it stops, Python
/// sees its lines end and says so. Not scoped: on a failure nobody waits for it (a process that
/// survived with the read end could block it for ever); the repetition process's exit ends it.
fn feed(job: &Job, mut pipe: File) -> JoinHandle<Result<File, PoolError>> {
    let job = job.clone();
    std::thread::spawn(move || {
        for line in task_lines(&job) {
            pipe.write_all(&line?)
                .map_err(|e| format!("cannot send Python its tasks: {e}"))?;
        }
        Ok(pipe)
    })
}

/// Starts the interpreter on `pools.py`: standard input /dev/null, fd 1 the user's output (the
/// cell's `stdout/python.out` where a workload keeps it, else /dev/null), the protocol on two
/// pipes of its own (fd 3 to the runner, fd 4 from it), stderr kept for error messages.
fn start_interpreter(job: &Job, py: &Interpreter) -> Result<(std::process::Child, File, Lines), PoolError> {
    let mut imports: Vec<&str> = Vec::new();
    for m in job.workload.parts().iter().flat_map(|p| p.get().python_imports()) {
        if !imports.contains(m) {
            imports.push(m);
        }
    }
    let pipe = || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("pipe failed: {e}"));
    let ((from_python, python_out), (python_in, to_python)) = (pipe()?, pipe()?);
    let keep = job
        .workload
        .parts()
        .iter()
        .any(|p| p.get().keeps_python_stdout(&job.ctx));
    let stdout = if keep {
        let dir = job.ctx.out_dir.join("stdout");
        std::fs::create_dir_all(&dir)
            .and_then(|_| File::create(dir.join("python.out")))
            .map(Stdio::from)
            .map_err(|e| format!("cannot keep Python's output in {}: {e}", dir.display()))?
    } else {
        Stdio::null()
    };
    let mut command = Command::new(&py.interpreter);
    proc::dies_with_parent(&mut command);
    proc::pass_fds(
        &mut command,
        &[(python_out.as_raw_fd(), TO_RUNNER), (python_in.as_raw_fd(), JOB_IN)],
    )
    .arg(&py.module)
    .args(imports)
    .stdin(Stdio::null())
    .stdout(stdout)
    .stderr(Stdio::piped())
    // Marks the interpreter and every process it starts, for the fault drills.
    .env("RUNNER_PYTHON_MODULE", &py.module);
    if let Some(gil) = crate::pools::axes::python_gil(&job.ctx.values) {
        // The `gil` axis: for the interpreter and, inherited, every worker it starts.
        command.env("PYTHON_GIL", gil);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", py.interpreter.display()))?;
    // Only the interpreter holds its ends now: its death closes the pipe.
    drop((python_out, python_in));
    let err = child.stderr.take().ok_or("no stderr")?;
    Ok((child, File::from(to_python), Lines::new(File::from(from_python), err)))
}

/// On any failure the interpreter and everything it started are killed (its workers hold its
/// pipes, so nothing else would end them) and reaped here; the error gets stderr's last line.
fn fail(io: &mut Lines, what: String) -> String {
    proc::kill_descendants(Duration::from_secs(5));
    io.drain(Instant::now() + Duration::from_secs(1));
    format!("{what}{}", io.stderr_tail())
}

/// The interpreter's start-up (until `hello`) and the pool's (until `ready`).
fn pool_start(
    io: &mut Lines,
    mut stdin: File,
    spec: &str,
    feed: impl FnOnce(File),
    start: Instant,
    stats: &mut PoolStats,
) -> Result<Ready, PoolError> {
    match io.next() {
        Some(Ok(FromPython::Hello)) => {}
        Some(Err(e)) => return Err(e),
        _ => return Err("the Python interpreter did not start".into()),
    }
    let interpreter_s = start.elapsed().as_secs_f64();
    stdin
        .write_all(spec.as_bytes())
        .and_then(|_| stdin.flush())
        .map_err(|e| format!("cannot send the job to Python: {e}"))?;
    feed(stdin);
    let ready = match io.next() {
        Some(Ok(FromPython::Ready(r))) => r,
        Some(Err(e)) => return Err(e),
        _ => return Err("Python's pool did not start".into()),
    };
    stats.pool_start_s = start.elapsed().as_secs_f64() - interpreter_s;
    stats.session_s = ready.session_s;
    stats.sessions = ready.states;
    stats.workers_started = ready.workers;
    stats.python = Some(PythonPool {
        interpreter_s,
        facts: ready.python.clone(),
        start_method: ready.start_method.clone(),
    });
    if ready.states == 0 {
        // No worker could build its state: the pool cannot run at all, as for Rust's pools.
        let why = ready.error.clone().unwrap_or_default();
        return Err(format!("every Python worker failed to start: {why}").into());
    }
    Ok(ready)
}

/// The task phase ends when Python says so; each record comes as its task ends, until
/// `records_done`. What ended is kept whatever happens next: if the interpreter dies, the tasks
/// it was running fail with its exit status (the others were never started).
fn task_phase(
    io: &mut Lines,
    pid: Pid,
    job: &Job,
    on_event: &mut dyn FnMut(TaskEvent),
    stats: &mut PoolStats,
) -> Result<Done, PoolError> {
    let phase = Instant::now();
    // A bit a task (a byte a task would be a megabyte at a million).
    let mut done = vec![0u64; job.tasks.len().div_ceil(64)];
    let mut tasks = job.tasks.cursor();
    // The tasks started and not ended, and the process running each: O(workers).
    let mut running: Vec<(usize, i32)> = Vec::new();
    let mut end = |task: usize, rec: TaskRecord, on_event: &mut dyn FnMut(TaskEvent)| -> Result<(), String> {
        let (word, bit) = (task / 64, 1u64 << (task % 64));
        match done.get_mut(word) {
            Some(d) if task < job.tasks.len() && *d & bit == 0 => *d |= bit,
            _ => return Err(format!("Python reported task {task} twice or unasked")),
        }
        on_event(TaskEvent::Finished(rec));
        Ok(())
    };
    while let Some(msg) = io.next() {
        match msg? {
            FromPython::Started { task, pid } => {
                running.push((task, pid));
                on_event(TaskEvent::Started(task));
            }
            FromPython::TasksDone => stats.task_phase_s = phase.elapsed().as_secs_f64(),
            FromPython::RecordsDone(done) => return Ok(done),
            FromPython::Task(r) => {
                running.retain(|(t, _)| *t != r.task);
                let task = tasks.at(r.task).ok_or("Python reported a task it was not given")?;
                end(r.task, r.into_record(&task), on_event)?;
            }
            FromPython::Broken(b) => {
                for i in b.tasks {
                    let task = tasks.at(i).ok_or("Python reported a task it was not given")?;
                    let why = match running.iter().find(|(t, _)| *t == i) {
                        Some((_, p)) if Some(*p) == b.pid => TaskFailure::Died(format!("{} running task {i}", b.why)),
                        Some((_, p)) => {
                            TaskFailure::Died(format!("task {i} was stopped on worker process {p}: {}", b.why))
                        }
                        None => TaskFailure::NotRun(b.why.clone()),
                    };
                    running.retain(|(t, _)| *t != i);
                    end(i, TaskRecord::failed(&task, None, why), on_event)?;
                }
            }
            FromPython::Hello | FromPython::Ready(_) => return Err("Python said hello twice".into()),
        }
    }
    // The pipe closed before the end: the interpreter died (or closed it and is ending).
    let how = proc::wait_within(pid, Duration::from_secs(2)).map_or_else(|e| e.to_string(), |(s, _)| s.describe());
    let names: Vec<String> = running.iter().map(|(t, _)| t.to_string()).collect();
    for &(i, _) in &running {
        let task = tasks.at(i).ok_or("Python reported a task it was not given")?;
        end(
            i,
            TaskRecord::failed(
                &task,
                None,
                TaskFailure::Died(format!("Python {how} while task {i} ran")),
            ),
            on_event,
        )?;
    }
    Err(match names.len() {
        0 => format!("Python {how} in the task phase").into(),
        1 => format!("Python {how} in the task phase, running task {}", names[0]).into(),
        _ => format!("Python {how} in the task phase, running tasks {}", names.join(", ")).into(),
    })
}

impl PyRecord {
    fn into_record(self, task: &crate::task::Task) -> TaskRecord {
        let mut rec = TaskRecord::blank(task, self.worker);
        rec.error = self.error.map(TaskFailure::Work);
        (rec.ms, rec.wait_ms, rec.ipc_ms) = (self.ms, self.wait_ms, self.ipc_ms);
        (rec.stages, rec.top1, rec.cpus) = (self.stages, self.top1, self.cpus);
        (rec.result, rec.child_peak_kib) = (self.result, self.child_peak_kib);
        rec
    }
}

/// The pool's memory at the end of the task phase: the interpreter and every process under it
/// (its workers, and Python's forkserver or resource tracker where it runs one), not this
/// coordinating process, which the runner's own pools do not have; the workers' own PSS from
/// the pids they reported.
fn measure(pid: Pid, workers: &[i32], executor: ExecutorKind, stats: &mut PoolStats) {
    let tree = tree_pids(pid.as_raw());
    stats.pss_kib = tree_pss_kib(pid.as_raw()).unwrap_or(0);
    if executor.shape() == ShapeKind::Processes {
        stats.workers_pss_kib = Some(workers.iter().filter_map(|&p| pss_kib(Some(p))).sum());
    }
    stats.children_peak_kib = tree.iter().filter_map(|&p| peak_rss_of(p)).sum();
}

/// Lets the pool shut down (a line on stdin), within [`SHUTDOWN_LIMIT`], and reaps it all.
fn shut_down(pid: Pid, io: &mut Lines, mut stdin: File, stats: &mut PoolStats) -> Result<(), PoolError> {
    let shutdown = Instant::now();
    let _ = stdin.write_all(b"\n");
    drop(stdin);
    // A pool that cannot shut down within the limit is killed, as the thread pool's is.
    if !io.drain(shutdown + SHUTDOWN_LIMIT) {
        return Err(fail(io, format!("Python's pool did not shut down within {SHUTDOWN_LIMIT:?}")).into());
    }
    let (status, usage) = proc::wait(pid)?;
    let orphans = proc::reap_all(Duration::from_secs(5));
    stats.shutdown_s = shutdown.elapsed().as_secs_f64();
    stats.children = usage.plus(orphans);
    if !status.success() {
        return Err(format!("Python {}{}", status.describe(), io.stderr_tail()).into());
    }
    Ok(())
}
