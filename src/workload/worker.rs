//! A worker's side of a task: its private state for each workload of its cell, and the record of
//! what one task did.

use super::WorkError;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{Context, TaskState, WorkloadKind};
use crate::axis::{no_check, AxisDef, Kind, Role, Value};
use crate::measure::{ms, Usage};
use crate::outcome::TaskFailure;
use crate::task::Task;

pub static TASK_COUNTERS: AxisDef = AxisDef {
    doc: "`task_counters = [\"off\", \"on\"]`: each task of the runner's pools reads its thread's page faults and context switches (`getrusage(RUSAGE_THREAD)`) before and after it, for tasks.csv. Two calls a task cost about 1 µs (1.5 in the process pool; docs/performance.md), as much as the sequential loop's whole overhead, so it is off unless asked for. Part of the measurement, not of the pool: verdicts compare cells of one setting; `on` names cells `...-tc-...`.",
    key: "task_counters",
    section: None,
    column: "task_counters",
    role: Role::Work,
    kind: Kind::Words(&["off", "on"]),
    applies: |k| !k.python,
    id: |v| (v == Value::Word("on")).then(|| "-tc".to_string()),
    setting: |v| (v == Value::Word("on")).then(|| ", task counters".to_string()),
    check: no_check,
};

/// One task's own page faults and context switches, on its worker's thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    pub minflt: u64,
    pub majflt: u64,
    pub nvcsw: u64,
    pub nivcsw: u64,
}

/// Time spent in each stage of one task, in milliseconds (0 where a stage does not apply).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stages {
    pub decode_ms: f64,
    pub resize_ms: f64,
    pub encode_ms: f64,
    pub save_ms: f64,
    pub preprocess_ms: f64,
    pub inference_ms: f64,
}

impl Stages {
    pub fn add(&mut self, o: &Stages) {
        self.decode_ms += o.decode_ms;
        self.resize_ms += o.resize_ms;
        self.encode_ms += o.encode_ms;
        self.save_ms += o.save_ms;
        self.preprocess_ms += o.preprocess_ms;
        self.inference_ms += o.inference_ms;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Top1 {
    pub index: usize,
    pub label: Option<String>,
    pub prob: f32,
}

/// What a task's run reports beside success: its stage times, a classifier's top-1, a user's
/// function's result, and the peak RSS of the program a command task ran.
#[derive(Debug, Clone, Default)]
pub struct TaskOutput {
    pub stages: Stages,
    pub top1: Option<Top1>,
    pub result: Option<String>,
    pub child_peak_kib: u64,
    /// A command task: the processes its program left running, killed (`pid 123 (sleep 30)`).
    pub leaked: Vec<String>,
}

/// What happened to one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub task: usize,
    /// The task's own seed.
    #[serde(default)]
    pub seed: u64,
    pub kind: WorkloadKind,
    pub source: String,
    pub image: String,
    /// Index of the worker (thread or process) that ran it; `None` when none did.
    pub worker: Option<usize>,
    pub error: Option<TaskFailure>,
    /// Time inside the worker, from start of the task to its end.
    pub ms: f64,
    /// Time from the start of the task phase until a worker started it (queueing and dispatch).
    pub wait_ms: f64,
    /// Process pool: round trip minus the task's own time (dispatch, IPC, result decoding).
    #[serde(default)]
    pub ipc_ms: f64,
    pub stages: Stages,
    pub top1: Option<Top1>,
    /// The cores the task's thread could run on when it started (`0`, `0-1`).
    #[serde(default)]
    pub cpus: String,
    /// A user's function's result (a string or number, at most 64 characters).
    #[serde(default)]
    pub result: Option<String>,
    /// The peak RSS of the program a command task ran, KiB (0 when it ran none).
    #[serde(default)]
    pub child_peak_kib: u64,
    /// A command task: the processes its program left running when it ended, killed.
    #[serde(default)]
    pub leaked: Vec<String>,
    /// With `task_counters`: the task's thread's faults and context switches while it ran.
    #[serde(default)]
    pub counters: Option<Counters>,
}

impl TaskRecord {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }

    /// A task that never ran, or whose worker died under it.
    pub fn failed(task: &Task, worker: Option<usize>, error: TaskFailure) -> TaskRecord {
        TaskRecord {
            error: Some(error),
            ..TaskRecord::blank(task, worker)
        }
    }

    /// A record of `task` with nothing measured and no failure, for its pool to fill in.
    pub fn blank(task: &Task, worker: Option<usize>) -> TaskRecord {
        TaskRecord {
            task: task.index,
            seed: task.seed,
            kind: task.kind,
            source: task.input.source().to_string(),
            image: task.input.name(),
            worker,
            error: None,
            ms: 0.0,
            wait_ms: 0.0,
            ipc_ms: 0.0,
            stages: Stages::default(),
            top1: None,
            cpus: String::new(),
            result: None,
            child_peak_kib: 0,
            leaked: Vec::new(),
            counters: None,
        }
    }
}

/// One worker's private state: one [`TaskState`] per workload its cell's tasks belong to.
pub struct Worker {
    pub id: usize,
    states: Vec<(WorkloadKind, Box<dyn TaskState>)>,
    /// Seconds it took to build the states that create a model session (0 without a model).
    pub session_s: f64,
    /// The cores its thread may run on, read once when it is built (after any pinning): the
    /// mask does not change while it lives, and reading it per task cost a syscall each.
    pub cpus: String,
    /// Read each task's counters (`task_counters = "on"`).
    counting: bool,
}

impl Worker {
    /// Builds a worker for `workload`'s tasks; with a model this creates the ORT session, so call
    /// it inside the worker (thread or forked process) that will use it.
    pub fn new(ctx: &Context, workload: WorkloadKind, id: usize) -> Result<Worker, WorkError> {
        let mut states = Vec::new();
        let mut session_s = 0.0;
        for part in workload.parts() {
            let start = Instant::now();
            states.push((part, part.get().state(ctx, id)?));
            if part.uses_model() {
                session_s += start.elapsed().as_secs_f64();
            }
        }
        Ok(Worker {
            id,
            states,
            session_s,
            cpus: crate::proc::affinity(),
            counting: TASK_COUNTERS.word_of(&ctx.values) == "on",
        })
    }

    /// Runs one task; a failure is recorded in the result, never raised.
    pub fn run(&mut self, ctx: &Context, task: &Task) -> TaskRecord {
        let before = self.counting.then(Usage::of_thread);
        let start = Instant::now();
        let mut out = TaskOutput::default();
        let result = match self.states.iter_mut().find(|(k, _)| *k == task.kind) {
            Some((_, state)) => state.run(ctx, task, &mut out),
            None => Err(WorkError::Said(format!(
                "this worker has no state for {} tasks",
                task.kind
            ))),
        };
        TaskRecord {
            task: task.index,
            seed: task.seed,
            kind: task.kind,
            source: task.input.source().to_string(),
            image: task.input.name(),
            worker: Some(self.id),
            error: result.err().map(|e| TaskFailure::Work(e.to_string())),
            ms: ms(start.elapsed()),
            counters: before.map(|b| {
                let d = Usage::of_thread().since(b);
                Counters {
                    minflt: d.minflt,
                    majflt: d.majflt,
                    nvcsw: d.nvcsw,
                    nivcsw: d.nivcsw,
                }
            }),
            wait_ms: 0.0,
            ipc_ms: 0.0,
            stages: out.stages,
            top1: out.top1,
            cpus: String::new(),
            result: out.result,
            child_peak_kib: out.child_peak_kib,
            leaked: out.leaked,
        }
    }
}
