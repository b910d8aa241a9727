//! The work a task does (resize, classify, spin, sleep), identical under every executor.

mod classify;
mod image;
pub mod ort_lib;
mod preoptimize;
mod resize;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::draw::{Task, TaskKind};
use crate::measure::ms;
use crate::spec::{ClassifySettings, ResizeSettings};

pub use self::classify::{preprocess_into, Model};
pub use self::image::{decode, decode_bytes, load_input, Pixels};
pub use self::preoptimize::preoptimize;
pub use self::resize::resample;

/// Read-only state every worker of a repetition shares.
#[derive(Debug, Clone)]
pub struct Context {
    pub resize: ResizeSettings,
    pub classify: Option<Arc<ModelSource>>,
    pub intra_op_threads: usize,
    pub spin_iterations: u64,
    pub sleep: Duration,
    /// Alloc tasks: bytes to allocate and touch, and how long to hold them.
    pub alloc_bytes: usize,
    pub alloc_hold: Duration,
    pub max_pixels: u64,
    /// Where resized images are saved; `None` when saving is off.
    pub out_dir: Option<PathBuf>,
}

/// The classifier, loaded once by the parent: its bytes, settings and labels.
#[derive(Debug, Clone)]
pub struct ModelSource {
    pub settings: ClassifySettings,
    pub bytes: Vec<u8>,
    /// SHA-256 of the model file as given (before any optimisation).
    pub sha256: String,
    pub labels: Option<Vec<String>>,
    /// A graph ORT already optimised for this machine, written by [`preoptimize`] with its
    /// weights in a file beside it: sessions load this instead of `bytes`, without optimising,
    /// and ORT maps the weights from the page cache instead of copying them.
    pub optimized: Option<PathBuf>,
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

/// What happened to one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub task: usize,
    pub kind: TaskKind,
    pub source: String,
    pub image: String,
    /// Index of the worker (thread or process) that ran it.
    pub worker: usize,
    pub error: Option<String>,
    /// Time inside the worker, from start of the task to its end.
    pub ms: f64,
    /// Time from the start of the task phase until a worker started it (queueing and dispatch).
    pub wait_ms: f64,
    /// Process pool: round trip minus the task's own time (dispatch, IPC, result decoding).
    #[serde(default)]
    pub ipc_ms: f64,
    pub stages: Stages,
    pub top1: Option<Top1>,
}

impl TaskRecord {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }

    /// A task that never ran, or whose worker died under it.
    pub fn failed(task: &Task, worker: usize, error: String) -> TaskRecord {
        TaskRecord {
            task: task.index,
            kind: task.kind,
            source: task.input.source().to_string(),
            image: task.input.name(),
            worker,
            error: Some(error),
            ms: 0.0,
            wait_ms: 0.0,
            ipc_ms: 0.0,
            stages: Stages::default(),
            top1: None,
        }
    }
}

/// One worker's private state: buffers and, when the workload classifies, its own ORT session.
pub struct Worker {
    pub id: usize,
    resizer: fast_image_resize::Resizer,
    model: Option<Model>,
    encoded: Vec<u8>,
    /// Seconds it took to create this worker's session (0 without a model).
    pub session_s: f64,
}

impl Worker {
    /// Builds a worker; with a model this creates the ORT session, so call it inside the worker
    /// (thread or forked process) that will use it.
    pub fn new(ctx: &Context, id: usize) -> Result<Worker, String> {
        let start = Instant::now();
        let model = match &ctx.classify {
            Some(src) => Some(Model::new(src.clone(), ctx.intra_op_threads)?),
            None => None,
        };
        Ok(Worker {
            id,
            resizer: fast_image_resize::Resizer::new(),
            model,
            encoded: Vec::new(),
            session_s: if ctx.classify.is_some() {
                start.elapsed().as_secs_f64()
            } else {
                0.0
            },
        })
    }

    /// Runs one task; a failure is recorded in the result, never raised.
    pub fn run(&mut self, ctx: &Context, task: &Task) -> TaskRecord {
        let start = Instant::now();
        let mut stages = Stages::default();
        let mut top1 = None;
        let result = match task.kind {
            TaskKind::Resize => {
                resize::run(ctx, task, &mut self.resizer, &mut self.encoded, &mut stages).map_err(|e| e.to_string())
            }
            TaskKind::Classify => match &mut self.model {
                Some(m) => m
                    .classify(ctx, task, &mut self.resizer, &mut stages)
                    .map(|t| top1 = Some(t)),
                None => Err("this workload has no model".to_string()),
            },
            TaskKind::Spin => {
                spin(ctx.spin_iterations);
                Ok(())
            }
            TaskKind::Sleep => {
                std::thread::sleep(ctx.sleep);
                Ok(())
            }
            TaskKind::Alloc => {
                alloc(ctx.alloc_bytes, ctx.alloc_hold);
                Ok(())
            }
        };
        TaskRecord {
            task: task.index,
            kind: task.kind,
            source: task.input.source().to_string(),
            image: task.input.name(),
            worker: self.id,
            error: result.err(),
            ms: ms(start.elapsed()),
            wait_ms: 0.0,
            ipc_ms: 0.0,
            stages,
            top1,
        }
    }
}

/// Allocates `bytes`, writes every page so it is resident, holds it, frees it.
pub fn alloc(bytes: usize, hold: Duration) {
    // Zeroed memory comes lazily from the kernel: only the writes below make it resident.
    let mut v = vec![0u8; bytes];
    for page in v.chunks_mut(4096) {
        page[0] = 1;
    }
    std::hint::black_box(&v);
    std::thread::sleep(hold);
}

/// A fixed count of dependent integer operations: pure CPU, no memory traffic.
pub fn spin(iterations: u64) -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..iterations {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}
