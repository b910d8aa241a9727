//! The experiment file: read once, parsed into types that cannot hold a bad value. The core keys
//! are parsed here; each workload parses its own `[section]` in its own file.

mod fields;
mod images;
mod raw;
mod validate;

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::plan::{Axes, Exclude, Images, Order, Repetitions};
use crate::workload::Settings;

pub use fields::{hex, Fields, Section};
pub use raw::OneOrMany;
pub use validate::Overrides;

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
    pub order: Order,
    pub images: Images,
    /// Each workload's own settings, parsed from its section.
    pub settings: Settings,
    pub output_dir: PathBuf,
    pub task_timeout: Option<Duration>,
    pub repetition_timeout: Option<Duration>,
    /// Before each repetition, wait up to this long for the machine to be idle.
    pub wait_for_idle: Option<Duration>,
    /// The Python executors' interpreter; `None` when no cell uses them.
    pub python: Option<PathBuf>,
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

    /// How many repetitions of each cell run, in which order, from which seed.
    pub fn repetition_plan(&self) -> Repetitions {
        Repetitions {
            warmup: self.warmup,
            measured: self.repetitions.get(),
            order: self.order,
            seed: self.seed,
        }
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
