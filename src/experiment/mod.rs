//! The experiment file: read once, parsed into types that cannot hold a bad value
//! ([`validate`]: the core keys and the axes; each workload parses its own `[section]` in its
//! own file), then checked against the machine ([`machine`]) before anything runs.

mod exclude;
mod images;
mod machine;
mod question;
mod raw;
mod repetitions;
mod schema;
mod size;
mod slurm;
mod validate;
mod zip;

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::plan::{Axes, Exclude, Images, Order, Repetitions};
use crate::spec::SpecError;
use crate::workload::Settings;

pub use machine::check as check_machine;
pub use schema::schema;
pub use slurm::partitions;
pub use validate::Overrides;

/// `repetitions = { min, max, until = "decided", time_budget_s }`: after `min` rounds, rounds of
/// only the undecided comparisons' cells (and their baselines) until every verdict is decided,
/// `max` rounds ran, or the budget is spent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Until {
    pub max: usize,
    pub budget: Option<Duration>,
}

/// `equivalence` when the file does not set it: ±5 %.
pub const DEFAULT_EQUIVALENCE: f64 = 0.05;

/// A validated experiment: every path exists, every count is positive, every list is non-empty.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub name: String,
    /// The experiment file, absolute.
    pub file: PathBuf,
    /// The file's text, kept for the run's metadata and its hash.
    pub text: String,
    pub sha256: String,
    pub axes: Axes,
    pub exclude: Vec<Exclude>,
    /// Measured repetitions of every cell (with `until`: the least, before the first look).
    pub repetitions: NonZeroUsize,
    /// Repetitions until decided: more rounds of the undecided comparisons, up to a maximum
    /// or a time budget.
    pub until: Option<Until>,
    pub warmup: usize,
    pub seed: u64,
    pub order: Order,
    pub images: Images,
    /// Each workload's own settings, parsed from its section.
    pub settings: Settings,
    pub output_dir: PathBuf,
    /// Which tasks' rows tasks.csv and run.log keep (`[output] task_log`).
    pub task_log: crate::record::TaskLog,
    pub task_timeout: Option<Duration>,
    pub repetition_timeout: Option<Duration>,
    /// Two pools count as equal when their throughput ratio's whole interval lies within
    /// [1 - equivalence, 1 + equivalence].
    pub equivalence: f64,
    /// Which pairs of pools the answer states (`[answer]`).
    pub question: crate::plan::Question,
    /// `[slurm] partitions`: each runs the whole matrix under `runner slurm`.
    pub partitions: Vec<String>,
    /// Before each repetition, wait up to this long for the machine to be idle.
    pub wait_for_idle: Option<Duration>,
    /// The Python executors' interpreters (the `python` axis, in its order): from the file,
    /// or (after [`check_machine`]) the project's venv; empty when no cell uses them.
    pub python: Vec<PathBuf>,
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

#[cfg(test)]
mod tests;
