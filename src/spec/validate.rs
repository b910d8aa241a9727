//! Turns the raw TOML structs into an [`Experiment`], or one error naming file, key and line.

use std::collections::HashSet;
use std::fmt::Display;
use std::hash::Hash;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use toml::Spanned;

use super::raw::{OneOrMany, RawExperiment};
use super::*;

/// Limits that guard against absurd experiments, and the flag that lifts them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    pub allow_large: bool,
}

pub const DEFAULT_MAX_CELLS: u64 = 10_000;
pub const DEFAULT_MAX_WORKERS: u64 = 256;
const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "webp"];

struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    fn err<T>(&self, key: &str, span: Option<std::ops::Range<usize>>, msg: impl Display) -> Result<T, SpecError> {
        Err(SpecError {
            file: self.file.to_path_buf(),
            key: Some(key.to_string()),
            line: span.map(|s| self.line(s.start)),
            message: msg.to_string(),
        })
    }

    fn count(&self, key: &str, v: &Spanned<i64>) -> Result<NonZeroUsize, SpecError> {
        match usize::try_from(*v.get_ref()).ok().and_then(NonZeroUsize::new) {
            Some(n) => Ok(n),
            None => self.err(
                key,
                Some(v.span()),
                format!("must be a whole number of at least 1, got {}", v.get_ref()),
            ),
        }
    }

    fn non_negative(&self, key: &str, v: &Spanned<i64>) -> Result<u64, SpecError> {
        match u64::try_from(*v.get_ref()) {
            Ok(n) => Ok(n),
            Err(_) => self.err(
                key,
                Some(v.span()),
                format!("must not be negative, got {}", v.get_ref()),
            ),
        }
    }

    /// An optional whole number in `0..=max`, `default` when absent.
    fn bounded(&self, key: &str, v: &Option<Spanned<i64>>, default: u64, max: u64) -> Result<u64, SpecError> {
        let Some(v) = v else { return Ok(default) };
        let n = self.non_negative(key, v)?;
        if n > max {
            return self.err(key, Some(v.span()), format!("must be at most {max}"));
        }
        Ok(n)
    }

    fn list<T: Clone + Eq + Hash + Display>(
        &self,
        key: &str,
        v: Option<&Spanned<OneOrMany<T>>>,
        default: &[T],
    ) -> Result<Vec<T>, SpecError> {
        let Some(v) = v else {
            return Ok(default.to_vec());
        };
        if v.get_ref().0.is_empty() {
            return self.err(key, Some(v.span()), "must not be an empty list");
        }
        let mut seen = HashSet::new();
        for item in &v.get_ref().0 {
            if !seen.insert(item.clone()) {
                return self.err(key, Some(v.span()), format!("lists `{item}` twice"));
            }
        }
        Ok(v.get_ref().0.clone())
    }

    fn counts(
        &self,
        key: &str,
        v: Option<&Spanned<OneOrMany<i64>>>,
        default: usize,
    ) -> Result<Vec<NonZeroUsize>, SpecError> {
        let values = self.list(key, v, &[default as i64])?;
        values
            .into_iter()
            .map(|n| self.count(key, &Spanned::new(v.map_or(0..0, |v| v.span()), n)))
            .collect()
    }

    /// A path from the file, relative to the file's folder, with `.` and `..` resolved lexically.
    fn resolve(&self, s: &str) -> PathBuf {
        let joined = self.file.parent().unwrap_or(Path::new(".")).join(s);
        let mut out = PathBuf::new();
        for part in joined.components() {
            match part {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir if out.file_name().is_some() => {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        out
    }

    fn existing(
        &self,
        key: &str,
        span: Option<std::ops::Range<usize>>,
        s: &str,
        dir: bool,
    ) -> Result<PathBuf, SpecError> {
        let p = self.resolve(s);
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() == dir => Ok(p),
            Ok(_) => self.err(
                key,
                span,
                format!("{} is not a {}", p.display(), if dir { "folder" } else { "file" }),
            ),
            Err(e) => self.err(key, span, format!("{}: {e}", p.display())),
        }
    }
}

pub(super) fn parse(path: &Path, text: &str, overrides: &Overrides) -> Result<Experiment, SpecError> {
    let file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let cx = Ctx { file: &file, text };
    let raw: RawExperiment = toml::from_str(text).map_err(|e| SpecError {
        file: file.clone(),
        key: None,
        line: e.span().map(|s| cx.line(s.start)),
        message: e.message().trim().to_string(),
    })?;

    if raw.name.trim().is_empty() || raw.name.contains(['/', '\\']) || raw.name.starts_with('.') {
        return cx.err(
            "name",
            None,
            "must be a non-empty name without slashes or a leading dot (it names the results folder)",
        );
    }
    let axes = Axes {
        workload: cx.list("workload", Some(&raw.workload), &[])?,
        executor: cx.list("executor", Some(&raw.executor), &[])?,
        workers: cx.counts("workers", raw.workers.as_ref(), 1)?,
        intra_op_threads: cx.counts("intra_op_threads", raw.intra_op_threads.as_ref(), 1)?,
        sets: cx.counts("sets", raw.sets.as_ref(), 16)?,
    };
    check_size(&cx, &raw, &axes, overrides)?;

    let mut exclude = Vec::new();
    for e in &raw.exclude {
        let span = Some(e.span());
        let pos = |key: &str, v: Option<i64>| -> Result<Option<NonZeroUsize>, SpecError> {
            v.map(|n| cx.count(&format!("exclude.{key}"), &Spanned::new(e.span(), n)))
                .transpose()
        };
        let r = e.get_ref();
        let x = Exclude {
            workload: r.workload,
            executor: r.executor,
            workers: pos("workers", r.workers)?,
            intra_op_threads: pos("intra_op_threads", r.intra_op_threads)?,
            sets: pos("sets", r.sets)?,
        };
        if x == Exclude::default() {
            return cx.err("exclude", span, "an exclude entry must name at least one key");
        }
        exclude.push(x);
    }

    let repetitions = match &raw.repetitions {
        Some(v) => cx.count("repetitions", v)?,
        None => NonZeroUsize::new(5).unwrap(),
    };
    let warmup = cx.bounded("warmup", &raw.warmup, 1, u64::MAX)? as usize;
    let seed = cx.bounded("seed", &raw.seed, 0, u64::MAX)?;

    let uses_images = axes.workload.iter().any(|w| w.uses_images());
    let images = images(&cx, &raw, uses_images)?;
    let resize = resize(&cx, &raw)?;
    let classify = classify(&cx, &raw, axes.workload.iter().any(|w| w.uses_model()))?;

    let spin_iterations = match &raw.spin.iterations {
        Some(v) => cx.count("spin.iterations", v)?.get() as u64,
        None => 3_000_000,
    };
    let sleep_ms = cx.bounded("sleep.ms", &raw.sleep.ms, 10, 60_000)?;
    let alloc_mib = cx.bounded("alloc.mib", &raw.alloc.mib, 64, 16_384)?;
    let alloc_hold_ms = cx.bounded("alloc.hold_ms", &raw.alloc.hold_ms, 50, 60_000)?;
    let task_timeout = seconds(&cx, "limits.task_timeout_s", &raw.limits.task_timeout_s)?;
    let repetition_timeout = seconds(&cx, "limits.repetition_timeout_s", &raw.limits.repetition_timeout_s)?;
    let wait_for_idle = seconds(&cx, "wait_for_idle_s", &raw.wait_for_idle_s)?;
    let order = match &raw.order {
        None => Order::Cells,
        Some(v) => match v.get_ref().as_str() {
            "cells" => Order::Cells,
            "interleaved" => Order::Interleaved,
            "random" => Order::Random,
            other => {
                return cx.err(
                    "order",
                    Some(v.span()),
                    format!("unknown order `{other}`; expected cells, interleaved or random"),
                )
            }
        },
    };

    Ok(Experiment {
        name: raw.name.clone(),
        description: raw.description.clone(),
        sha256: hex(&Sha256::digest(text.as_bytes())),
        text: text.to_string(),
        axes,
        exclude,
        repetitions,
        warmup,
        seed,
        images,
        resize,
        classify,
        spin_iterations,
        sleep: Duration::from_millis(sleep_ms),
        alloc_mib: alloc_mib as usize,
        alloc_hold: Duration::from_millis(alloc_hold_ms),
        output_dir: cx.resolve(raw.output.dir.as_deref().unwrap_or("../results")),
        task_timeout,
        repetition_timeout,
        order,
        wait_for_idle,
        file,
    })
}

fn seconds(cx: &Ctx, key: &str, v: &Option<Spanned<f64>>) -> Result<Option<Duration>, SpecError> {
    match v {
        Some(v) if !(v.get_ref().is_finite() && *v.get_ref() > 0.0 && *v.get_ref() < 1e9) => {
            cx.err(key, Some(v.span()), "must be a positive number of seconds")
        }
        Some(v) => Ok(Some(Duration::from_secs_f64(*v.get_ref()))),
        None => Ok(None),
    }
}

fn check_size(cx: &Ctx, raw: &RawExperiment, axes: &Axes, o: &Overrides) -> Result<(), SpecError> {
    let limit = |v: &Option<Spanned<i64>>, key: &str, default: u64| -> Result<u64, SpecError> {
        Ok(v.as_ref()
            .map(|v| cx.count(key, v))
            .transpose()?
            .map_or(default, |n| n.get() as u64))
    };
    let max_cells = limit(&raw.limits.max_cells, "limits.max_cells", DEFAULT_MAX_CELLS)?;
    let max_workers = limit(&raw.limits.max_workers, "limits.max_workers", DEFAULT_MAX_WORKERS)?;
    if o.allow_large {
        return Ok(());
    }
    let cells = [
        axes.workload.len(),
        axes.executor.len(),
        axes.workers.len(),
        axes.intra_op_threads.len(),
        axes.sets.len(),
    ]
    .iter()
    .fold(1u64, |acc, &n| acc.saturating_mul(n as u64));
    if cells > max_cells {
        return cx.err(
            "workers",
            None,
            format!("the axes make up to {cells} cells, more than the limit of {max_cells}; raise `limits.max_cells` or pass --allow-large"),
        );
    }
    for (key, values, span) in [
        ("workers", &axes.workers, raw.workers.as_ref().map(|v| v.span())),
        (
            "intra_op_threads",
            &axes.intra_op_threads,
            raw.intra_op_threads.as_ref().map(|v| v.span()),
        ),
    ] {
        if let Some(big) = values.iter().find(|n| n.get() as u64 > max_workers) {
            return cx.err(
                key,
                span,
                format!(
                    "{big} is more than the limit of {max_workers}; raise `limits.max_workers` or pass --allow-large"
                ),
            );
        }
    }
    let sets = raw.sets.as_ref().map(|v| v.span());
    if let Some(big) = axes.sets.iter().find(|n| n.get() > 100_000) {
        return cx.err(
            "sets",
            sets,
            format!("{big} task sets per repetition is more than the limit of 100000"),
        );
    }
    Ok(())
}

fn images(cx: &Ctx, raw: &RawExperiment, needed: bool) -> Result<Images, SpecError> {
    let r = &raw.images;
    let span = r.folders.as_ref().map(|v| v.span());
    let names: Vec<String> = match &r.folders {
        Some(v) => v.get_ref().clone(),
        None => vec!["../assets/high-res".into(), "../assets/low-res".into()],
    };
    let noise = match (&r.noise_size, r.noise.unwrap_or(true)) {
        (_, false) => None,
        (None, true) => Some((1024, 1024)),
        (Some(v), true) => {
            let [w, h] = *v.get_ref();
            if !(1..=16384).contains(&w) || !(1..=16384).contains(&h) {
                return cx.err(
                    "images.noise_size",
                    Some(v.span()),
                    "width and height must be between 1 and 16384",
                );
            }
            Some((w as u32, h as u32))
        }
    };
    let max_pixels = match &r.max_pixels {
        Some(v) => cx.count("images.max_pixels", v)?.get() as u64,
        None => 50_000_000,
    };
    let mut folders = Vec::new();
    if needed {
        if names.is_empty() && noise.is_none() {
            return cx.err(
                "images.folders",
                span,
                "no image folders and no noise: there is nothing to draw",
            );
        }
        for name in &names {
            let path = cx.existing("images.folders", span.clone(), name, true)?;
            let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
                .map_err(|e| {
                    cx.err::<()>("images.folders", span.clone(), format!("{}: {e}", path.display()))
                        .unwrap_err()
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .and_then(|x| x.to_str())
                        .is_some_and(|x| IMAGE_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()))
                })
                .collect();
            files.sort();
            if files.is_empty() {
                return cx.err(
                    "images.folders",
                    span,
                    format!(
                        "{} holds no image files ({})",
                        path.display(),
                        IMAGE_EXTENSIONS.join(", ")
                    ),
                );
            }
            let label = path
                .file_name()
                .map_or_else(|| name.clone(), |n| n.to_string_lossy().into_owned());
            folders.push(ImageFolder { label, path, files });
        }
    }
    Ok(Images {
        folders,
        noise,
        max_pixels,
    })
}

fn filter(cx: &Ctx, key: &str, v: &Option<Spanned<String>>, default: Filter) -> Result<Filter, SpecError> {
    match v {
        None => Ok(default),
        Some(v) => match Filter::parse(v.get_ref()) {
            Some(f) => Ok(f),
            None => cx.err(
                key,
                Some(v.span()),
                format!("unknown filter `{}`; expected one of {}", v.get_ref(), Filter::NAMES),
            ),
        },
    }
}

fn resize(cx: &Ctx, raw: &RawExperiment) -> Result<ResizeSettings, SpecError> {
    let r = &raw.resize;
    let targets = match &r.targets {
        None => vec![
            Target::Exact {
                width: 224,
                height: 224,
            },
            Target::Percent(50),
        ],
        Some(v) => {
            if v.get_ref().is_empty() {
                return cx.err("resize.targets", Some(v.span()), "must not be an empty list");
            }
            let mut out = Vec::new();
            for t in v.get_ref() {
                match parse_target(t) {
                    Some(t) if !out.contains(&t) => out.push(t),
                    Some(_) => return cx.err("resize.targets", Some(v.span()), format!("lists `{t}` twice")),
                    None => {
                        return cx.err(
                            "resize.targets",
                            Some(v.span()),
                            format!("`{t}` is not a target; write WIDTHxHEIGHT (e.g. 224x224) or a percentage (e.g. 50%), 1 to 16384 px or 1 to 400 %"),
                        )
                    }
                }
            }
            out
        }
    };
    let quality = match &r.quality {
        None => 90,
        Some(v) if (1..=100).contains(v.get_ref()) => *v.get_ref() as u8,
        Some(v) => {
            return cx.err(
                "resize.quality",
                Some(v.span()),
                format!("must be between 1 and 100, got {}", v.get_ref()),
            )
        }
    };
    let subsampling = match &r.subsampling {
        None => Subsampling::S420,
        Some(v) => match v.get_ref().as_str() {
            "4:2:0" => Subsampling::S420,
            "4:4:4" => Subsampling::S444,
            other => {
                return cx.err(
                    "resize.subsampling",
                    Some(v.span()),
                    format!("unknown subsampling `{other}`; expected \"4:2:0\" or \"4:4:4\""),
                )
            }
        },
    };
    Ok(ResizeSettings {
        targets,
        filter: filter(cx, "resize.filter", &r.filter, Filter::Lanczos3)?,
        quality,
        subsampling,
        save: r.save.unwrap_or(true),
    })
}

fn parse_target(s: &str) -> Option<Target> {
    let s = s.trim();
    if let Some(p) = s.strip_suffix('%') {
        let p: u32 = p.trim().parse().ok()?;
        return (1..=400).contains(&p).then_some(Target::Percent(p));
    }
    let (w, h) = s.split_once(['x', 'X'])?;
    let (w, h): (u32, u32) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    ((1..=16384).contains(&w) && (1..=16384).contains(&h)).then_some(Target::Exact { width: w, height: h })
}

fn classify(cx: &Ctx, raw: &RawExperiment, needed: bool) -> Result<ClassifySettings, SpecError> {
    let c = &raw.classify;
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
        filter: filter(cx, "classify.filter", &c.filter, Filter::Bilinear)?,
        ort_library,
        preoptimize: c.preoptimize.unwrap_or(true),
    })
}

/// An ONNX model is a protobuf `ModelProto` whose first field is `ir_version` (field 1, varint): byte 0x08.
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

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
