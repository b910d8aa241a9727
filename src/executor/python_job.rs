//! The job the py-* executors hand `python/pools.py` ([`PyJobSpec`]): the executor, its
//! shape and axes, each workload's settings and the task count, as one JSON line; then the
//! tasks, in lines of a chunk or a batch each ([`task_lines`]), as Python reads them.

use std::path::PathBuf;

use serde::Serialize;

use super::{pinning, Job};
use crate::executor::PoolError;
use crate::pools::axes::{CHUNKSIZE, GIL, MAX_TASKS_PER_CHILD, START_METHOD};
use crate::task::{Input, Task};
use crate::workload::INTRA_OP_THREADS;

/// The job `pools.py` reads (one JSON line on its job descriptor).
#[derive(Serialize)]
pub(super) struct PyJobSpec {
    executor: &'static str,
    workers: usize,
    /// py-process: `auto` (the interpreter's default), `fork`, `spawn` or `forkserver`.
    start_method: Option<&'static str>,
    /// The `gil` axis: `off` or `on`, checked in every worker after its imports; `None`: as the
    /// build makes it.
    gil: Option<&'static str>,
    /// Tasks per message (py-process, py-interpreter; 1 otherwise).
    chunksize: u32,
    /// The task lines are the chunks, `chunksize` tasks each, which `pools.py` hands a worker
    /// unread ([`per_line`]); else batches it parses.
    chunk_lines: bool,
    /// py-process replaces a worker after this many calls (0: never).
    max_tasks_per_child: u32,
    intra_op_threads: u32,
    max_pixels: u64,
    out_dir: PathBuf,
    pin: Option<Vec<usize>>,
    /// Each part's settings, by workload name.
    settings: serde_json::Map<String, serde_json::Value>,
    /// How many tasks follow the job line ([`task_lines`]).
    tasks: usize,
}

#[derive(Serialize)]
struct PyTask {
    index: usize,
    kind: &'static str,
    image: String,
    input: PyInput,
    /// The task's own seed, and the file a user's workload reads (noise as its PNG).
    seed: u64,
    file: Option<PathBuf>,
}

/// A task's input: a file, generated noise, or nothing.
#[derive(Serialize)]
#[serde(untagged)]
enum PyInput {
    File { path: PathBuf },
    Noise { noise: u64, width: u32, height: u32 },
    Nothing {},
}

impl PyJobSpec {
    pub(super) fn new(job: &Job, executor: &'static str) -> Result<PyJobSpec, PoolError> {
        let mut settings = serde_json::Map::new();
        for part in job.workload.parts() {
            let s = part
                .get()
                .python(&job.ctx)?
                .ok_or_else(|| format!("workload {part} has no Python implementation"))?;
            settings.insert(part.name().to_string(), s);
        }
        Ok(PyJobSpec {
            executor,
            workers: job.shape.workers(),
            start_method: START_METHOD
                .of(&job.ctx.values)
                .map(|_| START_METHOD.word_of(&job.ctx.values)),
            gil: GIL
                .of(&job.ctx.values)
                .map(|_| GIL.word_of(&job.ctx.values))
                .filter(|w| *w != "default"),
            intra_op_threads: INTRA_OP_THREADS.count_of(&job.ctx.values),
            chunksize: CHUNKSIZE
                .of(&job.ctx.values)
                .map_or(1, |_| CHUNKSIZE.count_of(&job.ctx.values)),
            chunk_lines: chunk_lines(job),
            max_tasks_per_child: MAX_TASKS_PER_CHILD
                .of(&job.ctx.values)
                .map_or(0, |_| MAX_TASKS_PER_CHILD.count_of(&job.ctx.values)),
            max_pixels: job.ctx.max_pixels,
            out_dir: job.ctx.out_dir.clone(),
            pin: pinning::cores(job),
            settings,
            tasks: job.tasks.len(),
        })
    }
}

/// Tasks per line after the job: enough that a line costs little, few enough that Python holds
/// a handful of them however many tasks there are.
const BATCH: usize = 256;

/// Tasks per line: a pool that takes chunks (py-process, py-interpreter) gets a line per chunk,
/// which `pools.py` hands a worker as it came, making no object per task in the parent; the
/// others a line per [`BATCH`].
fn per_line(job: &Job) -> usize {
    match chunk_lines(job) {
        true => CHUNKSIZE.count_of(&job.ctx.values).max(1) as usize,
        false => BATCH,
    }
}

/// Whether the job's pool takes chunks: the one rule both sides of the task lines follow.
fn chunk_lines(job: &Job) -> bool {
    CHUNKSIZE.of(&job.ctx.values).is_some()
}

/// The job's tasks as `pools.py` reads them after the job line: JSON arrays of up to
/// [`per_line`] tasks, a line each, made as they are written (the pipe makes the writer wait
/// for Python).
pub(super) fn task_lines(job: &Job) -> impl Iterator<Item = Result<Vec<u8>, PoolError>> + '_ {
    let mut tasks = job.tasks.iter().peekable();
    let per_line = per_line(job);
    std::iter::from_fn(move || {
        tasks.peek()?;
        let batch: Vec<PyTask> = tasks.by_ref().take(per_line).map(|t| py_task(job, &t)).collect();
        Some(
            serde_json::to_vec(&batch)
                .map(|mut line| {
                    line.push(b'\n');
                    line
                })
                .map_err(|e| PoolError::Said(format!("cannot write task {} for Python: {e}", batch[0].index))),
        )
    })
}

fn py_task(job: &Job, t: &Task) -> PyTask {
    PyTask {
        index: t.index,
        kind: t.kind.name(),
        image: t.input.name(),
        input: match &t.input {
            Input::File { path, .. } => PyInput::File { path: path.clone() },
            Input::Noise { seed, width, height } => PyInput::Noise {
                noise: *seed,
                width: *width,
                height: *height,
            },
            Input::None => PyInput::Nothing {},
        },
        seed: t.seed,
        file: crate::workload::input_path(&job.ctx, t),
    }
}
