//! The resize workload: decode, resample to each target, encode (JPEG, PNG, lossless WebP, or
//! each input's own format: the cell's `format`), save. Its settings are the `[resize]` section.

use super::{Refused, WorkError};
use std::any::Any;
use std::path::PathBuf;
use std::time::Instant;

use fast_image_resize::Resizer;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::image::{load_input, parse_filter, pillow_resamples, resample, safe_stem, Filter};
use super::{Context, Draws, Settings, TaskOutput, TaskState, Workload};
use crate::axis::{no_check, AxisDef, Kind, Role, Value};
use crate::measure::ms;
use crate::spec::{Section, SpecError};
use crate::task::{Input, Task};

pub struct Resize;

/// The image format resized outputs are encoded to: `[resize] format`, an axis of the cells
/// that encode images.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Jpeg,
    Png,
    /// Lossless: the `image` crate encodes lossless WebP only.
    Webp,
    /// Each input's own format (JPEG, PNG or WebP; others, and noise, as JPEG).
    Same,
}

impl Format {
    const NAMES: &'static [&'static str] = &["jpeg", "png", "webp", "same"];

    /// The cell's format.
    pub fn of(ctx: &Context) -> Format {
        match FORMAT.word_of(&ctx.values) {
            "png" => Format::Png,
            "webp" => Format::Webp,
            "same" => Format::Same,
            _ => Format::Jpeg,
        }
    }
}

pub static FORMAT: AxisDef = AxisDef {
    doc: "`[resize] format = [\"jpeg\", \"png\", \"webp\", \"same\"]`: multiplies the cells that encode images; JPEG, the default, adds nothing to a cell id.",
    key: "format",
    section: Some("resize"),
    column: "format",
    role: Role::Work,
    kind: Kind::Words(Format::NAMES),
    applies: |k| k.encodes_images,
    id: |v| (v != Value::Word("jpeg")).then(|| format!("-{}", v.text())),
    setting: |v| (v != Value::Word("jpeg")).then(|| format!(", {}", v.text())),
    check: no_check,
};

impl Workload for Resize {
    fn section_schema(&self, generator: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(<RawResize as schemars::JsonSchema>::json_schema(generator))
    }

    fn name(&self) -> &'static str {
        "resize"
    }

    fn encodes_images(&self) -> bool {
        true
    }

    fn task_ms(&self, _settings: &Settings) -> f64 {
        30.0 // decode, resize, encode and save of a drawn photo (docs/performance.md)
    }

    fn python_imports(&self) -> &'static [&'static str] {
        &["numpy", "PIL.Image"]
    }

    fn draws(&self) -> Draws {
        Draws::Images
    }

    fn prepare(&self, _settings: &mut Settings, _env: &super::PrepareEnv) -> anyhow::Result<super::Prepared> {
        Ok(super::Prepared {
            found: super::RunFacts {
                jpeg_encoder: Some(super::jpeg::ENCODER.to_string()),
                ..super::RunFacts::default()
            },
            models: Vec::new(),
        })
    }

    fn settings(&self, section: &Section, _used: bool) -> Result<Option<Box<dyn Any + Send + Sync>>, SpecError> {
        Ok(Some(Box::new(parse(section)?)))
    }

    fn python_settings(&self, settings: &Settings) -> Result<(), Refused> {
        settings
            .get::<ResizeSettings>(self.name())
            .map_or(Ok(()), |s| pillow_resamples(s.filter, "resize.filter"))
    }

    fn python(&self, ctx: &Context) -> Result<Option<serde_json::Value>, WorkError> {
        let s: &ResizeSettings = ctx.settings.get(self.name())?;
        if s.save {
            let dir = &ctx.out_dir;
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let job = PyResize {
            targets: s
                .targets
                .iter()
                .map(|t| match *t {
                    Target::Exact { width, height } => PyTarget::Exact { width, height },
                    Target::Percent(percent) => PyTarget::Percent { percent },
                })
                .collect(),
            filter: s.filter,
            format: FORMAT.word_of(&ctx.values),
            quality: s.quality,
            subsampling: match s.subsampling {
                Subsampling::S420 => "4:2:0",
                Subsampling::S444 => "4:4:4",
            },
            png_compression: s.png_compression,
            save: s.save,
        };
        serde_json::to_value(job)
            .map(Some)
            .map_err(|e| WorkError::Said(e.to_string()))
    }

    fn state(&self, ctx: &Context, _worker: usize) -> Result<Box<dyn TaskState>, WorkError> {
        let settings: &ResizeSettings = ctx.settings.get(self.name())?;
        let out_dir = settings.save.then(|| ctx.out_dir.clone());
        if let Some(dir) = &out_dir {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        Ok(Box::new(State {
            settings: settings.clone(),
            resizer: Resizer::new(),
            encoded: Vec::new(),
            out_dir,
        }))
    }
}

/// `[resize]` as the file spells it.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawResize {
    /// The sizes each image is resized to: WIDTHxHEIGHT (1 to 16384 px) or a percentage (1 to 400 %).
    #[schemars(with = "Option<Vec<String>>", length(min = 1), extend("default" = ["224x224", "50%"]))]
    targets: Option<Spanned<Vec<String>>>,
    /// The [`FORMAT`] axis, which reads it.
    #[allow(dead_code)]
    #[schemars(skip)]
    format: Option<serde::de::IgnoredAny>,
    /// PNG's compression level.
    #[schemars(with = "Option<u64>", range(max = 9), extend("default" = 6))]
    png_compression: Option<Spanned<i64>>,
    /// The resampling filter.
    #[schemars(with = "Option<super::image::FilterName>", extend("default" = "lanczos3"))]
    filter: Option<Spanned<String>>,
    /// JPEG's and WebP's quality.
    #[schemars(with = "Option<u64>", range(min = 1, max = 100), extend("default" = 90))]
    quality: Option<Spanned<i64>>,
    /// JPEG's chroma subsampling.
    #[schemars(with = "Option<Subsampled>", extend("default" = "4:2:0"))]
    subsampling: Option<Spanned<String>>,
    /// Write each resized image to the cell's folder (the save stage).
    #[schemars(extend("default" = true))]
    save: Option<bool>,
}

/// The words of `[resize] subsampling`.
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
enum Subsampled {
    #[serde(rename = "4:2:0")]
    S420,
    #[serde(rename = "4:4:4")]
    S444,
}

#[derive(Debug, Clone)]
pub struct ResizeSettings {
    pub targets: Vec<Target>,
    pub filter: Filter,
    pub quality: u8,
    /// JPEG chroma subsampling: 4:2:0 (Pillow's default) or 4:4:4.
    pub subsampling: Subsampling,
    /// zlib level of PNG outputs, 1 to 9 (Pillow's default: 6).
    pub png_compression: u8,
    pub save: bool,
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
pub enum Subsampling {
    /// 2x2 chroma, as Pillow and libjpeg save by default.
    S420,
    /// Full-resolution chroma.
    S444,
}

/// What `python/pools.py`'s resize reads of its settings, by these keys.
#[derive(Serialize)]
struct PyResize {
    targets: Vec<PyTarget>,
    filter: Filter,
    format: &'static str,
    quality: u8,
    /// `4:2:0` or `4:4:4`, as Pillow names them.
    subsampling: &'static str,
    png_compression: u8,
    save: bool,
}

/// A target size, as pools.py reads it: `{"width", "height"}` or `{"percent"}`.
#[derive(Serialize)]
#[serde(untagged)]
enum PyTarget {
    Exact { width: u32, height: u32 },
    Percent { percent: u32 },
}

fn parse(section: &Section) -> Result<ResizeSettings, SpecError> {
    let cx = section.fields;
    let r: RawResize = section.parse()?;
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
        filter: parse_filter(cx, "resize.filter", &r.filter, Filter::Lanczos3)?,
        quality,
        subsampling,
        png_compression: cx.bounded("resize.png_compression", &r.png_compression, 6, 9)?.max(1) as u8,
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

/// A worker's resize state: its resampler and encode buffer, reused between tasks.
struct State {
    settings: ResizeSettings,
    resizer: Resizer,
    encoded: Vec<u8>,
    /// The cell's output folder when saving is on.
    out_dir: Option<PathBuf>,
}

impl TaskState for State {
    fn run(&mut self, ctx: &Context, task: &Task, out: &mut TaskOutput) -> Result<(), WorkError> {
        let s = &self.settings;
        let (resizer, encoded, stages) = (&mut self.resizer, &mut self.encoded, &mut out.stages);
        let t = Instant::now();
        let px = load_input(&task.input, ctx.max_pixels)?;
        stages.decode_ms += ms(t.elapsed());
        let name = safe_stem(&task.input.name());
        for &target in &s.targets {
            let (w, h) = target.dims(px.width, px.height);
            if w > u16::MAX as u32 || h > u16::MAX as u32 {
                return Err(format!(
                    "target {} gives {w}x{h}, larger than JPEG allows (65535)",
                    target.label()
                )
                .into());
            }
            let t = Instant::now();
            let resized = resample(resizer, &px, w, h, s.filter)?;
            stages.resize_ms += ms(t.elapsed());

            let t = Instant::now();
            let format = encode(s, Format::of(ctx), &task.input, &resized, w, h, encoded)?;
            stages.encode_ms += ms(t.elapsed());

            if let Some(dir) = &self.out_dir {
                let t = Instant::now();
                let ext = match format {
                    Format::Png => "png",
                    Format::Webp => "webp",
                    _ => "jpg",
                };
                let path = dir.join(format!("{:04}-{name}-{}.{ext}", task.index, target.label()));
                std::fs::write(&path, &encoded[..]).map_err(|e| format!("cannot save {}: {e}", path.display()))?;
                stages.save_ms += ms(t.elapsed());
            }
        }
        Ok(())
    }
}

/// Encodes RGB pixels into `out` in the cell's format (`same`: the input's, by its extension;
/// JPEG for noise and other formats); returns the format used.
fn encode(
    s: &ResizeSettings,
    format: Format,
    input: &Input,
    rgb: &[u8],
    w: u32,
    h: u32,
    out: &mut Vec<u8>,
) -> Result<Format, WorkError> {
    use image::ImageEncoder;
    let format = match format {
        Format::Same => match input {
            Input::File { path, .. } => match image::ImageFormat::from_path(path) {
                Ok(image::ImageFormat::Png) => Format::Png,
                Ok(image::ImageFormat::WebP) => Format::Webp,
                _ => Format::Jpeg,
            },
            _ => Format::Jpeg,
        },
        f => f,
    };
    out.clear();
    match format {
        Format::Png => image::codecs::png::PngEncoder::new_with_quality(
            &mut *out,
            image::codecs::png::CompressionType::Level(s.png_compression),
            image::codecs::png::FilterType::Adaptive,
        )
        .write_image(rgb, w, h, image::ExtendedColorType::Rgb8)
        .map_err(|e| format!("PNG encoding failed: {e}"))?,
        Format::Webp => image::codecs::webp::WebPEncoder::new_lossless(&mut *out)
            .encode(rgb, w, h, image::ExtendedColorType::Rgb8)
            .map_err(|e| format!("WebP encoding failed: {e}"))?,
        _ => super::jpeg::encode(rgb, w, h, s.quality, s.subsampling, out)?,
    }
    Ok(format)
}
