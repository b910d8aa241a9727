//! Any bytes as a task's image: decoding (under the decoder limits), resampling and JPEG
//! encoding — the resize task's steps — fail with an error, never panic or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runner::workload::{decode_bytes, resample, Filter};

fuzz_target!(|data: &[u8]| {
    let Ok(px) = decode_bytes(data, 1 << 20) else { return };
    assert_eq!(px.rgb.len(), px.width as usize * px.height as usize * 3);
    let (w, h) = ((px.width / 2).max(1), (px.height / 2).max(1));
    let mut resizer = fast_image_resize::Resizer::new();
    let out = resample(&mut resizer, &px, w, h, Filter::Lanczos3).expect("resampling a decoded image");
    assert_eq!(out.len(), w as usize * h as usize * 3);
    if w > u16::MAX as u32 || h > u16::MAX as u32 {
        return; // the resize task refuses these before encoding
    }
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 90)
        .encode(&out, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .expect("encoding a resampled image");
    assert!(jpeg.starts_with(&[0xFF, 0xD8]));
});
