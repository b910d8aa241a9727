//! The command line.

// Its doc comments are clap's help text, shown as written: `<experiment>` there is a
// placeholder, not HTML.
#![allow(rustdoc::invalid_html_tags)]

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueHint};

use crate::exit::ExitCode;
use crate::plan::{Shard, Split};

/// The exit codes, for `--help`.
pub fn exit_codes_help() -> String {
    let mut s = String::from("Exit codes:\n");
    for c in ExitCode::ALL {
        s += &format!("  {:>3}  {}\n", c.code(), c.meaning());
    }
    s
}

/// The command line as `runner` parses it and as its completions and manual page describe it.
pub fn command() -> clap::Command {
    Cli::command().after_help(exit_codes_help())
}

/// Runs declarative experiments: is a thread pool or a process pool faster for this workload,
/// by how much, and what does it cost in CPU and memory?
#[derive(Debug, Parser)]
#[command(name = "runner", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an experiment (the default when a file is given).
    Run(RunArgs),
    /// List the cells an experiment would run (and, with --shards, which shard runs each), and
    /// run nothing.
    Plan(PlanArgs),
    /// Check an experiment file, and run nothing.
    Validate(CheckArgs),
    /// Write summary.md and SVG charts for a results folder.
    Report {
        /// A results folder (results/<experiment>/<timestamp>).
        dir: PathBuf,
    },
    /// Compare median throughput per cell between two results folders.
    Compare {
        old: PathBuf,
        new: PathBuf,
        /// Exit with code 4 when a cell is slower by more than this many percent (interval included).
        #[arg(long, default_value_t = 5.0)]
        threshold: f64,
    },
    /// Write a Slurm job array that runs the experiment in shards, and a merge job after it;
    /// with --submit, submit both.
    Slurm(SlurmArgs),
    /// Write a commented experiment file that compares the pools on your own work (a program,
    /// a Python function or a C-ABI library), paired until decided; it validates and runs as written.
    Init(InitArgs),
    /// Print the JSON Schema (draft 2020-12) of experiment files, for editors that check TOML as
    /// you type (taplo, Even Better TOML: a `#:schema` line at the top of the file).
    Schema,
    /// Build classify's default model (ResNet-18's architecture and cost, seeded random
    /// weights, SHA-256 checked) where no clone's `scripts/setup` did, and print its path.
    Model {
        /// Where to write it (default: ~/.local/share/runner/models/resnet18.onnx, where
        /// classify looks when the experiment names no model).
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
        /// The Python that runs the build script (it needs numpy and onnx: the `[ml]` extra);
        /// default: the one runner's Python pools use.
        #[arg(long, value_name = "PYTHON")]
        python: Option<PathBuf>,
    },
    /// Print a completion script for a shell: `source <(runner completions bash)`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), the same text as --help: `runner man | man -l -`; with a
    /// subcommand, its page (`runner man init`).
    Man {
        /// The subcommand whose page to print.
        subcommand: Option<String>,
    },
    /// Internal: serve a run's repetitions under a preloaded allocator (started by the run
    /// itself, once per allocator in use; see `isolate::zygote`).
    #[command(hide = true)]
    Zygote(ZygoteArgs),
    /// Combine the results folders of an experiment's shards into one results folder.
    Merge {
        /// The merged results folder (created; must not exist yet).
        out: PathBuf,
        /// The shards' results folders, one per shard.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
}

/// What the orchestrator tells a zygote: the run it serves, and the experiment as it was parsed.
#[derive(Debug, Args, Clone)]
pub struct ZygoteArgs {
    /// The run's results folder.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// The experiment file's SHA-256 when the run started: a changed file is refused.
    #[arg(long, value_name = "HEX")]
    pub sha256: String,
    /// The allocator it was started with preloaded (names its folder of prepared files).
    #[arg(long, value_name = "NAME")]
    pub allocator: String,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// The experiment file (TOML).
    #[arg(value_hint = ValueHint::FilePath)]
    pub file: Option<PathBuf>,
    /// ONNX Runtime shared library to use (overrides the experiment's `classify.ort_library`).
    #[arg(long, value_name = "PATH")]
    pub ort_lib: Option<PathBuf>,
    /// Write results under this folder instead of the experiment's `output.dir`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Lift the guards against absurd matrices (cells, workers).
    #[arg(long)]
    pub allow_large: bool,
    /// Continue the run in this results folder: run only the (cell, repetition) pairs its
    /// runs.csv lacks, with the same seeds, appending rows.
    #[arg(long, value_name = "RESULTS_DIR", conflicts_with = "out")]
    pub resume: Option<PathBuf>,
    /// With --resume: resume even though the experiment file changed.
    #[arg(long, requires = "resume")]
    pub force: bool,
    /// Run only shard I of N (1 <= I <= N): a disjoint, deterministic slice of the (cell,
    /// repetition) pairs, with the seeds and draws a whole run would use. `runner merge`
    /// combines the shards' folders.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// With --shard: keep each cell's repetitions on one shard (cells), or deal repetitions out.
    #[arg(long, value_enum, default_value_t, requires = "shard")]
    pub split: Split,
    /// Write the results into exactly this folder (new, or empty) instead of
    /// <out>/<experiment>/<timestamp>.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "resume"])]
    pub into: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct PlanArgs {
    #[command(flatten)]
    pub check: CheckArgs,
    /// Also show which of this many shards runs each cell, and each shard's estimated cost.
    #[arg(long, value_name = "N")]
    pub shards: Option<NonZeroUsize>,
    /// With --shards: keep each cell's repetitions on one shard (cells), or deal repetitions out.
    #[arg(long, value_enum, default_value_t, requires = "shards")]
    pub split: Split,
}

#[derive(Debug, Args, Clone)]
pub struct SlurmArgs {
    #[command(flatten)]
    pub check: CheckArgs,
    /// Shards: one array task each.
    #[arg(long, value_name = "N")]
    pub shards: NonZeroUsize,
    /// Keep each cell's repetitions on one shard (cells), or deal repetitions out.
    #[arg(long, value_enum, default_value_t)]
    pub split: Split,
    /// A Slurm partition (sbatch --partition). Given more than once, each partition runs the
    /// whole matrix as its own array, and the merged answer sets the kinds of machine side by
    /// side. Default: the file's `[slurm] partitions`, else the cluster's default partition.
    #[arg(long = "partition", value_name = "NAME")]
    pub partitions: Vec<String>,
    /// Time limit of each array task (sbatch --time), e.g. 2:00:00.
    #[arg(long)]
    pub time: Option<String>,
    /// Let array tasks share nodes with other jobs (no --exclusive): their numbers then include
    /// other jobs' load.
    #[arg(long)]
    pub share_nodes: bool,
    /// Run the partitions' arrays one after another, each when the one before has ended, for
    /// partitions whose nodes overlap or share machines: run at once, each would be measured
    /// under the other's load.
    #[arg(long)]
    pub in_turn: bool,
    /// The job folder (scripts, logs, shards, merged results) is created under this folder
    /// instead of the experiment's `output.dir`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Submit the array and the merge job (sbatch), print their ids and how to watch them.
    #[arg(long)]
    pub submit: bool,
}

#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// The experiment file (TOML).
    #[arg(value_hint = ValueHint::FilePath)]
    pub file: PathBuf,
    /// Lift the guards against absurd matrices (cells, workers).
    #[arg(long)]
    pub allow_large: bool,
}

/// What `runner init` writes an experiment for: one kind of work, and what it draws.
#[derive(Debug, Args, Clone)]
#[command(group(clap::ArgGroup::new("work").required(true).args(["command", "python", "native"])))]
#[command(group(clap::ArgGroup::new("draws").args(["images", "inputs"])))]
pub struct InitArgs {
    /// A program to run per task: `{input}` (the task's image), `{index}`, `{seed}` and `{out}`
    /// are filled in; run by /bin/sh, e.g. "gzip -c {input} > /dev/null".
    #[arg(long, value_name = "COMMAND")]
    pub command: Option<String>,
    /// A Python function per task, `module:function` (the module beside the file or importable).
    #[arg(long, value_name = "MODULE:FUNCTION")]
    pub python: Option<String>,
    /// A C-ABI library per task (include/runner_plugin.h's `runner_task`).
    #[arg(long, value_name = "LIBRARY", value_hint = ValueHint::FilePath)]
    pub native: Option<PathBuf>,
    /// Tasks draw images from this folder (one per task).
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub images: Option<PathBuf>,
    /// Tasks per set, with no images: each gets its index and seed (default 64).
    #[arg(long, value_name = "N")]
    pub inputs: Option<NonZeroUsize>,
    /// Where to write the file (default: <work>.toml here); an existing file is not overwritten.
    #[arg(long, short, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub output: Option<PathBuf>,
}
