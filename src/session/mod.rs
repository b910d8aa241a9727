//! A run's session: its results folder (new, `--into`, or resumed), locked before anything in
//! it is read, what it already holds, its shard, and its env.json; [`resume`] checks what a
//! folder holds, and [`until`] runs the rounds until decided. What `runner` (the command) runs
//! is `cmd::run`'s.

pub mod resume;
pub mod until;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;

use nix::fcntl::{Flock, FlockArg};

use crate::cli::RunArgs;
use crate::envinfo::{timestamp, Env, ShardOf};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::plan::{Shard, Split};
use crate::record::RunRow;
use crate::results_dir::ResultsDir;
use crate::workload::Prepared;

/// Repetitions until decided choose their rounds as the run goes, per cell: a cell's rounds
/// must all be on one shard (`--split cells`), or each shard would add rounds of its own.
pub fn until_splits_by_cells(exp: &Experiment, split: Split) -> Result<()> {
    if exp.until.is_some() && split == Split::Repetitions {
        return Err(Error::usage(format!(
            "{}: repetitions until decided choose each cell's rounds as it runs, so a cell's rounds must stay \
             on one shard: use --split cells (the default), or a fixed `repetitions`",
            exp.file.display()
        )));
    }
    Ok(())
}

/// The results folder of this session, locked, and what it already holds when resuming.
pub struct Session {
    pub dir: PathBuf,
    _lock: Flock<File>,
    pub previous: Vec<RunRow>,
    pub shard: Option<(Shard, Split)>,
}

impl Session {
    pub fn open(exp: &Experiment, args: &RunArgs, started: SystemTime) -> Result<Session> {
        if args.shard.is_some() {
            until_splits_by_cells(exp, args.split)?;
        }
        let dir = match (&args.resume, &args.into) {
            (Some(dir), _) if !dir.is_dir() => {
                return Err(Error::usage(format!(
                    "{}: no such results folder to resume",
                    dir.display()
                )))
            }
            (Some(dir), _) => dir.clone(),
            (None, Some(into)) => fresh(into)?,
            (None, None) => {
                let out_root = args.out.clone().unwrap_or_else(|| exp.output_dir.clone());
                let mut stamp = timestamp(started);
                if let Some(s) = args.shard {
                    stamp = format!("{stamp}-{}", s.folder());
                }
                unique_dir(&out_root.join(&exp.name), &stamp)
            }
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create the results folder {}", dir.display()))?;
        // Before anything reads or rewrites what the folder holds.
        let lock = lock(&dir)?;
        // Resuming: the same experiment (by hash), the shard it was run as, and only what
        // runs.csv lacks.
        let (previous, shard) = match &args.resume {
            Some(dir) => (
                resume::state(exp, dir, args.force)?,
                resume::shard_of(dir, args.shard.map(|s| (s, args.split)))?,
            ),
            None => (Vec::new(), args.shard.map(|s| (s, args.split))),
        };
        Ok(Session {
            dir,
            _lock: lock,
            previous,
            shard,
        })
    }

    /// Every session keeps its environment: env.json for the first, `env-resume-<time>.json` for
    /// each resume, which must find the binary, ONNX Runtime, model and images unchanged.
    pub fn environment(
        &self,
        exp: &Experiment,
        args: &RunArgs,
        prepared: &Prepared,
        started: SystemTime,
    ) -> Result<EnvFile> {
        let mut env = Env::now(exp, args.quiet, started);
        env.fingerprint = resume::fingerprint(exp, &prepared.found);
        env.facts = prepared.found.clone();
        env.shard = self.shard.map(|(s, split)| ShardOf {
            index: s.index,
            count: s.count,
            split,
        });
        let path = match &args.resume {
            None => ResultsDir::at(&self.dir).env(),
            Some(_) => {
                let changed = resume::changes(&self.dir, &env.fingerprint);
                if !changed.is_empty() && !args.force {
                    return Err(Error::usage(format!(
                        "{} was run with another environment; resuming would mix two measurements. Changed: {}. \
                         Pass --force to resume anyway (recorded).",
                        self.dir.display(),
                        changed.join("; ")
                    )));
                }
                env.resumed = true;
                env.forced = Some(args.force);
                env.changed = Some(changed);
                unique_file(
                    &self.dir,
                    &format!("{}-{}", ResultsDir::ENV_RESUME, timestamp(started)),
                    "json",
                )
            }
        };
        Ok(EnvFile { path, env })
    }
}

/// This session's env.json (or `env-resume-<time>.json`), written at the start and the end.
pub struct EnvFile {
    path: PathBuf,
    pub env: Env,
}

impl EnvFile {
    /// Written at the end; a resumed session's outcome also replaces what the interrupted one
    /// recorded in env.json ([`outcome`]).
    pub fn finish(&self, resumed: bool, dir: &Path) -> Result<()> {
        let end = SystemTime::now();
        self.write(Some(end))?;
        if resumed {
            outcome(dir, &self.env, end)?;
        }
        Ok(())
    }

    /// Writes this session's file, with its end time once it has one.
    pub fn write(&self, end: Option<SystemTime>) -> Result<()> {
        let env = Env {
            end_utc: end.map(timestamp),
            ..self.env.clone()
        };
        Ok(env
            .write(&self.path)
            .with_context(|| format!("cannot write {}", self.path.display()))?)
    }
}

/// The run's outcome, as the last session left it, into the first session's env.json: why
/// the rounds stopped, the looks planned and the end time. (Each session's own file keeps what
/// it saw; env.json says how the run ended.)
pub fn outcome(dir: &Path, last: &Env, end: SystemTime) -> Result<()> {
    let path = ResultsDir::at(dir).env();
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut env: Env = serde_json::from_str(&text).with_context(|| format!("{} is not an env.json", path.display()))?;
    env.stopped = last.stopped;
    env.looks.clone_from(&last.looks);
    env.end_utc = Some(timestamp(end));
    Ok(env
        .write(&path)
        .with_context(|| format!("cannot write {}", path.display()))?)
}

/// Holds the results folder for this run: a second run on it (two resumes at once) would
/// duplicate rows, so it is refused while the lock is held. Released when the process ends;
/// every child closes the descriptor (it holds only what it uses), so none keeps the lock.
fn lock(dir: &Path) -> Result<Flock<File>> {
    // The folder itself, not a file in it: a lock file deleted as stale would let a second
    // runner in; the folder's descriptor cannot be deleted from under the lock.
    let file = File::open(dir).with_context(|| format!("cannot open the results folder {}", dir.display()))?;
    Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, e)| {
        Error::usage(format!(
            "{} is in use by another runner ({e}); wait for it to finish, or use another folder",
            dir.display()
        ))
    })
}

/// `--into DIR`: creates DIR, which must not hold anything yet.
fn fresh(dir: &Path) -> Result<PathBuf> {
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Error::usage(format!(
            "--into {}: the folder is not empty; to continue a run in it, use --resume {}",
            dir.display(),
            dir.display()
        )));
    }
    Ok(dir.to_path_buf())
}

/// `dir/stem.ext`, or `dir/stem-2.ext`, … if that exists already.
fn unique_file(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    let mut path = dir.join(format!("{stem}.{ext}"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{stem}-{n}.{ext}"));
        n += 1;
    }
    path
}

/// `base/stamp`, or `base/stamp-2`, … if that exists already.
fn unique_dir(base: &Path, stamp: &str) -> PathBuf {
    let mut dir = base.join(stamp);
    let mut n = 2;
    while dir.exists() {
        dir = base.join(format!("{stamp}-{n}"));
        n += 1;
    }
    dir
}
