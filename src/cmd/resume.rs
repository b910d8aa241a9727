//! `--resume DIR`: what a results folder already holds, after checking it ran this experiment.

use std::path::Path;

use anyhow::Result;
use sha2::{Digest, Sha256};

use crate::exit::UsageError;
use crate::experiment::{hex, Experiment};
use crate::export::csv::{drop_orphan_tasks, read_runs};
use crate::record::RunRow;

/// The rows a results folder already holds, after checking that it ran this same experiment.
pub fn state(exp: &Experiment, dir: &Path, force: bool) -> Result<Vec<RunRow>> {
    let old = std::fs::read_to_string(dir.join("experiment.toml"))
        .map_err(|e| UsageError(format!("{}: not a results folder to resume ({e})", dir.display())))?;
    if hex(&Sha256::digest(old.as_bytes())) != exp.sha256 && !force {
        return Err(UsageError(format!(
            "{} has changed since {} was run (its SHA-256 differs); resuming would mix two experiments. \
             Pass --force to resume anyway.",
            exp.file.display(),
            dir.display()
        ))
        .into());
    }
    let rows = if dir.join("runs.csv").exists() {
        read_runs(dir)?
    } else {
        Vec::new()
    };
    let dropped = drop_orphan_tasks(dir, &rows)?;
    if dropped > 0 {
        eprintln!("runner: resume: dropped {dropped} task row(s) of a repetition that never finished");
    }
    Ok(rows)
}
