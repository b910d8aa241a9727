//! Replays the fuzz targets' committed inputs (`fuzz/seeds`, and any crasher kept in
//! `fuzz/regressions`) through the same code in ordinary `cargo test`, so CI keeps them fixed.

use std::path::{Path, PathBuf};

use runner::experiment::{Experiment, Overrides};
use runner::workload::{decode_bytes, resample, Filter};

/// The files of a committed corpus folder; a missing or empty folder fails the test, so a
/// replay can never pass by finding nothing to replay.
fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    files.retain(|f| f.extension().is_none_or(|e| e != "md"));
    files.sort();
    assert!(!files.is_empty(), "{} holds nothing to replay", dir.display());
    files
}

/// What `fuzz_targets/image_task.rs` does, returning whether the bytes decoded.
fn image_task(data: &[u8]) -> bool {
    let Ok(px) = decode_bytes(data, 1 << 20) else {
        return false;
    };
    assert_eq!(px.rgb.len(), px.width as usize * px.height as usize * 3);
    let (w, h) = ((px.width / 2).max(1), (px.height / 2).max(1));
    let out = resample(&mut fast_image_resize::Resizer::new(), &px, w, h, Filter::Lanczos3).unwrap();
    assert_eq!(out.len(), w as usize * h as usize * 3);
    true
}

#[test]
fn image_seeds_decode_and_their_truncations_fail_cleanly() {
    let seeds = files("fuzz/seeds/image_task");
    assert!(seeds.len() >= 20, "seed corpus missing: {seeds:?}");
    for seed in &seeds {
        let data = std::fs::read(seed).unwrap();
        assert!(image_task(&data), "{} should decode", seed.display());
        // A file cut inside its pixel data must fail as a task, never pass as an image or panic.
        for cut in [1, 8, data.len() / 4, data.len() / 2, data.len() * 3 / 4] {
            assert!(
                !image_task(&data[..cut]),
                "{} cut at {cut} of {} bytes decoded",
                seed.display(),
                data.len()
            );
        }
    }
}

#[test]
fn image_regressions_do_not_panic() {
    for file in files("fuzz/regressions/image_task") {
        // Each kept input is hostile: it must be refused, not decoded (and never panic).
        assert!(
            !image_task(&std::fs::read(&file).unwrap()),
            "{} decoded",
            file.display()
        );
    }
}

#[test]
fn experiment_seeds_parse_and_regressions_do_not_panic() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/fuzz.toml");
    for file in files("experiments")
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "toml"))
    {
        let text = std::fs::read_to_string(&file).unwrap();
        if let Err(e) = Experiment::from_text(&path, &text, &Overrides::default()) {
            panic!("{}: {e}", file.display());
        }
    }
    for file in files("fuzz/regressions/experiment") {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        // Each kept input is a bad experiment: refused with an error, never a panic.
        assert!(
            Experiment::from_text(&path, &text, &Overrides::default()).is_err(),
            "{} was accepted",
            file.display()
        );
    }
}
