//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::exit::ExitCode;

/// The exit codes, for `--help`.
pub fn exit_codes_help() -> String {
    let mut s = String::from("Exit codes:\n");
    for c in ExitCode::ALL {
        s += &format!("  {:>3}  {}\n", c.code(), c.meaning());
    }
    s
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
    /// List the cells an experiment would run, and run nothing.
    Plan(CheckArgs),
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
}

#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// The experiment file (TOML).
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
}

#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// The experiment file (TOML).
    pub file: PathBuf,
    /// Lift the guards against absurd matrices (cells, workers).
    #[arg(long)]
    pub allow_large: bool,
}
