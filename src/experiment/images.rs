//! The `[images]` section: the folders each task set draws from (listed once, sorted, so draws
//! are the same on every machine), the noise image, and the decoder's pixel limit.

use std::path::PathBuf;

use super::raw::{RawExperiment, RawImages, RawInputs};
use crate::plan::{ImageFolder, Images};
use crate::spec::{Fields, SpecError};
use crate::workload::{Draws, WorkloadKind};

const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "webp"];

/// What a user's workload draws per set: `inputs = "images"` (the default with an `[images]`
/// section) or `inputs = N` (the default, 3, without one).
fn inputs(cx: &Fields, raw: &RawExperiment, workloads: &[WorkloadKind]) -> Result<Draws, SpecError> {
    let own = workloads.iter().any(|w| w.draws() == Draws::Inputs);
    match &raw.inputs {
        None if raw.images.is_some() => Ok(Draws::Images),
        None => Ok(Draws::Synthetic(3)),
        Some(v) if !own => cx.err(
            "inputs",
            Some(v.span()),
            "applies only to a user's own workload (command, python, native)",
        ),
        Some(v) => match v.get_ref() {
            RawInputs::Word(w) if w == "images" => Ok(Draws::Images),
            RawInputs::Count(n) if (1..=1_000_000).contains(n) => Ok(Draws::Synthetic(*n as usize)),
            _ => cx.err(
                "inputs",
                Some(v.span()),
                "must be \"images\" or a whole number of inputs per set, 1 to 1000000",
            ),
        },
    }
}

pub(super) fn parse(cx: &Fields, raw: &RawExperiment, workloads: &[WorkloadKind]) -> Result<Images, SpecError> {
    let inputs = inputs(cx, raw, workloads)?;
    let needed = workloads
        .iter()
        .any(|w| w.uses_images() || (w.draws() == Draws::Inputs && inputs == Draws::Images));
    let default = RawImages::default();
    let r = raw.images.as_ref().unwrap_or(&default);
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
            folders.push(folder(cx, span.clone(), name)?);
        }
    }
    Ok(Images {
        folders,
        noise,
        max_pixels,
        inputs,
    })
}

/// One image folder: its image files, sorted. Only regular files (or links to one) are images:
/// opening a FIFO, socket or device would block or read forever. A name that is not UTF-8 or
/// holds a control character (a newline would split run.log's lines, an escape would recolour
/// the terminal of whoever reads it) is refused, shown escaped.
fn folder(cx: &Fields, span: Option<std::ops::Range<usize>>, name: &str) -> Result<ImageFolder, SpecError> {
    let key = "images.folders";
    let path = cx.existing(key, span.clone(), name, true)?;
    let entries = std::fs::read_dir(&path).map_err(|e| {
        cx.err::<()>(key, span.clone(), format!("{}: {e}", path.display()))
            .unwrap_err()
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| IMAGE_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()))
        })
        .collect();
    files.sort();
    for f in &files {
        let file_name = f.file_name().unwrap_or_default();
        let bad = match file_name.to_str() {
            None => Some("is not UTF-8"),
            Some(n) if n.chars().any(char::is_control) => Some("holds a control character"),
            Some(_) => None,
        };
        if let Some(why) = bad {
            let shown = file_name.to_string_lossy().escape_debug().to_string();
            return cx.err(
                key,
                span,
                format!("{}: the file name \"{shown}\" {why}; rename it", path.display()),
            );
        }
        if !std::fs::metadata(f).is_ok_and(|m| m.is_file()) {
            return cx.err(
                key,
                span,
                format!("{} is not a regular file (a FIFO, device or broken link?)", f.display()),
            );
        }
    }
    if files.is_empty() {
        return cx.err(
            key,
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
        .map_or_else(|| name.to_string(), |n| n.to_string_lossy().into_owned());
    Ok(ImageFolder { label, path, files })
}
