//! What a user's own workload (command, python, native) gets of a task, the same for all three:
//! its index, its seed and its input, a file path or none. Drawn noise becomes a PNG file in
//! the cell's folder, written by each repetition before its pool starts (outside the wall time).

use super::WorkError;
use crate::tasks::Tasks;
use std::path::PathBuf;

use super::image::noise_pixels;
use super::Context;
use crate::task::{Input, Task};

/// The file a user's workload reads for `task`: the drawn file, the noise image's PNG, or none.
pub fn input_path(ctx: &Context, task: &Task) -> Option<PathBuf> {
    match &task.input {
        Input::File { path, .. } => Some(path.clone()),
        Input::Noise { .. } => Some(ctx.out_dir.join("inputs").join(format!("{}.png", task.input.name()))),
        Input::None => None,
    }
}

/// Writes the repetition's noise images as PNG files where [`input_path`] names them.
pub fn write_noise(ctx: &Context, tasks: &Tasks) -> Result<(), WorkError> {
    // Made tasks have no input: only a list can hold noise.
    let Tasks::Listed(tasks) = tasks else { return Ok(()) };
    for task in tasks.iter() {
        let Input::Noise { seed, width, height } = task.input else {
            continue;
        };
        let Some(path) = input_path(ctx, task) else { continue };
        if path.exists() {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let px = noise_pixels(seed, width, height);
        image::save_buffer(&path, &px, width, height, image::ExtendedColorType::Rgb8)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// The last `limit` bytes of a program's stderr, as text.
pub fn tail(bytes: &[u8], limit: usize) -> String {
    let start = bytes.len().saturating_sub(limit);
    String::from_utf8_lossy(&bytes[start..]).trim().to_string()
}
