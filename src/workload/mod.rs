//! The work a task does, identical under every executor: one file per workload behind the
//! [`Workload`] trait, and [`ALL`], the list that names them.
//!
//! A new workload is one new file here and one line in [`ALL`]: its name, what it draws, its
//! `[section]` of the experiment file, the axes it declares, what it prepares once per run, its
//! per-worker state and how it runs one task all live in that file; its Python side (for the
//! py-* executors) is `Workload::python` and a class in `python/pools.py`.

mod alloc;
mod classify;
mod command;
mod error;
mod found;
mod image;
mod jpeg;
mod mixed;
mod model;
mod native;
pub mod ort_lib;
mod own;
mod preoptimize;
mod python_fn;
mod resize;
mod sleep;
mod spin;
mod worker;

use crate::tasks::Tasks;
use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use crate::axis::Values;
use crate::spec::{Section, SpecError};
use crate::task::Task;
pub use crate::task::WorkloadKind;

pub use self::classify::{file_name, ClassifySettings, ModelSource, Models, INTRA_OP_THREADS, MODEL};
pub use self::error::{NoSettings, Refused, WorkError};
pub use self::found::{ModelFound, OrtFound, PythonFound, RunFacts};
pub use self::image::{
    decode, decode_bytes, load_input, noise_pixels, parse_filter, resample, Filter, ImageError, Pixels,
};
pub use self::model::{preprocess_into, Model};
pub use self::own::input_path;
pub use self::python_fn::FUNCTION;
pub use self::resize::{Format, ResizeSettings, Subsampling, Target, FORMAT};
pub use self::spin::spin;
pub use self::worker::{Counters, Stages, TaskOutput, TaskRecord, Top1, Worker, TASK_COUNTERS};

/// Every workload an experiment may name, in the order `runner --help` lists them.
static ALL: &[&dyn Workload] = &[
    &resize::Resize,
    &classify::Classify,
    &mixed::Mixed,
    &spin::Spin,
    &sleep::Sleep,
    &alloc::Alloc,
    &command::Command,
    &python_fn::PythonFn,
    &native::Native,
];

/// What a workload is: its name, what it draws, its settings, and how its tasks run.
pub trait Workload: Sync {
    /// Its name in experiment files, cell ids and the `kind` column.
    fn name(&self) -> &'static str;

    /// What one task set draws: an image from each folder (and the noise image), this many
    /// inputs without an image, or what the experiment's `inputs` key says.
    fn draws(&self) -> Draws {
        Draws::Synthetic(3)
    }

    /// Whether it runs in the runner's own pools, in Python's (`python` true), or both; `Err`
    /// says why not, and the experiment is refused at validation.
    fn runs_in(&self, _python: bool) -> Result<(), Refused> {
        Ok(())
    }

    /// The modules its Python side imports (`python/pools.py` imports them at its top when a
    /// job has this workload; a subinterpreter cannot load numpy, Pillow or onnxruntime).
    fn python_imports(&self) -> &'static [&'static str] {
        &[]
    }

    /// The JSON Schema of its `[section]` (its wire struct's), for `runner schema`; None: it
    /// has no section.
    fn section_schema(&self, _generator: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        None
    }

    /// What it needs of this machine (a program on PATH, a module that imports, a library
    /// with its symbols), checked before anything runs; `Err` names what is missing.
    fn check(&self, _settings: &Settings, _python: Option<&Path>) -> Result<(), Refused> {
        Ok(())
    }

    /// Whether its settings can run on Python's pools (the experiment has a py-* executor);
    /// `Err` names the key, and the experiment is refused at validation.
    fn python_settings(&self, _settings: &Settings) -> Result<(), Refused> {
        Ok(())
    }

    /// What it needs of `python` to run in a subinterpreter (py-interpreter), checked before
    /// anything runs where a py-interpreter cell runs it; `Err` names what cannot load.
    fn check_subinterpreter(&self, _settings: &Settings, _python: &Path) -> Result<(), Refused> {
        Ok(())
    }

    /// The workloads whose task each drawn input becomes, by name; with more than one (mixed),
    /// the tasks of a repetition are shuffled by its seed. Empty: the workload itself.
    fn parts(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether its tasks run an ONNX model (sessions, intra-op threads, model hash).
    fn uses_model(&self) -> bool {
        false
    }

    /// Whether its tasks encode images, so the `format` axis applies to it.
    fn encodes_images(&self) -> bool {
        false
    }

    /// A rough estimate of one task's milliseconds on one core, for balancing shards between
    /// machines; only ratios between workloads matter.
    fn task_ms(&self, _settings: &Settings) -> f64 {
        10.0
    }

    /// Parses its `[section]` of the experiment file (`None` if it has none) into its typed
    /// settings; `used` says whether a cell runs it (only then must its files exist). A
    /// workload with no settings refuses a section of its name (the schema has none for it).
    fn settings(&self, section: &Section, _used: bool) -> Result<Option<Box<dyn Any + Send + Sync>>, SpecError> {
        match &section.value {
            Some(v) => section.fields.err(
                section.name,
                Some(v.span()),
                format!(
                    "the {} workload has no settings of its own: no [{}] table",
                    section.name, section.name
                ),
            ),
            None => Ok(None),
        }
    }

    /// The files beside the drawn images whose change would change what its tasks do (a
    /// model, a user's module or library): checked before every repetition.
    fn watched(&self, _settings: &Settings) -> Vec<PathBuf> {
        Vec::new()
    }

    /// Once per run, in the orchestrator before any repetition: e.g. load ONNX Runtime and
    /// optimise the model's graph. May replace its settings; returns facts for env.json.
    fn prepare(&self, _settings: &mut Settings, _env: &PrepareEnv) -> anyhow::Result<Prepared> {
        Ok(Prepared::default())
    }

    /// Once in each repetition process, before the runner's own pool starts and outside the
    /// measured wall time: e.g. load the ONNX Runtime library, which the forked workers share.
    fn enter(&self, _ctx: &Context, _tasks: &Tasks) -> Result<(), WorkError> {
        Ok(())
    }

    /// Once in each repetition process, before any pool starts (the runner's or Python's) and
    /// outside the measured wall time: write what the tasks read, e.g. the repetition's noise
    /// images as files for a user's program.
    fn inputs(&self, _ctx: &Context, _tasks: &Tasks) -> Result<(), WorkError> {
        Ok(())
    }

    /// Worker `worker`'s private state for this workload's tasks, built inside that worker
    /// (thread or process), e.g. its own ORT session.
    fn state(&self, ctx: &Context, worker: usize) -> Result<Box<dyn TaskState>, WorkError>;

    /// What `python/pools.py` runs this workload's tasks with (the Python executors): its
    /// settings for the cell of `ctx`; `None` when it has no Python implementation.
    fn python(&self, _ctx: &Context) -> Result<Option<serde_json::Value>, WorkError> {
        Ok(None)
    }

    /// Whether the Python interpreter's own standard output (fd 1: what is printed outside a
    /// task, by C code or by a program a task starts) is kept, as `stdout/python.out` in the
    /// cell's folder; else it goes to /dev/null. Never the protocol's channel.
    fn keeps_python_stdout(&self, _ctx: &Context) -> bool {
        false
    }
}

/// What a task set draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draws {
    Images,
    Synthetic(usize),
    /// As the experiment's `inputs` key says (a user's workload): images, or N inputs.
    Inputs,
}

/// One worker's state for one workload: runs its tasks.
pub trait TaskState: Send {
    /// Runs one task, recording stage times and a top-1 in `out`; a failure is an `Err`.
    fn run(&mut self, ctx: &Context, task: &Task, out: &mut TaskOutput) -> Result<(), WorkError>;
}

/// Where `prepare` may put files, and where it may look for libraries.
#[derive(Debug, Clone, Default)]
pub struct PrepareEnv {
    pub results_dir: PathBuf,
    /// `--ort-lib`, overriding the experiment's own setting.
    pub ort_lib: Option<PathBuf>,
    /// Folders whose ancestors may hold the project's `.deps/`.
    pub search_roots: Vec<PathBuf>,
}

/// What `prepare` learnt: facts for env.json and a fingerprint for every row (the models).
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    pub found: RunFacts,
    /// The models of the cells that classify, in the order the `model` axis indexes them.
    pub models: Vec<ModelId>,
}

/// A model as each row names it: its file name and the SHA-256 of its bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelId {
    pub file: String,
    pub sha256: String,
}

/// Each workload's typed settings, by workload name; shared read-only by every worker.
#[derive(Clone, Default)]
pub struct Settings(BTreeMap<&'static str, Arc<dyn Any + Send + Sync>>);

impl Settings {
    pub fn set<T: Any + Send + Sync>(&mut self, workload: &'static str, value: T) {
        self.0.insert(workload, Arc::new(value));
    }

    pub fn set_boxed(&mut self, workload: &'static str, value: Box<dyn Any + Send + Sync>) {
        self.0.insert(workload, Arc::from(value));
    }

    /// The settings of `workload`, of the type it parsed them into.
    pub fn get<T: Any>(&self, workload: &'static str) -> Result<&T, NoSettings> {
        self.0
            .get(workload)
            .and_then(|v| v.downcast_ref::<T>())
            .ok_or(NoSettings(workload))
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// Read-only state every worker of a repetition shares.
#[derive(Debug, Clone)]
pub struct Context {
    pub settings: Settings,
    /// Decoder limit: an image declaring more pixels fails its task.
    pub max_pixels: u64,
    /// The cell's own output folder (made by the workloads that save files).
    pub out_dir: PathBuf,
    /// The cell's axis values: each workload and executor reads its own axes from them
    /// (`FORMAT.word_of(&ctx.values)`).
    pub values: Values,
}

static NAMES: LazyLock<&'static [&'static str]> =
    LazyLock::new(|| Box::leak(ALL.iter().map(|w| w.name()).collect::<Vec<_>>().into_boxed_slice()));

impl WorkloadKind {
    pub fn named(name: &str) -> Option<WorkloadKind> {
        ALL.iter().position(|w| w.name() == name).map(|i| WorkloadKind(i as u8))
    }

    pub fn all() -> impl Iterator<Item = WorkloadKind> {
        (0..ALL.len()).map(|i| WorkloadKind(i as u8))
    }

    /// Every name, for error messages.
    pub fn names() -> &'static [&'static str] {
        &NAMES
    }

    pub fn name(self) -> &'static str {
        self.get().name()
    }

    pub fn get(self) -> &'static dyn Workload {
        ALL[self.0 as usize]
    }

    /// The workloads its tasks belong to: itself, or its parts (mixed: resize and classify).
    pub fn parts(self) -> Vec<WorkloadKind> {
        match self.get().parts() {
            [] => vec![self],
            names => names
                .iter()
                .map(|n| WorkloadKind::named(n).unwrap_or_else(|| panic!("{}: no workload `{n}`", self.name())))
                .collect(),
        }
    }

    /// Whether it or one of its parts encodes images (the `format` axis applies).
    pub fn encodes_images(self) -> bool {
        self.parts().iter().any(|p| p.get().encodes_images())
    }

    pub fn uses_images(self) -> bool {
        self.parts().iter().any(|p| p.get().draws() == Draws::Images)
    }

    pub fn uses_model(self) -> bool {
        self.parts().iter().any(|p| p.get().uses_model())
    }

    /// What one task set draws (a composite draws as its first part).
    pub fn draws(self) -> Draws {
        self.parts()[0].get().draws()
    }
}

crate::spec::by_name!(WorkloadKind);

/// The experiment file's folder and the project's, whose ancestors may hold `.deps/`.
pub fn search_roots(experiment_file: &Path) -> Vec<PathBuf> {
    [
        experiment_file.parent().map(Path::to_path_buf),
        std::env::current_exe().ok(),
        std::env::current_dir().ok(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_is_named_once_and_its_parts_exist() {
        let names = WorkloadKind::names();
        let mut sorted = names.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "{names:?}");
        for w in WorkloadKind::all() {
            assert_eq!(WorkloadKind::named(w.name()), Some(w));
            assert!(!w.parts().is_empty());
            assert!(
                w.parts().iter().all(|p| p.get().parts().is_empty()),
                "{w}: parts are leaves"
            );
        }
        assert_eq!(
            WorkloadKind::named("mixed").unwrap().parts(),
            [
                WorkloadKind::named("resize").unwrap(),
                WorkloadKind::named("classify").unwrap()
            ]
        );
    }

    #[test]
    fn kinds_serialise_as_their_names() {
        let k = WorkloadKind::named("spin").unwrap();
        assert_eq!(serde_json::to_string(&k).unwrap(), "\"spin\"");
        assert_eq!(serde_json::from_str::<WorkloadKind>("\"spin\"").unwrap(), k);
        let e = serde_json::from_str::<WorkloadKind>("\"fibers\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("fibers") && e.contains("resize"), "{e}");
    }
}
