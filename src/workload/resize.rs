//! The resize task: decode, resample to each target, encode as JPEG, save.

use std::time::Instant;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::image::{load_input, safe_stem, Pixels};
use super::{Context, Stages};
use crate::draw::Task;
use crate::measure::ms;
use crate::spec::{Filter, Subsampling};

pub(super) fn run(
    ctx: &Context,
    task: &Task,
    resizer: &mut Resizer,
    encoded: &mut Vec<u8>,
    stages: &mut Stages,
) -> Result<(), String> {
    let t = Instant::now();
    let px = load_input(&task.input, ctx.max_pixels)?;
    stages.decode_ms += ms(t.elapsed());
    let name = safe_stem(&task.input.name());
    for &target in &ctx.resize.targets {
        let (w, h) = target.dims(px.width, px.height);
        if w > u16::MAX as u32 || h > u16::MAX as u32 {
            return Err(format!(
                "target {} gives {w}x{h}, larger than JPEG allows (65535)",
                target.label()
            ));
        }
        let t = Instant::now();
        let out = resample(resizer, &px, w, h, ctx.resize.filter)?;
        stages.resize_ms += ms(t.elapsed());

        let t = Instant::now();
        encoded.clear();
        let mut encoder = jpeg_encoder::Encoder::new(&mut *encoded, ctx.resize.quality);
        encoder.set_sampling_factor(match ctx.resize.subsampling {
            Subsampling::S420 => jpeg_encoder::SamplingFactor::R_4_2_0,
            Subsampling::S444 => jpeg_encoder::SamplingFactor::R_4_4_4,
        });
        encoder
            .encode(&out, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
            .map_err(|e| format!("JPEG encoding failed: {e}"))?;
        stages.encode_ms += ms(t.elapsed());

        if let Some(dir) = &ctx.out_dir {
            let t = Instant::now();
            let path = dir.join(format!("{:04}-{name}-{}.jpg", task.index, target.label()));
            std::fs::write(&path, &encoded[..]).map_err(|e| format!("cannot save {}: {e}", path.display()))?;
            stages.save_ms += ms(t.elapsed());
        }
    }
    Ok(())
}

/// Resamples packed RGB8 pixels to `w × h` with the chosen filter (convolution, as Pillow does).
pub fn resample(resizer: &mut Resizer, px: &Pixels, w: u32, h: u32, filter: Filter) -> Result<Vec<u8>, String> {
    let src =
        ImageRef::new(px.width, px.height, &px.rgb, PixelType::U8x3).map_err(|e| format!("bad source image: {e}"))?;
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
        .map_err(|e| format!("resize to {w}x{h} failed: {e}"))?;
    Ok(dst.into_vec())
}
