//! A task as a worker receives it (its index, its kind, its input) and the repetition it belongs
//! to. A leaf: the plan makes tasks, workloads and executors run them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A workload, by its place in the workload registry (`src/workload/mod.rs`, which gives it its
/// name, its behaviour and its serde form): one byte, written and read as its name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkloadKind(pub(crate) u8);

/// A repetition: warm-ups come first and are not part of the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rep {
    pub warmup: bool,
    pub index: usize,
}

impl Rep {
    /// Measured repetition `i` uses stream `i`; warm-ups use a separate range, so changing the
    /// warm-up count never changes what the measured repetitions draw.
    pub fn stream(self) -> u64 {
        if self.warmup {
            (1 << 63) | self.index as u64
        } else {
            self.index as u64
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    /// A file drawn from an image folder; `source` is the folder's name.
    File { source: String, path: PathBuf },
    /// White noise generated in the task from `seed`.
    Noise { seed: u64, width: u32, height: u32 },
    /// Synthetic tasks read no image.
    None,
}

impl Input {
    pub fn source(&self) -> &str {
        match self {
            Input::File { source, .. } => source,
            Input::Noise { .. } => "noise",
            Input::None => "",
        }
    }

    /// The image's name for logs and output files.
    pub fn name(&self) -> String {
        match self {
            Input::File { path, .. } => path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            Input::Noise { seed, width, height } => format!("noise-{width}x{height}-{:08x}", seed >> 32),
            Input::None => String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub index: usize,
    /// The workload whose task this is (for mixed: resize or classify).
    pub kind: WorkloadKind,
    pub input: Input,
    /// The task's own seed, from the experiment's seed, its repetition and its index: what a
    /// user's workload gets to draw its own random work from.
    #[serde(default)]
    pub seed: u64,
}
