//! The classify workload: decode, preprocess and run an ONNX classifier, one ORT session per
//! worker. Its settings are the `[classify]` section; once per run it finds and loads ONNX
//! Runtime, hashes the model and optimises its graph.

use std::any::Any;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use fast_image_resize::Resizer;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::image::Filter;
use super::model::Model;
use super::preoptimize::preoptimize;
use super::{ort_lib, Context, Draws, Outcome, PrepareEnv, Prepared, Settings, TaskState, Workload};
use crate::experiment::{hex, Section, SpecError};
use crate::plan::Task;

pub struct Classify;

impl Workload for Classify {
    fn name(&self) -> &'static str {
        "classify"
    }

    fn task_ms(&self, _settings: &Settings) -> f64 {
        45.0 // decode, preprocess and ResNet-18 inference on one core (docs/performance.md)
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
        let s: ClassifySettings = settings
            .get::<ClassifySettings>(self.name())
            .map_err(anyhow::Error::msg)?
            .clone();
        let explicit = env.ort_lib.as_deref().or(s.ort_library.as_deref());
        let found = ort_lib::find(explicit, &env.search_roots).map_err(anyhow::Error::msg)?;
        let version = ort_lib::probe(&found).map_err(anyhow::Error::msg)?;
        let sha256 = sha256_of(&s.model).with_context(|| format!("cannot read the model {}", s.model.display()))?;
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
        // Optimise the graph once for this run (in a throwaway child); workers then load it ready.
        let (mut optimized, mut preoptimize_s) = (None, None);
        if s.preoptimize {
            let path = env.results_dir.join("model.optimized.onnx");
            match preoptimize(&found, &s.model, &path) {
                Ok(secs) => (optimized, preoptimize_s) = (Some(path), Some(secs)),
                Err(e) => {
                    eprintln!("runner: warning: could not pre-optimise the model ({e}); every session optimises it")
                }
            }
        }
        let facts = serde_json::json!({
            "ort_library": found.path.display().to_string(),
            "ort_library_found_by": found.how,
            "ort_version": version,
            "model": s.model.display().to_string(),
            "model_sha256": sha256,
            "model_note": "the default model has ResNet-18's architecture and cost but seeded random weights: its labels are meaningless",
            "model_preoptimized": optimized,
            "model_preoptimize_s": preoptimize_s,
        });
        settings.set(
            self.name(),
            ModelSource {
                settings: s,
                ort: found,
                sha256: sha256.clone(),
                labels,
                optimized,
            },
        );
        Ok(Prepared {
            env: facts.as_object().cloned().unwrap_or_default(),
            model_sha256: Some(sha256),
        })
    }

    fn enter(&self, ctx: &Context) -> Result<(), String> {
        let src: &ModelSource = ctx.settings.get(self.name())?;
        ort_lib::load(&src.ort).map(|_| ())
    }

    fn state(&self, ctx: &Context) -> Result<Box<dyn TaskState>, String> {
        let src: &ModelSource = ctx.settings.get(self.name())?;
        Ok(Box::new(State {
            model: Model::new(Arc::new(src.clone()), ctx.intra_op_threads)?,
            resizer: Resizer::new(),
        }))
    }
}

/// `[classify]` as the file spells it.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawClassify {
    model: Option<Spanned<String>>,
    input_size: Option<Spanned<[i64; 2]>>,
    mean: Option<[f32; 3]>,
    std: Option<Spanned<[f32; 3]>>,
    labels: Option<Spanned<String>>,
    filter: Option<Spanned<String>>,
    ort_library: Option<Spanned<String>>,
    preoptimize: Option<bool>,
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

/// The classifier as prepared for a run: its settings, its file's hash and labels, and the graph
/// optimised for this machine. Holds no model bytes: each session reads its file.
#[derive(Debug, Clone)]
pub struct ModelSource {
    pub settings: ClassifySettings,
    /// The ONNX Runtime library each repetition process loads.
    pub ort: ort_lib::Found,
    /// SHA-256 of the model file as given (before any optimisation).
    pub sha256: String,
    pub labels: Option<Vec<String>>,
    /// A graph ORT already optimised for this machine, written by [`preoptimize`] with its
    /// weights in a file beside it: sessions load this instead of the model, without optimising,
    /// and ORT maps the weights from the page cache instead of copying them.
    pub optimized: Option<PathBuf>,
}

/// SHA-256 of a file, read in pieces (the model is never held whole).
fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf)? {
            0 => return Ok(hex(&h.finalize())),
            n => h.update(&buf[..n]),
        }
    }
}

/// A worker's classify state: its own session and resampler.
struct State {
    model: Model,
    resizer: Resizer,
}

impl TaskState for State {
    fn run(&mut self, ctx: &Context, task: &Task, out: &mut Outcome) -> Result<(), String> {
        out.top1 = Some(self.model.classify(ctx, task, &mut self.resizer, &mut out.stages)?);
        Ok(())
    }
}

fn parse(section: &Section, needed: bool) -> Result<ClassifySettings, SpecError> {
    let cx = section.fields;
    let c: RawClassify = section.parse()?;
    let model_span = c.model.as_ref().map(|v| v.span());
    let model_name = c
        .model
        .as_ref()
        .map_or("../models/resnet18.onnx", |v| v.get_ref().as_str());
    let model = if needed {
        let p = cx.resolve(model_name);
        check_onnx(&p).or_else(|msg| cx.err("classify.model", model_span, msg))?;
        p
    } else {
        cx.resolve(model_name)
    };
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
        model,
        input,
        mean: c.mean.unwrap_or([0.485, 0.456, 0.406]),
        std,
        labels,
        filter: cx.filter("classify.filter", &c.filter, Filter::Bilinear)?,
        ort_library,
        preoptimize: c.preoptimize.unwrap_or(true),
    })
}
fn check_onnx(p: &Path) -> Result<(), String> {
    use std::io::Read;
    let mut head = [0u8; 1];
    let mut f = std::fs::File::open(p).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            " (run `scripts/setup` to build the default model)"
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
        )),
        Err(e) => Err(format!("{}: {e}", p.display())),
    }
}
