//! The `[images]` section: the folders each task set draws from (listed once, sorted, so draws
//! are the same on every machine), the noise image, and the decoder's pixel limit.

use std::path::PathBuf;

use super::raw::RawImages;
use super::{Fields, SpecError};
use crate::plan::{ImageFolder, Images};

const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "webp"];

pub(super) fn parse(cx: &Fields, r: &RawImages, needed: bool) -> Result<Images, SpecError> {
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
            // Opening a FIFO, socket or device would block or read forever: only regular
            // files (or links to one) are images.
            if let Some(odd) = files.iter().find(|f| !std::fs::metadata(f).is_ok_and(|m| m.is_file())) {
                return cx.err(
                    "images.folders",
                    span,
                    format!(
                        "{} is not a regular file (a FIFO, device or broken link?)",
                        odd.display()
                    ),
                );
            }
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
