//! JPEG encoding for the resize workload: libjpeg-turbo's TurboJPEG API (the codec Pillow's
//! wheels carry), linked when the build found `libturbojpeg` (build.rs; scripts/setup installs
//! Debian's libturbojpeg0-dev), else the pure-Rust `jpeg-encoder`. [`ENCODER`] says which, and
//! env.json records it. Both write baseline JPEG with the standard Huffman tables and the
//! accurate integer DCT at the given quality and chroma subsampling, as Pillow's `save` does.

use super::resize::Subsampling;

/// The encoder this binary was built with, as env.json names it.
#[cfg(turbojpeg)]
pub const ENCODER: &str = concat!(
    "libjpeg-turbo ",
    env!("RUNNER_TURBOJPEG_VERSION"),
    " (TurboJPEG API, ",
    env!("RUNNER_TURBOJPEG_LINK"),
    ")"
);
#[cfg(not(turbojpeg))]
pub const ENCODER: &str = "jpeg-encoder (fallback: libturbojpeg was not found when runner was built)";

/// Why an image could not be encoded as JPEG; a task's failure says it in these words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JpegError {
    #[error("{w}x{h} is larger than JPEG allows (65535)")]
    TooLarge { w: u32, h: u32 },
    #[error("{w}x{h} RGB needs {} bytes, not {got}", *w as usize * *h as usize * 3)]
    Size { w: u32, h: u32, got: usize },
    /// The encoder's own words.
    #[error("JPEG encoding failed: {0}")]
    Encoder(String),
}

/// A task's failure travels on as words (across processes).
impl From<JpegError> for String {
    fn from(e: JpegError) -> String {
        e.to_string()
    }
}

/// Encodes `rgb` (w x h, 3 bytes a pixel) into `out`, replacing what it held.
pub fn encode(
    rgb: &[u8],
    w: u32,
    h: u32,
    quality: u8,
    subsampling: Subsampling,
    out: &mut Vec<u8>,
) -> Result<(), JpegError> {
    if w > u16::MAX as u32 || h > u16::MAX as u32 {
        return Err(JpegError::TooLarge { w, h });
    }
    if rgb.len() != w as usize * h as usize * 3 {
        return Err(JpegError::Size { w, h, got: rgb.len() });
    }
    imp::encode(rgb, w, h, quality, subsampling, out)
}

#[cfg(turbojpeg)]
mod imp {
    use std::cell::Cell;
    use std::ffi::{c_char, c_int, c_ulong, c_void, CStr};

    use super::{JpegError, Subsampling};

    type Handle = *mut c_void;
    const TJPF_RGB: c_int = 0;
    const TJSAMP_444: c_int = 0;
    const TJSAMP_420: c_int = 2;
    const TJFLAG_NOREALLOC: c_int = 1024;

    // Linked by build.rs: statically where libturbojpeg.a is installed (the default), so the
    // binary, the wheel's included, needs no system library.
    extern "C" {
        fn tjInitCompress() -> Handle;
        fn tjBufSize(width: c_int, height: c_int, subsamp: c_int) -> c_ulong;
        #[allow(clippy::too_many_arguments)]
        fn tjCompress2(
            handle: Handle,
            src: *const u8,
            width: c_int,
            pitch: c_int,
            height: c_int,
            pixel_format: c_int,
            jpeg: *mut *mut u8,
            jpeg_size: *mut c_ulong,
            subsamp: c_int,
            quality: c_int,
            flags: c_int,
        ) -> c_int;
        fn tjGetErrorStr2(handle: Handle) -> *mut c_char;
    }

    thread_local! {
        /// One compressor per thread (a handle is not to be shared), made at its first image
        /// and kept for the thread's life.
        static HANDLE: Cell<Handle> = const { Cell::new(std::ptr::null_mut()) };
    }

    pub fn encode(
        rgb: &[u8],
        w: u32,
        h: u32,
        quality: u8,
        subsampling: Subsampling,
        out: &mut Vec<u8>,
    ) -> Result<(), JpegError> {
        let subsamp = match subsampling {
            Subsampling::S420 => TJSAMP_420,
            Subsampling::S444 => TJSAMP_444,
        };
        let handle = HANDLE.with(|h| {
            if h.get().is_null() {
                // SAFETY: no arguments; a null return is handled below.
                h.set(unsafe { tjInitCompress() });
            }
            h.get()
        });
        if handle.is_null() {
            return Err(JpegError::Encoder("libjpeg-turbo could not make a compressor".into()));
        }
        let (w, h) = (w as c_int, h as c_int);
        // SAFETY: plain arithmetic on the dimensions.
        let room = unsafe { tjBufSize(w, h, subsamp) };
        if room == c_ulong::MAX {
            return Err(JpegError::Encoder(format!(
                "libjpeg-turbo has no buffer size for {w}x{h}"
            )));
        }
        let room = room as usize;
        out.clear();
        out.reserve(room);
        let mut buf = out.as_mut_ptr();
        let mut size = room as c_ulong;
        // SAFETY: `rgb` holds w x h x 3 bytes (checked by the caller); `buf` has `room` bytes,
        // the worst case tjBufSize gives, and NOREALLOC keeps libjpeg-turbo inside them.
        let rc = unsafe {
            tjCompress2(
                handle,
                rgb.as_ptr(),
                w,
                0,
                h,
                TJPF_RGB,
                &mut buf,
                &mut size,
                subsamp,
                quality as c_int,
                TJFLAG_NOREALLOC,
            )
        };
        if rc != 0 {
            // SAFETY: the handle's error text, a NUL-terminated string it owns.
            let why = unsafe { CStr::from_ptr(tjGetErrorStr2(handle)) }
                .to_string_lossy()
                .into_owned();
            return Err(JpegError::Encoder(why));
        }
        if buf != out.as_mut_ptr() || size as usize > room {
            return Err(JpegError::Encoder("libjpeg-turbo left the buffer it was given".into()));
        }
        // SAFETY: libjpeg-turbo wrote `size` <= `room` bytes at the start of `out`'s buffer.
        unsafe { out.set_len(size as usize) };
        Ok(())
    }
}

#[cfg(not(turbojpeg))]
mod imp {
    use super::{JpegError, Subsampling};

    pub fn encode(
        rgb: &[u8],
        w: u32,
        h: u32,
        quality: u8,
        subsampling: Subsampling,
        out: &mut Vec<u8>,
    ) -> Result<(), JpegError> {
        out.clear();
        let mut encoder = jpeg_encoder::Encoder::new(&mut *out, quality);
        encoder.set_sampling_factor(match subsampling {
            Subsampling::S420 => jpeg_encoder::SamplingFactor::R_4_2_0,
            Subsampling::S444 => jpeg_encoder::SamplingFactor::R_4_4_4,
        });
        encoder
            .encode(rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
            .map_err(|e| JpegError::Encoder(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_jpeg_that_decodes_to_the_same_size_and_close_colours() {
        let (w, h) = (67u32, 45u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| ((i / 3 % w) * 255 / w) as u8).collect();
        let mut out = Vec::new();
        for s in [Subsampling::S420, Subsampling::S444] {
            encode(&rgb, w, h, 90, s, &mut out).unwrap();
            assert_eq!(&out[..2], &[0xFF, 0xD8], "{ENCODER}: a JPEG starts with SOI");
            let back = image::load_from_memory(&out).unwrap().to_rgb8();
            assert_eq!(back.dimensions(), (w, h));
            let err: f64 = back
                .as_raw()
                .iter()
                .zip(&rgb)
                .map(|(a, b)| (*a as f64 - *b as f64).abs())
                .sum::<f64>()
                / rgb.len() as f64;
            assert!(err < 3.0, "{ENCODER}: mean error {err}");
        }
        assert!(encode(&rgb[1..], w, h, 90, Subsampling::S420, &mut out).is_err());
    }
}
