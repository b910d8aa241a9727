//! `--resume DIR`: what a results folder already holds, after checking it ran this experiment
//! with the same binary, ONNX Runtime, model and images ([`fingerprint`]).

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::envinfo::Env;
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::export::csv::{drop_orphan_tasks, read_runs};
use crate::plan::{Shard, Split};
use crate::record::RunRow;
use crate::results_dir::ResultsDir;
use crate::spec::hex;
use crate::workload::RunFacts;

/// The rows a results folder already holds, after checking that it ran this same experiment.
pub fn state(exp: &Experiment, dir: &Path, force: bool) -> Result<Vec<RunRow>> {
    let old = std::fs::read_to_string(ResultsDir::at(dir).experiment())
        .map_err(|e| Error::usage(format!("{}: not a results folder to resume ({e})", dir.display())))?;
    if hex(&Sha256::digest(old.as_bytes())) != exp.sha256 && !force {
        return Err(Error::usage(format!(
            "{} has changed since {} was run (its SHA-256 differs); resuming would mix two experiments. \
             Pass --force to resume anyway.",
            exp.file.display(),
            dir.display()
        )));
    }
    let stamp = crate::envinfo::timestamp(std::time::SystemTime::now());
    for file in [ResultsDir::at(dir).runs(), ResultsDir::at(dir).tasks()] {
        if let Some(warning) = crate::export::csv::repair(&file, &stamp)? {
            eprintln!("runner: warning: resume: {warning}");
        }
    }
    let rows = if ResultsDir::at(dir).runs().exists() {
        read_runs(dir)?
    } else {
        Vec::new()
    };
    // A repetition whose task rows were cut is not whole on disk: its run row goes too, and
    // it runs again.
    let (tasks, _) = crate::export::csv::read_tasks(dir, &rows)?;
    let mut count: std::collections::HashMap<(String, bool, usize), usize> = std::collections::HashMap::new();
    for t in &tasks {
        *count.entry((t.cell.clone(), t.warmup, t.rep)).or_default() += 1;
    }
    let short =
        |r: &RunRow| count.get(&(r.cell.id(), r.warmup, r.rep)).copied().unwrap_or(0) != exp.task_log.rows_of(r);
    if rows.iter().any(short) {
        let keep: Vec<bool> = rows.iter().map(|r| !short(r)).collect();
        let n = crate::export::csv::keep_rows(&ResultsDir::at(dir).runs(), &keep)?;
        eprintln!("runner: warning: resume: {n} repetition(s) lost task rows in tasks.csv; they run again");
    }
    let rows: Vec<RunRow> = rows.into_iter().filter(|r| !short(r)).collect();
    let dropped = drop_orphan_tasks(dir, &rows)?;
    if dropped > 0 {
        eprintln!("runner: resume: dropped {dropped} task row(s) of a repetition that never finished");
    }
    Ok(rows)
}

/// The shard a results folder was run as (env.json), checked against `--shard` if given.
pub fn shard_of(dir: &Path, given: Option<(Shard, Split)>) -> Result<Option<(Shard, Split)>> {
    let recorded = Env::read(dir).and_then(|e| e.shard).map(|s| {
        let shard = Shard {
            index: s.index,
            count: s.count,
        };
        (shard, s.split)
    });
    match (recorded, given) {
        (r, None) => Ok(r),
        (Some(r), Some(g)) if r == g => Ok(Some(r)),
        (r, Some((s, split))) => Err(Error::usage(format!(
            "{} was run as {}; it cannot be resumed as shard {s} (split by {split})",
            dir.display(),
            r.map_or("a whole run, not a shard".to_string(), |(s, split)| format!(
                "shard {s} (split by {split})"
            ))
        ))),
    }
}

/// What must not change between the sessions of one run: the binary, ONNX Runtime, the model
/// and the image folders (names, sizes and modification times of the files drawn from).
pub fn fingerprint(exp: &Experiment, found: &RunFacts) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    f.insert(
        "runner".to_string(),
        format!("{} ({})", env!("CARGO_PKG_VERSION"), env!("RUNNER_GIT_COMMIT")),
    );
    if let Some(ort) = &found.ort {
        f.insert("ort_library".to_string(), ort.ort_library.clone());
        f.insert("ort_version".to_string(), ort.ort_version.clone());
        let shas: Vec<&str> = ort.models.iter().map(|m| m.sha256.as_str()).collect();
        f.insert("model_sha256".to_string(), shas.join(" "));
    }
    if let Some(python) = &found.python {
        f.insert("python".to_string(), serde_json::to_string(python).unwrap_or_default());
    }
    let mut h = Sha256::new();
    for folder in &exp.images.folders {
        for file in &folder.files {
            let m = std::fs::metadata(file).ok();
            let mtime = m
                .as_ref()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            h.update(format!("{}\t{:?}\t{:?}\n", file.display(), m.map(|m| m.len()), mtime).as_bytes());
        }
    }
    f.insert("images".to_string(), hex(&h.finalize()));
    f
}

/// What a run reads: every drawn image and every file a workload watches (models, a user's
/// module or library), each by its size and modification time.
pub type Inputs = BTreeMap<std::path::PathBuf, (Option<u64>, Option<std::time::SystemTime>)>;

pub fn inputs(exp: &Experiment) -> Inputs {
    let mut files: Vec<std::path::PathBuf> = exp.images.folders.iter().flat_map(|f| f.files.clone()).collect();
    let mut parts: Vec<_> = exp.axes.workload.iter().flat_map(|w| w.parts()).collect();
    parts.sort();
    parts.dedup();
    for p in parts {
        files.extend(p.get().watched(&exp.settings));
    }
    files
        .into_iter()
        .map(|f| {
            let m = std::fs::metadata(&f).ok();
            let stamp = (m.as_ref().map(|m| m.len()), m.and_then(|m| m.modified().ok()));
            (f, stamp)
        })
        .collect()
}

/// What changed between two readings of the inputs ("high-res-1.jpg: 2 MB -> 1 KB"), if anything.
pub fn inputs_changed(then: &Inputs, now: &Inputs) -> Option<String> {
    let show = |v: &(Option<u64>, Option<std::time::SystemTime>)| match v.0 {
        Some(n) => format!("{n} bytes"),
        None => "gone".to_string(),
    };
    let changed: Vec<String> = then
        .iter()
        .filter(|(f, v)| now.get(*f) != Some(v))
        .map(|(f, v)| match now.get(f) {
            Some(w) if w.0 == v.0 => format!("{} (modified, {})", f.display(), show(w)),
            Some(w) => format!("{} ({} -> {})", f.display(), show(v), show(w)),
            None => format!("{} (gone)", f.display()),
        })
        .collect();
    (!changed.is_empty()).then(|| changed.join("; "))
}

/// Compares this session's fingerprint with the one env.json recorded when the run began;
/// returns what changed ("model_sha256: a -> b"). A folder from before fingerprints were kept
/// has none to compare, and is said to have changed.
pub fn changes(dir: &Path, now: &BTreeMap<String, String>) -> Vec<String> {
    let then = Env::read(dir).map(|e| e.fingerprint).unwrap_or_default();
    if then.is_empty() {
        return vec!["env.json records no fingerprint of the first session".to_string()];
    }
    let mut out = Vec::new();
    for (key, value) in now {
        let old = then.get(key).map_or("(none)", String::as_str);
        if old != value {
            out.push(format!("{key}: {old} -> {value}"));
        }
    }
    out
}
