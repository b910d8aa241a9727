//! The experiment file's core keys exactly as TOML spells them: serde structs, unknown keys
//! refused. The axes' keys are read by the axes (`crate::plan::axes`) before these structs see
//! the file; each workload's `[section]` is its own wire struct, in its own file.

use serde::Deserialize;
use toml::Spanned;

use crate::executor::ExecutorKind;
use crate::spec::OneOrMany;
use crate::workload::WorkloadKind;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExperiment {
    pub name: String,
    /// Free text for the reader of the file; the runner keeps the file's text whole.
    #[allow(dead_code)]
    pub description: Option<String>,
    pub workload: Spanned<OneOrMany<WorkloadKind>>,
    pub executor: Spanned<OneOrMany<ExecutorKind>>,
    pub workers: Option<Spanned<OneOrMany<i64>>>,
    pub processes: Option<Spanned<OneOrMany<i64>>>,
    pub threads: Option<Spanned<OneOrMany<i64>>>,
    pub sets: Option<Spanned<OneOrMany<i64>>>,
    pub repetitions: Option<Spanned<RawReps>>,
    pub warmup: Option<Spanned<i64>>,
    pub seed: Option<Spanned<i64>>,
    pub order: Option<Spanned<String>>,
    pub wait_for_idle_s: Option<Spanned<f64>>,
    /// Two pools are equal when the ratio's interval lies within 1 ± this.
    pub equivalence: Option<Spanned<f64>>,
    /// What a user's workload draws per set: `"images"` or a count.
    pub inputs: Option<Spanned<RawInputs>>,
    pub images: Option<RawImages>,
    #[serde(default)]
    pub output: RawOutput,
    #[serde(default)]
    pub limits: RawLimits,
}

/// `repetitions = 6`, or `repetitions = { min = 6, max = 60, until = "decided", time_budget_s = 300 }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawReps {
    Count(i64),
    Until(RawUntil),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUntil {
    pub min: i64,
    pub max: i64,
    pub until: String,
    pub time_budget_s: Option<f64>,
}

/// `inputs = "images"` or `inputs = 3`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawInputs {
    Word(String),
    Count(i64),
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawImages {
    pub folders: Option<Spanned<Vec<String>>>,
    pub noise: Option<bool>,
    pub noise_size: Option<Spanned<[i64; 2]>>,
    pub max_pixels: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    pub dir: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub task_timeout_s: Option<Spanned<f64>>,
    pub repetition_timeout_s: Option<Spanned<f64>>,
    pub max_cells: Option<Spanned<i64>>,
    pub max_workers: Option<Spanned<i64>>,
}
