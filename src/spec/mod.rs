//! The experiment file: read once, parsed into types that cannot hold a bad value.

mod raw;
mod validate;

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::plan::{ExecutorKind, WorkloadKind};

pub use raw::OneOrMany;
pub use validate::{hex, Overrides};

/// A validated experiment: every path exists, every count is positive, every list is non-empty.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub name: String,
    pub description: Option<String>,
    /// The experiment file, absolute.
    pub file: PathBuf,
    /// The file's text, kept for the run's metadata and its hash.
    pub text: String,
    pub sha256: String,
    pub axes: Axes,
    pub exclude: Vec<Exclude>,
    pub repetitions: NonZeroUsize,
    pub warmup: usize,
    pub seed: u64,
    pub images: Images,
    pub resize: ResizeSettings,
    pub classify: ClassifySettings,
    pub spin_iterations: u64,
    pub sleep: Duration,
    /// Alloc tasks: MiB each allocates and touches, and how long it holds them.
    pub alloc_mib: usize,
    pub alloc_hold: Duration,
    pub output_dir: PathBuf,
    pub task_timeout: Option<Duration>,
    pub repetition_timeout: Option<Duration>,
    pub order: Order,
    /// Before each repetition, wait up to this long for the machine to be idle.
    pub wait_for_idle: Option<Duration>,
}

/// The order repetitions run in. A cell's warm-ups always come before its measured repetitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Every repetition of a cell, then the next cell.
    Cells,
    /// Repetition 0 of every cell, then repetition 1 of every cell, ...: drift hits all alike.
    Interleaved,
    /// All (cell, repetition) pairs in a seeded random order.
    Random,
}

/// The values each axis takes; the plan is their cartesian product.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Axes {
    pub workload: Vec<WorkloadKind>,
    pub executor: Vec<ExecutorKind>,
    pub workers: Vec<NonZeroUsize>,
    pub intra_op_threads: Vec<NonZeroUsize>,
    pub sets: Vec<NonZeroUsize>,
}

/// Drops every cell that matches all the keys it names.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exclude {
    pub workload: Option<WorkloadKind>,
    pub executor: Option<ExecutorKind>,
    pub workers: Option<NonZeroUsize>,
    pub intra_op_threads: Option<NonZeroUsize>,
    pub sets: Option<NonZeroUsize>,
}

#[derive(Debug, Clone)]
pub struct Images {
    /// Each task set draws one image from each folder.
    pub folders: Vec<ImageFolder>,
    /// Width and height of the white-noise image each set generates, if any.
    pub noise: Option<(u32, u32)>,
    /// Decoder limit: an image declaring more pixels than this fails its task.
    pub max_pixels: u64,
}

#[derive(Debug, Clone)]
pub struct ImageFolder {
    /// The folder's name, used as the image's source in the logs.
    pub label: String,
    pub path: PathBuf,
    /// Image files, sorted by name so that draws are the same on every machine.
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Target {
    Exact { width: u32, height: u32 },
    Percent(u32),
}

impl Target {
    pub fn dims(self, width: u32, height: u32) -> (u32, u32) {
        match self {
            Target::Exact { width, height } => (width, height),
            Target::Percent(p) => (
                ((width as u64 * p as u64 / 100) as u32).max(1),
                ((height as u64 * p as u64 / 100) as u32).max(1),
            ),
        }
    }

    pub fn label(self) -> String {
        match self {
            Target::Exact { width, height } => format!("{width}x{height}"),
            Target::Percent(p) => format!("{p}pct"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Filter {
    Nearest,
    Box,
    Bilinear,
    Hamming,
    CatmullRom,
    Mitchell,
    Lanczos3,
}

impl Filter {
    pub const NAMES: &'static str = "nearest, box, bilinear, hamming, catmullrom, mitchell, lanczos3";

    pub fn parse(s: &str) -> Option<Filter> {
        Some(match s.to_ascii_lowercase().as_str() {
            "nearest" => Filter::Nearest,
            "box" => Filter::Box,
            "bilinear" | "triangle" => Filter::Bilinear,
            "hamming" => Filter::Hamming,
            "catmullrom" | "bicubic" => Filter::CatmullRom,
            "mitchell" => Filter::Mitchell,
            "lanczos3" | "lanczos" => Filter::Lanczos3,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Subsampling {
    /// 2x2 chroma, as Pillow and libjpeg save by default.
    S420,
    /// Full-resolution chroma.
    S444,
}

#[derive(Debug, Clone)]
pub struct ResizeSettings {
    pub targets: Vec<Target>,
    pub filter: Filter,
    pub quality: u8,
    /// JPEG chroma subsampling: 4:2:0 (Pillow's default) or 4:4:4.
    pub subsampling: Subsampling,
    pub save: bool,
}

#[derive(Debug, Clone)]
pub struct ClassifySettings {
    pub model: PathBuf,
    pub input: (u32, u32),
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub labels: Option<PathBuf>,
    pub filter: Filter,
    pub ort_library: Option<PathBuf>,
    /// Optimise the graph once per run and let every worker load the result.
    pub preoptimize: bool,
}

impl Experiment {
    /// Reads and validates an experiment file.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Experiment, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|e| SpecError {
            file: path.to_path_buf(),
            key: None,
            line: None,
            message: format!("cannot read the experiment file: {e}"),
        })?;
        validate::parse(path, &text, overrides)
    }

    /// Parses and validates experiment text as if read from `path` (relative paths resolve
    /// from its folder).
    pub fn from_text(path: &Path, text: &str, overrides: &Overrides) -> Result<Experiment, SpecError> {
        validate::parse(path, text, overrides)
    }

    pub fn needs_model(&self) -> bool {
        self.axes.workload.iter().any(|w| w.uses_model())
    }
}

/// A bad experiment file: which file, which key, which line, and what is wrong.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub struct SpecError {
    pub file: PathBuf,
    pub key: Option<String>,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

#[cfg(test)]
mod tests;
