//! The experiment file's core keys exactly as TOML spells them: serde structs, unknown keys
//! refused, and (from the same declarations: docs, defaults, ranges) their part of `runner
//! schema`. The axes' keys are read by the axes (`crate::plan::axes`) before these structs see
//! the file; each workload's `[section]` is its own wire struct, in its own file.

use schemars::JsonSchema;
use serde::Deserialize;
use toml::de::{DeTable, Deserializer};
use toml::Spanned;

use crate::pools::ExecutorKind;
use crate::spec::{Fields, OneOrMany, SpecError};
use crate::workload::WorkloadKind;

/// The defaults of the core keys, where the parser applies them and the schema states them.
pub const DEFAULT_WORKERS: usize = 1;
pub const DEFAULT_SETS: usize = 16;
pub const DEFAULT_REPETITIONS: usize = 6;
pub const DEFAULT_WARMUP: u64 = 1;
pub const DEFAULT_OUTPUT_DIR: &str = "../results";

/// An experiment: the work, the pools, the axes; a list is an axis.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "runner experiment")]
pub struct RawExperiment {
    /// The experiment's name: it names its results folder (no slash, no leading dot).
    #[schemars(length(min = 1, max = super::validate::MAX_NAME), regex(pattern = r"^[^./\\][^/\\]*$"))]
    pub name: String,
    /// Free text for the reader of the file; the runner keeps the file's text whole.
    #[allow(dead_code)]
    pub description: Option<String>,
    /// The work each task does (a list is an axis).
    #[schemars(with = "OneOrMany<WorkloadKind>")]
    pub workload: Spanned<OneOrMany<WorkloadKind>>,
    /// The pools compared (a list is an axis): sequential is the baseline of runner's own pools,
    /// py-sequential of Python's.
    #[schemars(with = "OneOrMany<ExecutorKind>")]
    pub executor: Spanned<OneOrMany<ExecutorKind>>,
    /// Workers per pool (a list is an axis).
    #[schemars(with = "Option<OneOrMany<Positive>>", extend("default" = DEFAULT_WORKERS))]
    pub workers: Option<Spanned<OneOrMany<i64>>>,
    /// hybrid only: worker processes (a list is an axis).
    #[schemars(with = "Option<OneOrMany<Positive>>")]
    pub processes: Option<Spanned<OneOrMany<i64>>>,
    /// hybrid only: threads in each process (a list is an axis).
    #[schemars(with = "Option<OneOrMany<Positive>>")]
    pub threads: Option<Spanned<OneOrMany<i64>>>,
    /// Task sets per repetition: each draws one input per image folder (and the noise image),
    /// or `inputs` inputs (a list is an axis).
    #[schemars(with = "Option<OneOrMany<Positive>>", extend("default" = DEFAULT_SETS))]
    pub sets: Option<Spanned<OneOrMany<i64>>>,
    /// Measured repetitions per cell: a count, or paired rounds until every verdict is decided.
    #[schemars(with = "Option<RawReps>", extend("default" = DEFAULT_REPETITIONS))]
    pub repetitions: Option<Spanned<RawReps>>,
    /// Unmeasured repetitions per cell before the measured ones.
    #[schemars(with = "Option<u64>", extend("default" = DEFAULT_WARMUP))]
    pub warmup: Option<Spanned<i64>>,
    /// The seed of every draw and order.
    #[schemars(with = "Option<u64>", extend("default" = 0))]
    pub seed: Option<Spanned<i64>>,
    /// The order repetitions run in: paired rounds (each cell once per round, shuffled), all of
    /// a cell at once, cells interleaved, or random.
    #[schemars(with = "Option<Order>", extend("default" = "paired"))]
    pub order: Option<Spanned<String>>,
    /// Before each repetition, wait up to this long for other processes to leave the machine idle.
    #[schemars(with = "Option<Seconds>")]
    pub wait_for_idle_s: Option<Spanned<f64>>,
    /// Two pools are equal when the ratio's interval lies within 1 ± this.
    #[schemars(with = "Option<f64>", extend("default" = super::DEFAULT_EQUIVALENCE, "exclusiveMinimum" = 0.0, "exclusiveMaximum" = 1.0))]
    pub equivalence: Option<Spanned<f64>>,
    /// What a user's workload (command, python, native) draws per set: `"images"` (the default
    /// with an `[images]` table), or a count of tasks with no file (the default, 3, without).
    #[schemars(with = "Option<RawInputs>")]
    pub inputs: Option<Spanned<RawInputs>>,
    /// The image folders each set draws from, and the noise image.
    pub images: Option<RawImages>,
    /// Which pairs of pools the answer states; by default, within each language every pair,
    /// across languages each pool with its mirror.
    #[schemars(with = "Option<RawAnswer>")]
    pub answer: Option<Spanned<RawAnswer>>,
    /// Read by `runner slurm` only: the partitions, each of which runs the whole matrix.
    #[schemars(with = "Option<RawSlurm>")]
    pub slurm: Option<Spanned<RawSlurm>>,
    /// Where results go.
    #[serde(default)]
    pub output: RawOutput,
    /// Guards against runaway work and absurd matrices.
    #[serde(default)]
    pub limits: RawLimits,
}

impl RawExperiment {
    /// The core keys as their wire struct. toml names no key for an error at the top level: the
    /// error's is the last key (or table) that starts before it.
    pub fn parse(cx: &Fields, doc: Spanned<DeTable>) -> Result<RawExperiment, SpecError> {
        let starts: Vec<(usize, String)> = doc
            .get_ref()
            .keys()
            .map(|k| (k.span().start, k.get_ref().to_string()))
            .collect();
        RawExperiment::deserialize(Deserializer::from(doc)).map_err(|e| {
            let key = e
                .span()
                .and_then(|s| starts.iter().filter(|(at, _)| *at <= s.start).max());
            cx.toml_error(key.map(|(_, k)| k.as_str()), &e)
        })
    }
}

/// A whole number of at least 1.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct Positive(#[schemars(range(min = 1))] u64);

/// A positive number of seconds below 1e9.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct Seconds(#[schemars(range(max = 1e9), extend("exclusiveMinimum" = 0.0))] f64);

/// The orders `order` names.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum Order {
    Paired,
    Cells,
    Interleaved,
    Random,
}

/// `repetitions = 6`, or `repetitions = { min = 6, max = 60, until = "decided", time_budget_s = 300 }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "a count of repetitions, or { min, max, until = \"decided\", time_budget_s }"
)]
pub enum RawReps {
    Count(#[schemars(range(min = 1))] i64),
    Until(RawUntil),
}

/// Paired rounds until every verdict is decided (or bounded), from `min` to `max` rounds.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawUntil {
    /// Rounds before the first look.
    #[schemars(range(min = 1))]
    pub min: i64,
    /// The most rounds.
    #[schemars(range(min = 1))]
    pub max: i64,
    /// The stopping rule: `decided`.
    #[schemars(with = "Decided")]
    pub until: String,
    /// Stop before a look that would end past this many seconds.
    #[schemars(with = "Option<Seconds>")]
    pub time_budget_s: Option<f64>,
}

/// The one stopping rule.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum Decided {
    Decided,
}

/// `inputs = "images"` or `inputs = 3`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "\"images\", or a count of inputs per set")]
pub enum RawInputs {
    Word(#[schemars(with = "Images")] String),
    Count(#[schemars(range(min = 1, max = 1_000_000))] i64),
}

/// Draw the inputs from `[images]`.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum Images {
    Images,
}

/// `[images]`: the folders each task set draws from (one image per folder per set) and the
/// noise image.
#[derive(Debug, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawImages {
    /// Image folders, relative to this file.
    #[schemars(with = "Option<Vec<String>>", extend("default" = ["../assets/high-res", "../assets/low-res"]))]
    pub folders: Option<Spanned<Vec<String>>>,
    /// Also draw a seeded noise image each set.
    #[schemars(extend("default" = true))]
    pub noise: Option<bool>,
    /// The noise image's [width, height].
    #[schemars(with = "Option<[NoiseSide; 2]>", extend("default" = [1024, 1024]))]
    pub noise_size: Option<Spanned<[i64; 2]>>,
    /// Refuse images with more pixels than this.
    #[schemars(with = "Option<Positive>", extend("default" = 50_000_000))]
    pub max_pixels: Option<Spanned<i64>>,
}

/// A side of the noise image, in pixels.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct NoiseSide(#[schemars(range(min = 1, max = 16384))] u32);

/// `[answer]`: the question the answer states, as pairs or against one pool (not both).
#[derive(Debug, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAnswer {
    /// The pairs of pools compared, e.g. [["py-thread", "py-process"], ["thread", "process"]];
    /// a pool paired with itself compares its variants (Python's start methods).
    #[schemars(length(min = 1))]
    pub compare: Option<Vec<[ExecutorKind; 2]>>,
    /// Every other pool (loops left out) compared against this one, e.g. the pool a program
    /// uses today.
    pub reference: Option<ExecutorKind>,
}

/// `[slurm]`: read by `runner slurm`; the run ignores it.
#[derive(Debug, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSlurm {
    /// Kinds of machine: each partition runs the whole matrix as its own job array, and the
    /// merged answer sets their verdicts side by side (`--partition` on the command line wins).
    #[schemars(length(min = 1), inner(regex(pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")))]
    pub partitions: Vec<String>,
}

/// `[output]`.
#[derive(Debug, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    /// The results folder, relative to this file: runs go to `<dir>/<name>/<timestamp>`.
    #[schemars(extend("default" = DEFAULT_OUTPUT_DIR))]
    pub dir: Option<String>,
    /// Which tasks' rows tasks.csv and run.log keep: every task, only the failed ones, or none
    /// (runs of millions of tiny tasks). runs.csv's per-task columns count every task either way.
    #[schemars(extend("default" = "all"))]
    pub task_log: Option<crate::record::TaskLog>,
}

/// `[limits]`.
#[derive(Debug, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// A task running longer than this is killed and counted as failed.
    #[schemars(with = "Option<Seconds>")]
    pub task_timeout_s: Option<Spanned<f64>>,
    /// A repetition running longer than this is killed and counted as failed.
    #[schemars(with = "Option<Seconds>")]
    pub repetition_timeout_s: Option<Spanned<f64>>,
    /// The most cells the axes may make (--allow-large lifts it).
    #[schemars(with = "Option<Positive>", extend("default" = super::size::DEFAULT_MAX_CELLS))]
    pub max_cells: Option<Spanned<i64>>,
    /// The most workers a cell may ask for (--allow-large lifts it).
    #[schemars(with = "Option<Positive>", extend("default" = super::size::DEFAULT_MAX_WORKERS))]
    pub max_workers: Option<Spanned<i64>>,
}
