//! `runner merge OUT DIR...`: the shards of one experiment, combined into one results folder
//! whose runs.csv and tasks.csv hold the rows a single-machine run would, in its order; every
//! node's environment is kept, and the summary is rebuilt.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};

use crate::envinfo::timestamp;
use crate::exit::{ExitCode, UsageError};
use crate::experiment::{hex, Experiment, Overrides};
use crate::export::csv::{read_runs, read_tasks, Csv};
use crate::export::table::Table;
use crate::export::{Exporter, Report};
use crate::plan::{expand, schedule, slice, Cell, Rep, Shard, Split};
use crate::record::{RunRow, TaskRow};
use crate::summary::summarize;

/// One shard's folder, read.
struct Part {
    dir: PathBuf,
    shard: Shard,
    split: Split,
    env: serde_json::Value,
    text: String,
    runs: Vec<RunRow>,
    tasks: Vec<TaskRow>,
}

type Key = (String, bool, usize);

fn key(c: &Cell, r: &Rep) -> Key {
    (c.id(), r.warmup, r.index)
}

pub fn run(out: &Path, dirs: &[PathBuf]) -> Result<ExitCode> {
    let parts = dirs.iter().map(|d| read(d)).collect::<Result<Vec<Part>>>()?;
    let first = &parts[0];

    // One experiment, one shard count and split, every shard exactly once.
    let sha = |p: &Part| hex(&Sha256::digest(p.text.as_bytes()));
    for p in &parts[1..] {
        if sha(p) != sha(first) {
            return Err(usage(format!(
                "{} and {} ran different experiments (their experiment.toml differ); merge only shards of one run",
                first.dir.display(),
                p.dir.display()
            )));
        }
        if (p.shard.count, p.split) != (first.shard.count, first.split) {
            return Err(usage(format!(
                "{} is shard {} split by {}, but {} is shard {} split by {}; merge only shards of one run",
                first.dir.display(),
                first.shard,
                first.split,
                p.dir.display(),
                p.shard,
                p.split
            )));
        }
    }
    let count = first.shard.count.get();
    let mut by_index: BTreeMap<usize, &Part> = BTreeMap::new();
    for p in &parts {
        if let Some(q) = by_index.insert(p.shard.index, p) {
            return Err(usage(format!(
                "shard {} appears twice: {} and {}; keep one (resume an incomplete one with `runner FILE --resume DIR`)",
                p.shard,
                q.dir.display(),
                p.dir.display()
            )));
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(usage(format!(
            "missing shard(s) {} of {count}: no folder given ran them; run each with `runner FILE --shard I/{count}` and merge again",
            missing.join(", ")
        )));
    }

    // What a single-machine run would have run, and which shard runs what of it.
    let file = PathBuf::from(first.env["experiment_file"].as_str().unwrap_or("experiment.toml"));
    let exp = Experiment::from_text(&file, &first.text, &Overrides { allow_large: true })
        .with_context(|| format!("reading the experiment of {}", first.dir.display()))?;
    let all = schedule(&exp.repetition_plan(), &expand(&exp.axes, &exp.exclude));
    let cost = super::cost(&exp);
    let mut incomplete = Vec::new();
    for p in &parts {
        let want: Vec<Key> = slice(&all, p.shard, p.split, &cost)
            .iter()
            .map(|(c, r)| key(c, r))
            .collect();
        let have: HashMap<Key, ()> = p.runs.iter().map(|r| ((r.cell.clone(), r.warmup, r.rep), ())).collect();
        if let Some(r) = p
            .runs
            .iter()
            .find(|r| !want.contains(&(r.cell.clone(), r.warmup, r.rep)))
        {
            return Err(usage(format!(
                "{}: holds {} repetition {}, which shard {} does not run; was it run with another runner version?",
                p.dir.display(),
                r.cell,
                r.rep,
                p.shard
            )));
        }
        if have.len() != p.runs.len() {
            return Err(usage(format!("{}: runs.csv holds a repetition twice", p.dir.display())));
        }
        let lacking = want.iter().filter(|k| !have.contains_key(*k)).count();
        if lacking > 0 {
            incomplete.push(format!(
                "shard {} ({}) lacks {lacking} of {} repetitions: runner {} --resume {}",
                p.shard,
                p.dir.display(),
                want.len(),
                file.display(),
                p.dir.display()
            ));
        }
    }
    if !incomplete.is_empty() {
        return Err(usage(format!(
            "incomplete shard(s); finish them, then merge again:\n  {}",
            incomplete.join("\n  ")
        )));
    }

    // The rows, in the single-machine order.
    let mut runs: HashMap<Key, &RunRow> = HashMap::new();
    let mut tasks: HashMap<Key, Vec<&TaskRow>> = HashMap::new();
    for p in &parts {
        runs.extend(p.runs.iter().map(|r| ((r.cell.clone(), r.warmup, r.rep), r)));
        for t in &p.tasks {
            tasks.entry((t.cell.clone(), t.warmup, t.rep)).or_default().push(t);
        }
    }
    create_empty(out)?;
    std::fs::write(out.join("experiment.toml"), &first.text).with_context(|| format!("writing {}", out.display()))?;
    let mut csv = Csv::open(out).with_context(|| format!("writing {}", out.display()))?;
    let mut rows = Vec::with_capacity(all.len());
    for (c, r) in &all {
        let k = key(c, r);
        let run = runs[&k];
        let ts: Vec<TaskRow> = tasks
            .get(&k)
            .map_or(Vec::new(), |v| v.iter().map(|t| (*t).clone()).collect());
        csv.repetition(run, &ts)
            .with_context(|| format!("writing {}", out.display()))?;
        rows.push(run.clone());
    }

    // Every node's environment, and which hardware measured what.
    let mut shards = Vec::new();
    for (i, p) in &by_index {
        std::fs::write(
            out.join(format!("env-shard-{i}.json")),
            serde_json::to_string_pretty(&p.env).unwrap_or_default(),
        )?;
        shards.push(serde_json::json!({
            "shard": p.shard.to_string(),
            "folder": p.dir,
            "node": p.env["node"],
            "hardware": p.env["hardware"],
            "cpu_model": p.env["cpu_model"],
            "cores": p.env["cores"],
            "memory_total_bytes": p.env["memory_total_bytes"],
            "start_utc": p.env["start_utc"],
            "end_utc": p.env["end_utc"],
        }));
    }
    let env = serde_json::json!({
        "merged": true,
        "merged_utc": timestamp(std::time::SystemTime::now()),
        "runner_version": env!("CARGO_PKG_VERSION"),
        "git_commit": env!("RUNNER_GIT_COMMIT"),
        "command_line": std::env::args().collect::<Vec<_>>(),
        "experiment_file": file,
        "experiment_sha256": sha(first),
        "experiment_text": first.text,
        "seed": exp.seed,
        "split": first.split,
        "shards": shards,
    });
    std::fs::write(
        out.join("env.json"),
        serde_json::to_string_pretty(&env).unwrap_or_default(),
    )?;
    let kinds: Vec<String> = {
        let mut k: Vec<String> = rows.iter().filter_map(|r| r.hardware.clone()).collect();
        k.sort();
        k.dedup();
        k
    };
    if kinds.len() > 1 {
        eprintln!(
            "runner: merge: the shards ran on {} kinds of hardware ({}); cells are compared only with cells \
             measured on the same kind, and the summary marks the rest",
            kinds.len(),
            kinds.join("; ")
        );
    }

    let cells = summarize(&rows);
    let report = Report {
        title: &exp.name,
        rows: &rows,
        cells: &cells,
        preoptimize_s: None,
    };
    let _ = Table.report(&report);
    super::report::write(out, &report).with_context(|| format!("reporting on {}", out.display()))?;
    println!(
        "merged {count} shard(s), {} repetitions, into {}",
        rows.len(),
        out.display()
    );
    Ok(ExitCode::Ok)
}

/// Reads one shard's folder: its experiment, its shard (env.json) and its rows.
fn read(dir: &Path) -> Result<Part> {
    if !dir.is_dir() {
        return Err(usage(format!(
            "{}: no such results folder (did this shard start? see its log)",
            dir.display()
        )));
    }
    let text = std::fs::read_to_string(dir.join("experiment.toml"))
        .map_err(|e| usage(format!("{}: not a results folder ({e})", dir.display())))?;
    let env: serde_json::Value = std::fs::read_to_string(dir.join("env.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| usage(format!("{}: no readable env.json", dir.display())))?;
    let (shard, split) = super::resume::shard_of(dir, None)?.ok_or_else(|| {
        usage(format!(
            "{}: not a shard (it was run without --shard); merge combines the folders of `runner FILE --shard I/N`",
            dir.display()
        ))
    })?;
    let runs = if dir.join("runs.csv").exists() {
        read_runs(dir)?
    } else {
        Vec::new()
    };
    let (tasks, _) = read_tasks(dir, &runs)?;
    Ok(Part {
        dir: dir.to_path_buf(),
        shard,
        split,
        env,
        text,
        runs,
        tasks,
    })
}

/// Creates `dir`, which must not exist or be empty.
fn create_empty(dir: &Path) -> Result<()> {
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(usage(format!(
            "{}: the merged folder must be new or empty",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

fn usage(msg: String) -> anyhow::Error {
    UsageError(msg).into()
}
