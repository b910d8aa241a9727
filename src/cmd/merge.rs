//! `runner merge OUT DIR...`: the shards of one experiment, combined into one results folder
//! whose runs.csv and tasks.csv hold the rows a single-machine run would, in its order; every
//! node's environment is kept, and the summary is rebuilt.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use sha2::{Digest, Sha256};

use crate::envinfo::{timestamp, Env, MergedShard};
use crate::error::{Error, Result, Within as _};
use crate::exit::ExitCode;
use crate::experiment::{Experiment, Overrides};
use crate::export::csv::{read_runs, read_tasks, Csv};
use crate::export::Exporter;
use crate::plan::{expand, schedule, slice, Cell, Rep, Shard, Split};
use crate::record::{RunRow, TaskRow};
use crate::results_dir::ResultsDir;
use crate::spec::hex;

/// One shard's folder, read.
struct Part {
    dir: PathBuf,
    shard: Shard,
    split: Split,
    env: Env,
    text: String,
    runs: Vec<RunRow>,
    tasks: Vec<TaskRow>,
}

/// A (cell, repetition) pair: typed for the runs, by the cell's id for the task rows.
type Key = (Cell, Rep);

fn task_key(t: &TaskRow) -> (String, bool, usize) {
    (t.cell.clone(), t.warmup, t.rep)
}

pub fn run(out: &Path, dirs: &[PathBuf]) -> Result<ExitCode> {
    let parts = dirs.iter().map(|d| read(d)).collect::<Result<Vec<Part>>>()?;
    let groups = by_partition(&parts)?;
    let first = &parts[0];
    // What a single-machine run would have run, and which shard runs what of it.
    let file = first
        .env
        .experiment_file
        .clone()
        .unwrap_or_else(|| ResultsDir::EXPERIMENT.into());
    let exp = Experiment::from_text(&file, &first.text, &Overrides { allow_large: true })
        .within(|| format!("reading the experiment of {}", first.dir.display()))?;
    let all = schedule(&exp.repetition_plan(), &expand(&exp.axes, &exp.exclude));
    // Repetitions until decided: the rounds after `min` that each shard chose for its cells.
    let more = exp.until.map(|u| exp.repetitions.get()..u.max);
    for (_, group) in &groups {
        complete(group, &all, more.clone(), &super::cost(&exp), &file)?;
    }
    create_empty(out)?;
    std::fs::write(ResultsDir::at(out).experiment(), &first.text)
        .with_context(|| format!("writing {}", out.display()))?;
    let rows = write_rows(out, &groups, &all)?;
    write_env(out, &groups, &file, &exp)?;
    let mut kinds: Vec<String> = rows.iter().filter_map(RunRow::kind).collect();
    kinds.sort();
    kinds.dedup();
    if kinds.len() > 1 {
        eprintln!(
            "runner: merge: the rows ran on {} kinds of machine ({}); each kind answers from its own rows, \
             side by side in summary.md, and no verdict pairs cells of two kinds",
            kinds.len(),
            kinds.join("; ")
        );
    }
    super::report::write(out, &exp.name, &rows);
    println!(
        "merged {} shard(s), {} repetitions, into {}",
        parts.len(),
        rows.len(),
        out.display()
    );
    Ok(ExitCode::Ok)
}

/// The shards by the partition they ran in (env.json's), each partition one whole run of the
/// matrix, checked by [`one_run`]; in the order the folders were given.
fn by_partition(parts: &[Part]) -> Result<Vec<(Option<&str>, Vec<&Part>)>> {
    let mut groups: Vec<(Option<&str>, Vec<&Part>)> = Vec::new();
    for p in parts {
        if sha(p) != sha(&parts[0]) {
            return Err(Error::usage(format!(
                "{} and {} ran different experiments (their experiment.toml differ); merge only shards of one run",
                parts[0].dir.display(),
                p.dir.display()
            )));
        }
        let partition = p.env.partition.as_deref();
        match groups.iter_mut().find(|(q, _)| *q == partition) {
            Some((_, g)) => g.push(p),
            None => groups.push((partition, vec![p])),
        }
    }
    let several = groups.len() > 1;
    for (partition, group) in &groups {
        one_run(group).map_err(|e| match (several, partition) {
            (true, Some(name)) => e.within(format!("partition {name}")),
            (true, None) => e.within("the shards run outside Slurm"),
            _ => e,
        })?;
    }
    Ok(groups)
}

fn sha(p: &Part) -> String {
    hex(&Sha256::digest(p.text.as_bytes()))
}

/// One shard count and split, every shard exactly once; the shards by index.
fn one_run<'a>(parts: &[&'a Part]) -> Result<BTreeMap<usize, &'a Part>> {
    let first = parts[0];
    for p in &parts[1..] {
        if (p.shard.count, p.split) != (first.shard.count, first.split) {
            return Err(Error::usage(format!(
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
    for p in parts.iter().copied() {
        if let Some(q) = by_index.insert(p.shard.index, p) {
            return Err(Error::usage(format!(
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
        return Err(Error::usage(format!(
            "missing shard(s) {} of {count}: no folder given ran them; run each with `runner FILE --shard I/{count}` and merge again",
            missing.join(", ")
        )));
    }

    Ok(by_index)
}

/// Every shard ran exactly the pairs of the plan it was given, each once, and all of them.
/// A run until decided adds rounds `more` of the shard's own cells (`--split cells`: each
/// cell's rounds are on one shard).
fn complete(
    parts: &[&Part],
    all: &[Key],
    more: Option<std::ops::Range<usize>>,
    cost: &dyn Fn(&Cell) -> f64,
    file: &Path,
) -> Result<()> {
    let mut incomplete = Vec::new();
    for p in parts {
        let want: Vec<Key> = slice(all, p.shard, p.split, cost);
        let wanted: HashSet<&Key> = want.iter().collect();
        let cells: HashSet<Cell> = want.iter().map(|(c, _)| *c).collect();
        let added = |r: &RunRow| {
            more.as_ref()
                .is_some_and(|m| !r.warmup && m.contains(&r.rep) && p.split == Split::Cells && cells.contains(&r.cell))
        };
        let have: HashMap<Key, ()> = p.runs.iter().map(|r| ((r.cell, r.repetition()), ())).collect();
        if let Some(r) = p
            .runs
            .iter()
            .find(|r| !wanted.contains(&(r.cell, r.repetition())) && !added(r))
        {
            return Err(Error::usage(format!(
                "{}: holds {} repetition {}, which shard {} does not run; was it run with another runner version?",
                p.dir.display(),
                r.cell.id(),
                r.rep,
                p.shard
            )));
        }
        if have.len() != p.runs.len() {
            return Err(Error::usage(format!(
                "{}: runs.csv holds a repetition twice",
                p.dir.display()
            )));
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
        return Err(Error::usage(format!(
            "incomplete shard(s); finish them, then merge again:\n  {}",
            incomplete.join("\n  ")
        )));
    }

    Ok(())
}

/// The rows, partition after partition, each in the single-machine order, into the merged
/// folder's CSVs.
fn write_rows(out: &Path, groups: &[(Option<&str>, Vec<&Part>)], all: &[Key]) -> Result<Vec<RunRow>> {
    let mut csv = Csv::open(out).with_context(|| format!("writing {}", out.display()))?;
    let mut rows = Vec::with_capacity(all.len() * groups.len());
    for (_, parts) in groups {
        let mut runs: HashMap<Key, &RunRow> = HashMap::new();
        let mut tasks: HashMap<(String, bool, usize), Vec<&TaskRow>> = HashMap::new();
        for p in parts {
            runs.extend(p.runs.iter().map(|r| ((r.cell, r.repetition()), r)));
            for t in &p.tasks {
                tasks.entry(task_key(t)).or_default().push(t);
            }
        }
        // The planned pairs in their order, then the rounds a run until decided added, by
        // round and cell.
        let planned: HashSet<&Key> = all.iter().collect();
        let mut added: Vec<Key> = runs.keys().filter(|k| !planned.contains(k)).copied().collect();
        added.sort_by_key(|(c, r)| (r.index, *c));
        for (c, r) in all.iter().chain(&added) {
            let run = runs[&(*c, *r)];
            let ts: Vec<TaskRow> = tasks
                .get(&(c.id(), r.warmup, r.index))
                .map_or(Vec::new(), |v| v.iter().map(|t| (*t).clone()).collect());
            csv.repetition(run, &ts)
                .with_context(|| format!("writing {}", out.display()))?;
            rows.push(run.clone());
        }
    }
    Ok(rows)
}

/// Every node's environment (`env-shard-I.json`, `env-shard-PARTITION-I.json` for several
/// partitions), and env.json: which shard ran where.
fn write_env(out: &Path, groups: &[(Option<&str>, Vec<&Part>)], file: &Path, exp: &Experiment) -> Result<()> {
    let first = groups[0].1[0];
    let mut shards = Vec::new();
    for (partition, parts) in groups {
        let mut parts = parts.clone();
        parts.sort_by_key(|p| p.shard.index);
        for p in parts {
            let name = match (groups.len() > 1, partition) {
                (true, Some(name)) => format!("{name}-{}", p.shard.index),
                _ => p.shard.index.to_string(),
            };
            std::fs::write(
                ResultsDir::at(out).env_of_shard(&name),
                serde_json::to_string_pretty(&p.env).unwrap_or_default(),
            )?;
            shards.push(MergedShard {
                shard: p.shard.to_string(),
                folder: p.dir.clone(),
                node: p.env.node.clone(),
                hardware: p.env.hardware.clone(),
                partition: p.env.partition.clone(),
                cpu_model: p.env.cpu_model.clone(),
                cores: p.env.cores,
                memory_total_bytes: p.env.memory_total_bytes,
                start_utc: p.env.start_utc.clone(),
                end_utc: p.env.end_utc.clone(),
            });
        }
    }
    let env = Env {
        merged: true,
        merged_utc: Some(timestamp(std::time::SystemTime::now())),
        runner_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: env!("RUNNER_GIT_COMMIT").to_string(),
        command_line: std::env::args().collect(),
        experiment_file: Some(file.to_path_buf()),
        experiment_sha256: sha(first),
        experiment_text: first.text.clone(),
        looks: Some(crate::session::until::bound(exp).looks.rounds().to_vec()),
        split: Some(first.split),
        shards,
        ..Env::asked(exp)
    };
    env.write(&ResultsDir::at(out).env())?;
    Ok(())
}

/// Reads one shard's folder: its experiment, its shard (env.json) and its rows.
fn read(dir: &Path) -> Result<Part> {
    if !dir.is_dir() {
        return Err(Error::usage(format!(
            "{}: no such results folder (did this shard start? see its log)",
            dir.display()
        )));
    }
    let text = std::fs::read_to_string(ResultsDir::at(dir).experiment()).map_err(|e| {
        Error::usage(format!(
            "{}: not a results folder: {} ({e})",
            dir.display(),
            ResultsDir::at(dir).experiment().display()
        ))
    })?;
    let env = Env::read(dir).ok_or_else(|| Error::usage(format!("{}: no readable env.json", dir.display())))?;
    let (shard, split) = crate::session::resume::shard_of(dir, None)?.ok_or_else(|| {
        Error::usage(format!(
            "{}: not a shard (it was run without --shard); merge combines the folders of `runner FILE --shard I/N`",
            dir.display()
        ))
    })?;
    let runs = if ResultsDir::at(dir).runs().exists() {
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
        return Err(Error::usage(format!(
            "{}: the merged folder must be new or empty",
            dir.display()
        )));
    }
    Ok(std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?)
}
