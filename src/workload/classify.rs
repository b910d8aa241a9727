//! The classify workload: decode, preprocess and run an ONNX classifier, one ORT session per
//! worker. Its settings are the `[classify]` section; once per run it finds and loads ONNX
//! Runtime, hashes the model and optimises its graph.

use super::{Refused, WorkError};
use crate::tasks::Tasks;
use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use fast_image_resize::Resizer;
use serde::Deserialize;
use toml::Spanned;

use super::image::{parse_filter, pillow_resamples, Filter};
use super::model::{Model, ModelError};
use super::preoptimize::preoptimize;
use super::{
    ort_lib, Context, Draws, ModelFound, ModelId, OrtFound, PrepareEnv, Prepared, RunFacts, Settings, TaskOutput,
    TaskState, Workload,
};
use crate::axis::{no_check, AxisDef, Kind, Role, Value};
use crate::spec::{OneOrMany, Section, SpecError};
use crate::task::Task;

pub struct Classify;

pub static MODEL: AxisDef = AxisDef {
    doc: "`[classify] model`: the ONNX model (relative to this file; default ../models/resnet18.onnx, else the one `runner model` built); a list multiplies the cells with a model. The first model adds nothing to a cell id; the second is `-m2`, and so on.",
    key: "model",
    section: Some("classify"),
    column: "model",
    role: Role::Work,
    kind: Kind::Paths {
        default: "../models/resnet18.onnx",
    },
    applies: |k| k.uses_model,
    id: |v| match v {
        Value::Listed(i, _) if i > 0 => Some(format!("-m{}", i + 1)),
        _ => None,
    },
    setting: |v| Some(format!(", {}", v.text())),
    check: no_check,
};

pub static INTRA_OP_THREADS: AxisDef = AxisDef {
    doc: "`intra_op_threads`: ONNX Runtime's threads per session, for the cells with a model.",
    key: "intra_op_threads",
    section: None,
    column: "intra_op_threads",
    role: Role::Work,
    kind: Kind::Count {
        default: 1,
        min: 1,
        max: u32::MAX,
    },
    applies: |k| k.uses_model,
    id: |v| Some(format!("-i{}", v.text())),
    setting: |v| (v != Value::Count(1)).then(|| format!(" x {} intra-op threads", v.text())),
    check: no_check,
};

/// The cell's model: an index into `[classify] model`.
fn model_of(ctx: &Context) -> usize {
    MODEL.index_of(&ctx.values)
}

/// The cell's intra-op threads per session.
pub fn intra_op_threads(ctx: &Context) -> usize {
    INTRA_OP_THREADS.count_of(&ctx.values) as usize
}

impl Workload for Classify {
    fn section_schema(&self, generator: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(<RawClassify as schemars::JsonSchema>::json_schema(generator))
    }

    fn name(&self) -> &'static str {
        "classify"
    }

    fn task_ms(&self, _settings: &Settings) -> f64 {
        45.0 // decode, preprocess and ResNet-18 inference on one core (docs/performance.md)
    }

    fn python_imports(&self) -> &'static [&'static str] {
        &["numpy", "PIL.Image", "onnxruntime"]
    }

    fn draws(&self) -> Draws {
        Draws::Images
    }

    fn uses_model(&self) -> bool {
        true
    }

    fn settings(&self, section: &Section, used: bool) -> Result<Option<Box<dyn Any + Send + Sync>>, SpecError> {
        Ok(Some(Box::new(parse(section, used)?)))
    }

    fn prepare(&self, settings: &mut Settings, env: &PrepareEnv) -> anyhow::Result<Prepared> {
        let s: ClassifySettings = settings.get::<ClassifySettings>(self.name())?.clone();
        let explicit = env.ort_lib.as_deref().or(s.ort_library.as_deref());
        let found = ort_lib::find(explicit, &env.search_roots)?;
        let version = ort_lib::probe(&found)?;
        let labels = match &s.labels {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read the labels {}", p.display()))?
                    .lines()
                    .map(|l| l.trim().to_string())
                    .collect(),
            ),
            None => None,
        };
        let (mut sources, mut ids, mut facts) = (Vec::new(), Vec::new(), Vec::new());
        let mut preoptimize_total = None;
        for (i, model) in s.models.iter().enumerate() {
            let sha256 = crate::spec::sha256_file(model)
                .with_context(|| format!("cannot read the model {}", model.display()))?;
            // Optimise the graph once for this run (in a throwaway child); workers then load it ready.
            let (mut optimized, mut preoptimize_s) = (None, None);
            if s.preoptimize {
                let name = if i == 0 {
                    "model".to_string()
                } else {
                    format!("model-{}", i + 1)
                };
                let path = env.results_dir.join(format!("{name}.optimized.onnx"));
                match preoptimize(&found, model, &path) {
                    Ok(secs) => {
                        (optimized, preoptimize_s) = (Some(path), Some(secs));
                        *preoptimize_total.get_or_insert(0.0) += secs;
                    }
                    Err(e) => eprintln!(
                        "runner: warning: could not pre-optimise {} ({e}); every session optimises it",
                        model.display()
                    ),
                }
            }
            let id = ModelId {
                file: file_name(model),
                sha256,
            };
            facts.push(ModelFound {
                file: id.file.clone(),
                path: model.display().to_string(),
                sha256: id.sha256.clone(),
                preoptimized: optimized.clone(),
                preoptimize_s,
            });
            ids.push(id);
            sources.push(ModelSource {
                settings: s.clone(),
                model: model.clone(),
                ort: found.clone(),
                labels: labels.clone(),
                optimized,
            });
        }
        let ort = OrtFound {
            ort_library: found.path.display().to_string(),
            ort_library_found_by: found.how.to_string(),
            ort_version: version,
            models: facts,
            model_note: "the default models have ResNet-18's architecture and cost but seeded random weights: their labels are meaningless".into(),
            model_preoptimize_s: preoptimize_total,
        };
        settings.set(self.name(), Models(sources.into_iter().map(Arc::new).collect()));
        Ok(Prepared {
            found: RunFacts {
                ort: Some(ort),
                ..RunFacts::default()
            },
            models: ids,
        })
    }

    fn watched(&self, settings: &Settings) -> Vec<PathBuf> {
        match settings.get::<ClassifySettings>(self.name()) {
            Ok(s) => s.models.iter().cloned().chain(s.labels.clone()).collect(),
            Err(_) => Vec::new(),
        }
    }

    fn enter(&self, ctx: &Context, _tasks: &Tasks) -> Result<(), WorkError> {
        let models: &Models = ctx.settings.get(self.name())?;
        Ok(ort_lib::load(&models.get(model_of(ctx))?.ort).map(|_| ())?)
    }

    fn python_settings(&self, settings: &Settings) -> Result<(), Refused> {
        settings
            .get::<ClassifySettings>(self.name())
            .map_or(Ok(()), |s| pillow_resamples(s.filter, "classify.filter"))
    }

    fn python(&self, ctx: &Context) -> Result<Option<serde_json::Value>, WorkError> {
        let models: &Models = ctx.settings.get(self.name())?;
        let src = models.get(model_of(ctx))?;
        let s = &src.settings;
        // The model file itself, which ORT optimises in each session, as a Python program would
        // load it (the runner's sessions load the graph it optimised once per run).
        Ok(Some(serde_json::json!({
            "model": src.model,
            "input": [s.input.0, s.input.1],
            "mean": s.mean,
            "std": s.std,
            "filter": s.filter,
            "labels": s.labels,
        })))
    }

    fn state(&self, ctx: &Context, _worker: usize) -> Result<Box<dyn TaskState>, WorkError> {
        let models: &Models = ctx.settings.get(self.name())?;
        Ok(Box::new(State {
            model: Model::new(models.get(model_of(ctx))?.clone(), intra_op_threads(ctx))?,
            resizer: Resizer::new(),
        }))
    }
}

/// `[classify]` as the file spells it.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawClassify {
    /// Read by the `model` axis.
    #[schemars(skip)]
    model: Option<Spanned<OneOrMany<String>>>,
    /// The model's input [width, height].
    #[schemars(with = "Option<[InputSide; 2]>", extend("default" = [224, 224]))]
    input_size: Option<Spanned<[i64; 2]>>,
    /// Per-channel mean subtracted in preprocessing.
    #[schemars(extend("default" = [0.485, 0.456, 0.406]))]
    mean: Option<[f32; 3]>,
    /// Per-channel standard deviation divided by in preprocessing (each positive).
    #[schemars(with = "Option<[f32; 3]>", extend("default" = [0.229, 0.224, 0.225]))]
    std: Option<Spanned<[f32; 3]>>,
    /// A file of class labels, one per line (relative to this file).
    #[schemars(with = "Option<String>")]
    labels: Option<Spanned<String>>,
    /// The resampling filter of preprocessing.
    #[schemars(with = "Option<super::image::FilterName>", extend("default" = "bilinear"))]
    filter: Option<Spanned<String>>,
    /// ONNX Runtime's shared library (default: found as `runner --help` describes).
    #[schemars(with = "Option<String>")]
    ort_library: Option<Spanned<String>>,
    /// Optimise the graph once per run for this machine, instead of in every session.
    #[schemars(extend("default" = true))]
    preoptimize: Option<bool>,
}

/// A side of the model's input, in pixels.
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
struct InputSide(#[schemars(range(min = 1, max = 4096))] u32);

#[derive(Debug, Clone)]
pub struct ClassifySettings {
    /// The models, in file order: an axis of the cells that classify (the `model` axis indexes it).
    pub models: Vec<PathBuf>,
    pub input: (u32, u32),
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub labels: Option<PathBuf>,
    pub filter: Filter,
    pub ort_library: Option<PathBuf>,
    /// Optimise the graph once per run and let every worker load the result.
    pub preoptimize: bool,
}

/// The prepared models, in the order of `[classify] model`: what a run's settings hold for
/// classify once `prepare` has run.
#[derive(Debug)]
pub struct Models(pub Vec<Arc<ModelSource>>);

impl Models {
    pub fn get(&self, index: usize) -> Result<&Arc<ModelSource>, ModelError> {
        self.0.get(index).ok_or(ModelError::NoModel(index))
    }
}

/// One classifier as prepared for a run: its settings, its file and labels, and the graph
/// optimised for this machine. Holds no model bytes: each session reads its file.
#[derive(Debug, Clone)]
pub struct ModelSource {
    pub settings: ClassifySettings,
    /// The model file.
    pub model: PathBuf,
    /// The ONNX Runtime library each repetition process loads.
    pub ort: ort_lib::Found,
    pub labels: Option<Vec<String>>,
    /// A graph ORT already optimised for this machine, written by [`preoptimize`] with its
    /// weights in a file beside it: sessions load this instead of the model, without optimising,
    /// and ORT maps the weights from the page cache instead of copying them.
    pub optimized: Option<PathBuf>,
}

/// The file name rows record for a model.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// A worker's classify state: its own session and resampler.
struct State {
    model: Model,
    resizer: Resizer,
}

impl TaskState for State {
    fn run(&mut self, ctx: &Context, task: &Task, out: &mut TaskOutput) -> Result<(), WorkError> {
        out.top1 = Some(self.model.classify(ctx, task, &mut self.resizer, &mut out.stages)?);
        Ok(())
    }
}

fn parse(section: &Section, needed: bool) -> Result<ClassifySettings, SpecError> {
    let cx = section.fields;
    let c: RawClassify = section.parse()?;
    let model_span = c.model.as_ref().map(|v| v.span());
    let names = cx.list(
        "classify.model",
        c.model.as_ref(),
        &["../models/resnet18.onnx".to_string()],
    )?;
    let mut models: Vec<PathBuf> = Vec::new();
    for name in &names {
        let mut p = cx.resolve(name);
        if c.model.is_none() && !p.exists() {
            // No clone's models/ above the file: the one `runner model` built, if it did.
            p = crate::home::default_model().filter(|m| m.is_file()).unwrap_or(p);
        }
        if needed {
            check_onnx(&p).or_else(|msg| cx.err("classify.model", model_span.clone(), msg))?;
        }
        if models.iter().any(|m| m.file_name() == p.file_name()) {
            return cx.err(
                "classify.model",
                model_span,
                format!(
                    "lists two models with the file name {}: rows name a model by its file name",
                    file_name(&p)
                ),
            );
        }
        models.push(p);
    }
    if models.len() > u8::MAX as usize {
        return cx.err("classify.model", model_span, "at most 255 models");
    }
    let input = match &c.input_size {
        None => (224, 224),
        Some(v) => {
            let [w, h] = *v.get_ref();
            if !(1..=4096).contains(&w) || !(1..=4096).contains(&h) {
                return cx.err(
                    "classify.input_size",
                    Some(v.span()),
                    "width and height must be between 1 and 4096",
                );
            }
            (w as u32, h as u32)
        }
    };
    let std = match &c.std {
        None => [0.229, 0.224, 0.225],
        Some(v) if v.get_ref().iter().all(|s| s.is_finite() && *s > 0.0) => *v.get_ref(),
        Some(v) => return cx.err("classify.std", Some(v.span()), "every value must be a positive number"),
    };
    let labels = match &c.labels {
        Some(v) if needed => Some(cx.existing("classify.labels", Some(v.span()), v.get_ref(), false)?),
        Some(v) => Some(cx.resolve(v.get_ref())),
        None => None,
    };
    let ort_library = match &c.ort_library {
        Some(v) => Some(cx.existing("classify.ort_library", Some(v.span()), v.get_ref(), false)?),
        None => None,
    };
    Ok(ClassifySettings {
        models,
        input,
        mean: c.mean.unwrap_or([0.485, 0.456, 0.406]),
        std,
        labels,
        filter: parse_filter(cx, "classify.filter", &c.filter, Filter::Bilinear)?,
        ort_library,
        preoptimize: c.preoptimize.unwrap_or(true),
    })
}
fn check_onnx(p: &Path) -> Result<(), Refused> {
    use std::io::Read;
    let mut head = [0u8; 1];
    let mut f = std::fs::File::open(p).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            " (build the default model: `scripts/setup` in a clone, `runner model` elsewhere)"
        } else {
            ""
        };
        format!("{}: {e}{hint}", p.display())
    })?;
    match f.read(&mut head) {
        Ok(1) if head[0] == 0x08 => Ok(()),
        Ok(_) => Err(format!(
            "{} is not an ONNX model (it does not start like an ONNX ModelProto)",
            p.display()
        )
        .into()),
        Err(e) => Err(format!("{}: {e}", p.display()).into()),
    }
}
