//! Image input shared by the image workloads: decoding with limits, generated noise, the
//! resampling filters, and safe output names.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use serde::Serialize;
use toml::Spanned;

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::spec::{Fields, Refused, SpecError};
use crate::task::Input;

/// A resampling filter, as Pillow names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Filter {
    Nearest,
    Box,
    Bilinear,
    Hamming,
    CatmullRom,
    Mitchell,
    Lanczos3,
}

impl Filter {
    pub const NAMES: &'static str = "nearest, box, bilinear, hamming, catmullrom, mitchell, lanczos3";

    pub fn parse(s: &str) -> Option<Filter> {
        Some(match s.to_ascii_lowercase().as_str() {
            "nearest" => Filter::Nearest,
            "box" => Filter::Box,
            "bilinear" | "triangle" => Filter::Bilinear,
            "hamming" => Filter::Hamming,
            "catmullrom" | "bicubic" => Filter::CatmullRom,
            "mitchell" => Filter::Mitchell,
            "lanczos3" | "lanczos" => Filter::Lanczos3,
            _ => return None,
        })
    }
}

/// A `filter` key as the schema states it: a name `Filter::parse` takes, in any case.
pub struct FilterName;

impl schemars::JsonSchema for FilterName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FilterName".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names = [
            "nearest",
            "box",
            "bilinear",
            "triangle",
            "hamming",
            "catmullrom",
            "bicubic",
            "mitchell",
            "lanczos3",
            "lanczos",
        ];
        debug_assert!(names.iter().all(|n| Filter::parse(n).is_some()));
        // Any case, as the parser reads it: JSON Schema's patterns have no flag for it.
        let any_case = |n: &str| -> String {
            n.chars()
                .map(|c| format!("[{}{}]", c, c.to_ascii_uppercase()))
                .collect()
        };
        let pattern = format!("^({})$", names.map(any_case).join("|"));
        schemars::json_schema!({ "type": "string", "pattern": pattern, "description": format!("one of {}", Filter::NAMES) })
    }
}

/// A `filter` key of a section: one of [`Filter::NAMES`], `default` when absent.
pub fn parse_filter(cx: &Fields, key: &str, v: &Option<Spanned<String>>, default: Filter) -> Result<Filter, SpecError> {
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

/// Whether Python's pools can resample with `filter` (the setting `key`): Pillow, which they
/// resample with, has every filter but Mitchell's.
pub fn pillow_resamples(filter: Filter, key: &'static str) -> Result<(), Refused> {
    match filter {
        Filter::Mitchell => Err(Refused::at(
            key,
            "Pillow has no Mitchell filter, so the py-* executors cannot resample with it; choose another filter or drop them",
        )),
        _ => Ok(()),
    }
}

/// Packed RGB8 pixels.
#[derive(Debug)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

/// Why a task's image could not be read; a task's failure says it in these words.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("this task has no image")]
    NoImage,
    #[error("cannot read {}: {io}", path.display())]
    Read { path: PathBuf, io: std::io::Error },
    #[error("{}: {error}", path.display())]
    In { path: PathBuf, error: Box<ImageError> },
    #[error("empty file (0 bytes)")]
    Empty,
    #[error("not a supported image format (jpeg, png, webp)")]
    Format,
    /// The JPEG decoder pads a cut-off file with grey and calls it a success.
    #[error("truncated JPEG (no end-of-image marker)")]
    Truncated,
    #[error(
        "declares {width}x{height} pixels, more than images.max_pixels = {max_pixels}; refused (decompression bomb?)"
    )]
    TooLarge { width: u32, height: u32, max_pixels: u64 },
    #[error("{0}")]
    Decode(#[from] image::ImageError),
    #[error("{0}")]
    Sniff(#[from] std::io::Error),
    #[error("bad source image: {0}")]
    Source(String),
    #[error("resize to {width}x{height} failed: {message}")]
    Resize { width: u32, height: u32, message: String },
}

/// A task's failure is the work's own words.
impl From<ImageError> for String {
    fn from(e: ImageError) -> String {
        e.to_string()
    }
}

/// Reads a task's image: decodes a file, or generates its noise.
pub fn load_input(input: &Input, max_pixels: u64) -> Result<Pixels, ImageError> {
    match input {
        Input::File { path, .. } => decode(path, max_pixels),
        Input::Noise { seed, width, height } => Ok(Pixels {
            width: *width,
            height: *height,
            rgb: noise_pixels(*seed, *width, *height),
        }),
        Input::None => Err(ImageError::NoImage),
    }
}

/// Decodes any supported format by its content (not its extension), refusing images larger
/// than `max_pixels` before allocating for them.
pub fn decode(path: &Path, max_pixels: u64) -> Result<Pixels, ImageError> {
    let bytes = std::fs::read(path).map_err(|io| ImageError::Read {
        path: path.to_path_buf(),
        io,
    })?;
    decode_bytes(&bytes, max_pixels).map_err(|e| ImageError::In {
        path: path.to_path_buf(),
        error: Box::new(e),
    })
}

/// [`decode`] for bytes already in memory; errors do not name a file.
pub fn decode_bytes(bytes: &[u8], max_pixels: u64) -> Result<Pixels, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    match reader.format() {
        None => return Err(ImageError::Format),
        Some(image::ImageFormat::Jpeg) if !ends_with_eoi(bytes) => return Err(ImageError::Truncated),
        Some(_) => {}
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(4).saturating_add(64 << 20));
    reader.limits(limits);
    let decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    if width as u64 * height as u64 > max_pixels {
        return Err(ImageError::TooLarge {
            width,
            height,
            max_pixels,
        });
    }
    let img = DynamicImage::from_decoder(decoder)?;
    let rgb = img.into_rgb8();
    Ok(Pixels {
        width: rgb.width(),
        height: rgb.height(),
        rgb: rgb.into_raw(),
    })
}

/// Resamples packed RGB8 pixels to `w × h` with the chosen filter (convolution, as Pillow does).
pub fn resample(resizer: &mut Resizer, px: &Pixels, w: u32, h: u32, filter: Filter) -> Result<Vec<u8>, ImageError> {
    let src =
        ImageRef::new(px.width, px.height, &px.rgb, PixelType::U8x3).map_err(|e| ImageError::Source(e.to_string()))?;
    let mut dst = Image::new(w, h, PixelType::U8x3);
    let alg = match filter {
        Filter::Nearest => ResizeAlg::Nearest,
        Filter::Box => ResizeAlg::Convolution(FilterType::Box),
        Filter::Bilinear => ResizeAlg::Convolution(FilterType::Bilinear),
        Filter::Hamming => ResizeAlg::Convolution(FilterType::Hamming),
        Filter::CatmullRom => ResizeAlg::Convolution(FilterType::CatmullRom),
        Filter::Mitchell => ResizeAlg::Convolution(FilterType::Mitchell),
        Filter::Lanczos3 => ResizeAlg::Convolution(FilterType::Lanczos3),
    };
    resizer
        .resize(&src, &mut dst, &ResizeOptions::new().resize_alg(alg))
        .map_err(|e| ImageError::Resize {
            width: w,
            height: h,
            message: e.to_string(),
        })?;
    Ok(dst.into_vec())
}

/// Deterministic white noise: `width × height` RGB bytes from a ChaCha8 stream.
pub fn noise_pixels(seed: u64, width: u32, height: u32) -> Vec<u8> {
    let mut buf = vec![0u8; width as usize * height as usize * 3];
    ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut buf);
    buf
}

/// A whole JPEG ends with the EOI marker `FF D9` (trailing zero padding allowed).
fn ends_with_eoi(bytes: &[u8]) -> bool {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    bytes[..end].ends_with(&[0xFF, 0xD9])
}

/// A file-name fragment from an input name: only `[A-Za-z0-9._-]`, no leading dot, at most 64
/// characters, so no output can escape the output folder.
pub fn safe_stem(name: &str) -> String {
    let stem = Path::new(name)
        .file_stem()
        .map_or_else(|| name.to_string(), |s| s.to_string_lossy().into_owned());
    let mut s: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    while s.starts_with('.') {
        s.replace_range(..1, "_");
    }
    if s.is_empty() {
        s.push_str("image");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_deterministic() {
        assert_eq!(noise_pixels(5, 4, 4), noise_pixels(5, 4, 4));
        assert_ne!(noise_pixels(5, 4, 4), noise_pixels(6, 4, 4));
        assert_eq!(noise_pixels(5, 4, 4).len(), 48);
    }

    #[test]
    fn safe_stem_cannot_escape() {
        assert_eq!(safe_stem("../../etc/passwd"), "passwd");
        assert_eq!(safe_stem("..jpg"), "_");
        assert_eq!(safe_stem("a b/c?.jpg"), "c_");
        assert_eq!(safe_stem(""), "image");
        assert!(!safe_stem("..").contains('/'));
        assert_eq!(safe_stem(&"x".repeat(300)).len(), 64);
    }

    #[test]
    fn bad_files_fail_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.jpg");
        std::fs::write(&empty, b"").unwrap();
        let e = decode(&empty, 1 << 30).unwrap_err();
        assert!(
            matches!(&e, ImageError::In { error, .. } if matches!(**error, ImageError::Empty)),
            "{e}"
        );
        assert!(
            e.to_string().contains("empty file") && e.to_string().contains("empty.jpg"),
            "{e}"
        );
        let text = dir.path().join("text.jpg");
        std::fs::write(&text, b"hello, not an image").unwrap();
        assert!(decode(&text, 1 << 30)
            .unwrap_err()
            .to_string()
            .contains("not a supported image format"));
        let e = decode(&dir.path().join("missing.jpg"), 1 << 30).unwrap_err();
        assert!(matches!(e, ImageError::Read { .. }), "{e}");
        assert!(e.to_string().contains("cannot read"), "{e}");
    }

    #[test]
    fn a_truncated_jpeg_is_refused() {
        let good = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/low-res/low-res-1.jpg")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cut = dir.path().join("cut.jpg");
        std::fs::write(&cut, &good[..good.len() / 2]).unwrap();
        assert!(decode(&cut, 1 << 30)
            .unwrap_err()
            .to_string()
            .contains("truncated JPEG"));
        let padded = dir.path().join("padded.jpg");
        std::fs::write(&padded, [&good[..], &[0, 0, 0]].concat()).unwrap();
        assert!(decode(&padded, 1 << 30).is_ok());
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_allocation() {
        // A valid PNG header declaring 100000 x 100000 pixels, with no data after it.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend(100_000u32.to_be_bytes());
        ihdr.extend(100_000u32.to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]);
        png.extend(13u32.to_be_bytes());
        png.extend(&ihdr);
        png.extend(crc32(&ihdr).to_be_bytes());
        for (kind, data) in [
            (&b"IDAT"[..], &b"\x78\x9c\x03\x00\x00\x00\x00\x01"[..]),
            (&b"IEND"[..], &b""[..]),
        ] {
            let chunk: Vec<u8> = kind.iter().chain(data).copied().collect();
            png.extend((data.len() as u32).to_be_bytes());
            png.extend(&chunk);
            png.extend(crc32(&chunk).to_be_bytes());
        }
        assert!(png.len() < 100, "a tiny file");
        let dir = tempfile::tempdir().unwrap();
        let bomb = dir.path().join("bomb.png");
        std::fs::write(&bomb, &png).unwrap();
        let err = decode(&bomb, 50_000_000).unwrap_err().to_string();
        assert!(err.contains("decompression bomb") || err.contains("limit"), "{err}");
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
