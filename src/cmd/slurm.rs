//! `runner slurm FILE --shards N [--partition P]... [--submit]`: a Slurm job array with one
//! array task per shard (a whole node each, by default), one array per partition when several
//! are named (each runs the whole matrix: a kind of machine; at once, or in turn with
//! `--in-turn`), and a merge job that runs after every shard has ended, ok or not, and says
//! which shard is missing or incomplete.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;

use crate::cli::SlurmArgs;
use crate::envinfo::timestamp;
use crate::error::{Error, Result};
use crate::exit::ExitCode;
use crate::plan::Split;

/// What the two job scripts need.
#[derive(Debug, Clone)]
pub struct SlurmJob {
    pub name: String,
    /// The experiment file, absolute: its relative paths resolve from its own folder.
    pub file: PathBuf,
    pub runner: PathBuf,
    /// Holds the scripts, `logs/`, `shard-I-of-N/` and `merged/`.
    pub dir: PathBuf,
    pub shards: usize,
    pub split: Split,
    /// Each runs the whole matrix as its own array; none: the cluster's default partition.
    pub partitions: Vec<String>,
    pub time: Option<String>,
    pub exclusive: bool,
    pub allow_large: bool,
}

impl SlurmJob {
    /// The arrays: one per partition, or one on the cluster's default.
    pub fn arrays(&self) -> Vec<Option<&str>> {
        match self.partitions.len() {
            0 => vec![None],
            _ => self.partitions.iter().map(|p| Some(p.as_str())).collect(),
        }
    }

    /// Several partitions: each array's files carry its name (`shards-a.sbatch`, `a/shard-…`).
    fn named<'p>(&self, partition: Option<&'p str>) -> Option<&'p str> {
        partition.filter(|_| self.partitions.len() > 1)
    }

    /// An array's script, in the job folder.
    pub fn array_file(&self, partition: Option<&str>) -> PathBuf {
        match self.named(partition) {
            Some(p) => self.dir.join(format!("shards-{p}.sbatch")),
            None => self.dir.join("shards.sbatch"),
        }
    }

    /// A shard's folder, quoted for bash (`i` may be `$SLURM_ARRAY_TASK_ID`).
    fn shard_dir(&self, partition: Option<&str>, i: &str) -> String {
        let sub = self.named(partition).map_or(String::new(), |p| format!("{p}/"));
        format!("{}/{sub}shard-{i}-of-{}", quote(&self.dir), self.shards)
    }

    fn header(&self, s: &mut String, name: &str, output: &str, partition: Option<&str>) {
        let _ = writeln!(s, "#!/bin/bash");
        let _ = writeln!(s, "#SBATCH --job-name={name}");
        let _ = writeln!(s, "#SBATCH --output={}/logs/{output}", self.dir.display());
        let _ = writeln!(s, "#SBATCH --nodes=1");
        let _ = writeln!(s, "#SBATCH --ntasks=1");
        if let Some(p) = partition {
            let _ = writeln!(s, "#SBATCH --partition={p}");
        }
    }

    /// An array: shard I runs in `shard-I-of-N/` (under the partition's folder when there are
    /// several), or continues it if it exists.
    pub fn array_script(&self, partition: Option<&str>) -> String {
        let mut s = String::new();
        let (name, log) = match self.named(partition) {
            Some(p) => (format!("runner-{}-{p}", self.name), format!("{p}-shard-%a.out")),
            None => (format!("runner-{}", self.name), "shard-%a.out".into()),
        };
        self.header(&mut s, &name, &log, partition);
        let _ = writeln!(s, "#SBATCH --array=1-{}", self.shards);
        if self.exclusive {
            // A benchmark must not share cores: the whole node is the shard's.
            let _ = writeln!(s, "#SBATCH --exclusive");
        }
        if let Some(t) = &self.time {
            let _ = writeln!(s, "#SBATCH --time={t}");
        }
        let large = if self.allow_large { " --allow-large" } else { "" };
        let _ = write!(
            s,
            "# Shard $SLURM_ARRAY_TASK_ID of {n} of {file}. Resubmitting one index (sbatch --array=I this file)\n\
             # continues that shard's folder with the repetitions it lacks.\n\
             set -euo pipefail\n\
             dir={dir}\n\
             if [ -e \"$dir/experiment.toml\" ]; then\n  \
               exec {runner} run {file} --quiet{large} --resume \"$dir\"\n\
             else\n  \
               exec {runner} run {file} --quiet{large} --shard \"$SLURM_ARRAY_TASK_ID/{n}\" --split {split} --into \"$dir\"\n\
             fi\n",
            n = self.shards,
            file = quote(&self.file),
            runner = quote(&self.runner),
            dir = self.shard_dir(partition, "$SLURM_ARRAY_TASK_ID"),
            split = self.split,
        );
        s
    }

    /// The merge: every array's shard folders into `merged/`; refuses missing or incomplete
    /// shards. It runs in the first partition.
    pub fn merge_script(&self) -> String {
        let mut s = String::new();
        let first = self.arrays()[0];
        self.header(&mut s, &format!("runner-{}-merge", self.name), "merge.out", first);
        let dirs: Vec<String> = self
            .arrays()
            .into_iter()
            .flat_map(|p| (1..=self.shards).map(move |i| self.shard_dir(p, &i.to_string())))
            .collect();
        let _ = write!(
            s,
            "# Runs after every shard has ended, ok or not; names any shard that is missing or incomplete.\n\
             set -euo pipefail\n\
             exec {} merge {}/merged {}\n",
            quote(&self.runner),
            quote(&self.dir),
            dirs.join(" ")
        );
        s
    }
}

/// The command line's partitions, checked, else the file's `[slurm] partitions`.
fn partitions(names: &[String], file: &[String]) -> Result<Vec<String>> {
    if names.is_empty() {
        return Ok(file.to_vec());
    }
    crate::experiment::partitions(names).map_err(|e| Error::usage(format!("--partition {e}")))
}

/// Single-quotes a path for bash.
fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

pub fn run(args: SlurmArgs) -> Result<ExitCode> {
    let (exp, _cells) = super::load_checked(&args.check.file, args.check.allow_large)?;
    crate::session::until_splits_by_cells(&exp, args.split)?;
    let named = partitions(&args.partitions, &exp.partitions)?;
    let root = args.out.clone().unwrap_or_else(|| exp.output_dir.clone());
    let root = std::path::absolute(&root).with_context(|| format!("{}", root.display()))?;
    let dir = root
        .join(&exp.name)
        .join(format!("{}-slurm", timestamp(SystemTime::now())));
    if dir.to_string_lossy().chars().any(char::is_whitespace) {
        return Err(Error::usage(format!(
            "{}: #SBATCH lines cannot hold a path with spaces; choose another folder with --out",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir.join("logs")).with_context(|| format!("cannot create {}", dir.display()))?;
    let job = SlurmJob {
        name: exp.name.clone(),
        file: exp.file.clone(),
        runner: std::env::current_exe().context("cannot find the runner binary")?,
        dir: dir.clone(),
        shards: args.shards.get(),
        split: args.split,
        partitions: named,
        time: args.time.clone(),
        exclusive: !args.share_nodes,
        allow_large: args.check.allow_large,
    };
    let arrays: Vec<(Option<&str>, PathBuf)> = job.arrays().into_iter().map(|p| (p, job.array_file(p))).collect();
    let merge = dir.join("merge.sbatch");
    for (p, file) in &arrays {
        std::fs::write(file, job.array_script(*p))?;
    }
    std::fs::write(&merge, job.merge_script())?;
    println!("job folder: {}", dir.display());
    if args.in_turn && arrays.len() < 2 {
        eprintln!("runner: warning: --in-turn orders several partitions' arrays; with one array it changes nothing");
    }
    if !args.submit {
        print_how_to_submit(&arrays, &merge, args.in_turn);
        return Ok(ExitCode::Ok);
    }
    slurm_config()?;
    submit(&job, &arrays, &merge, args.in_turn)?;
    Ok(ExitCode::Ok)
}

/// An array's `--dependency`: with `--in-turn`, on the array before it (none for the first).
fn after_previous(in_turn: bool, previous: Option<&String>) -> Option<String> {
    previous
        .filter(|_| in_turn)
        .map(|id| format!("--dependency=afterany:{id}"))
}

/// Without `--submit`: the sbatch lines that submit the arrays and the merge after them.
fn print_how_to_submit(arrays: &[(Option<&str>, PathBuf)], merge: &Path, in_turn: bool) {
    println!("submit with:");
    let mut ids: Vec<String> = Vec::new();
    for (i, (_, file)) in arrays.iter().enumerate() {
        let after = after_previous(in_turn, ids.last()).map_or(String::new(), |d| d + " ");
        println!("  id{i}=$(sbatch --parsable {after}{})", file.display());
        ids.push(format!("${{id{i}%%;*}}"));
    }
    println!(
        "  sbatch --dependency=afterany:{} --kill-on-invalid-dep=yes {}",
        ids.join(":"),
        merge.display()
    );
}

/// Submits the arrays (in turn, with `in_turn`) and the merge after all of them, and says how
/// to watch them, where the results go and how to rerun a failed shard.
fn submit(job: &SlurmJob, arrays: &[(Option<&str>, PathBuf)], merge: &Path, in_turn: bool) -> Result<()> {
    let mut ids: Vec<String> = Vec::new();
    for (_, file) in arrays {
        let mut args: Vec<std::ffi::OsString> = after_previous(in_turn, ids.last())
            .into_iter()
            .map(Into::into)
            .collect();
        args.push(file.as_os_str().to_owned());
        ids.push(sbatch(&args)?);
    }
    let merge_id = sbatch(&[
        format!("--dependency=afterany:{}", ids.join(":")).into(),
        "--kill-on-invalid-dep=yes".into(),
        merge.as_os_str().to_owned(),
    ])?;
    for (i, ((p, _), id)) in arrays.iter().zip(&ids).enumerate() {
        let on = p.map_or(String::new(), |p| format!(" on partition {p}"));
        let plural = if job.shards == 1 { "" } else { "s" };
        let after = match (in_turn, i.checked_sub(1)) {
            (true, Some(before)) => format!(", after job {} has ended", ids[before]),
            _ => String::new(),
        };
        println!("submitted: array job {id} ({} shard{plural}){on}{after}", job.shards);
    }
    println!("submitted: merge job {merge_id}");
    println!("watch:     squeue -t all -j {},{merge_id}", ids.join(","));
    println!("logs:      {}", job.dir.join("logs").display());
    println!(
        "results:   {} (when job {merge_id} has completed)",
        job.dir.join("merged").display()
    );
    println!(
        "a failed shard I: sbatch --array=I {} (continues its folder), then sbatch {}",
        arrays
            .iter()
            .map(|(_, f)| f.display().to_string())
            .collect::<Vec<_>>()
            .join(" or "),
        merge.display()
    );
    Ok(())
}

/// Refuses to run a Slurm client without a configuration: it would look the controller up
/// through DNS.
fn slurm_config() -> Result<PathBuf> {
    let conf = std::env::var_os("SLURM_CONF")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/slurm/slurm.conf"));
    if !conf.is_file() {
        return Err(Error::usage(format!(
            "no Slurm configuration at {} (set SLURM_CONF to your cluster's slurm.conf); without one a Slurm \
             client looks the controller up through DNS, so nothing was submitted. The scripts are written: \
             submit them where Slurm is configured",
            conf.display()
        )));
    }
    Ok(conf)
}

/// `sbatch --parsable ARGS`: the job id; bounded in time.
fn sbatch(args: &[std::ffi::OsString]) -> anyhow::Result<String> {
    let mut child = Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run sbatch (is Slurm's client installed?)")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("sbatch did not answer within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        anyhow::bail!(
            "sbatch failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    // `--parsable` prints `id` or `id;cluster`.
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        anyhow::bail!("sbatch printed no job id: {stdout:?}");
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_snapshot() {
        let job = SlurmJob {
            name: "mixed".into(),
            file: "/work/experiments/mixed.toml".into(),
            runner: "/work/target/release/runner".into(),
            dir: "/work/results/mixed/20261124T000000Z-slurm".into(),
            shards: 2,
            split: Split::Cells,
            partitions: vec!["batch".into()],
            time: Some("1:00:00".into()),
            exclusive: true,
            allow_large: false,
        };
        insta::assert_snapshot!(format!(
            "{}\n----\n{}",
            job.array_script(Some("batch")),
            job.merge_script()
        ));
    }

    #[test]
    fn several_partitions_run_one_array_each_and_one_merge_of_all() {
        let job = SlurmJob {
            name: "mixed".into(),
            file: "/w/mixed.toml".into(),
            runner: "/w/runner".into(),
            dir: "/w/job".into(),
            shards: 2,
            split: Split::Cells,
            partitions: vec!["a".into(), "b".into()],
            time: None,
            exclusive: true,
            allow_large: false,
        };
        assert_eq!(job.arrays(), [Some("a"), Some("b")]);
        assert_eq!(job.array_file(Some("b")), PathBuf::from("/w/job/shards-b.sbatch"));
        let b = job.array_script(Some("b"));
        assert!(b.contains("#SBATCH --partition=b\n") && b.contains("#SBATCH --output=/w/job/logs/b-shard-%a.out"));
        assert!(b.contains("dir='/w/job'/b/shard-$SLURM_ARRAY_TASK_ID-of-2\n"), "{b}");
        let m = job.merge_script();
        assert!(
            m.contains("merge '/w/job'/merged '/w/job'/a/shard-1-of-2 '/w/job'/a/shard-2-of-2 '/w/job'/b/shard-1-of-2 '/w/job'/b/shard-2-of-2\n"),
            "{m}"
        );
        // One partition keeps the one-array layout.
        let one = SlurmJob {
            partitions: vec!["a".into()],
            ..job
        };
        assert_eq!(one.array_file(Some("a")), PathBuf::from("/w/job/shards.sbatch"));
        assert!(one
            .array_script(Some("a"))
            .contains("dir='/w/job'/shard-$SLURM_ARRAY_TASK_ID-of-2\n"));
    }
}
