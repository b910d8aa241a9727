//! The commands, one file each: `run` (the default), `plan`, `validate`, `report`, `compare`,
//! `slurm`, `merge`, `init`, `schema`, `model` and `completions`; `man` is clap's, here.

mod compare;
mod completions;
mod init;
mod merge;
mod model;
mod plan;
mod report;
mod run;
mod schema;
mod slurm;
mod validate;

use std::path::Path;

use crate::cli::{Cli, Command};
use crate::error::{Error, Result};
use crate::exit::ExitCode;
use crate::experiment::{Experiment, Overrides};
use crate::plan::{estimated_cost, expand, Cell};

pub use plan::plan_table;

pub fn main(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Some(Command::Run(args)) => run::run(args),
        Some(Command::Plan(args)) => plan::run(args),
        Some(Command::Validate(args)) => validate::run(args),
        Some(Command::Report { dir }) => report::run(&dir),
        Some(Command::Compare { old, new, threshold }) => compare::run(&old, &new, threshold),
        Some(Command::Slurm(args)) => slurm::run(args),
        Some(Command::Merge { out, dirs }) => merge::run(&out, &dirs),
        Some(Command::Init(args)) => init::run(args),
        Some(Command::Zygote(args)) => run::zygote(args),
        Some(Command::Schema) => schema::run(),
        Some(Command::Model { out, python }) => Ok(model::run(out, python)?),
        Some(Command::Completions { shell }) => completions::run(shell),
        Some(Command::Man { subcommand }) => man(subcommand.as_deref()),
        None => run::run(cli.run),
    }
}

/// `runner man [SUBCOMMAND]`: the manual page, rendered from the same command line as --help
/// (a subcommand's named `runner-SUB`, as git's are).
fn man(subcommand: Option<&str>) -> Result<ExitCode> {
    let top = crate::cli::command();
    let page = match subcommand {
        None => top,
        Some(name) => {
            let shown = top.get_subcommands().filter(|c| !c.is_hide_set());
            let names: Vec<String> = shown.map(|c| c.get_name().to_string()).collect();
            let Some(sub) = top.find_subcommand(name).filter(|c| !c.is_hide_set()).cloned() else {
                return Err(Error::usage(format!(
                    "no subcommand {name:?}; one of {}",
                    names.join(", ")
                )));
            };
            let version = top.get_version().unwrap_or_default().to_string();
            sub.name(format!("runner-{name}")).version(version)
        }
    };
    clap_mangen::Man::new(page).render(&mut std::io::stdout())?;
    Ok(ExitCode::Ok)
}

/// The experiment, checked against this machine (what `run` and `validate` do before anything
/// starts), and its cells.
fn load_checked(file: &Path, allow_large: bool) -> Result<(Experiment, Vec<Cell>)> {
    let (mut exp, cells) = load(file, allow_large)?;
    crate::experiment::check_machine(&mut exp)?;
    Ok((exp, cells))
}

/// The experiment and its cells; refuses one whose every cell is excluded.
fn load(file: &Path, allow_large: bool) -> Result<(Experiment, Vec<Cell>)> {
    let exp = Experiment::load(file, &Overrides { allow_large })?;
    let cells = expand(&exp.axes, &exp.exclude);
    if cells.is_empty() {
        return Err(Error::usage(format!(
            "{}: key `exclude`: every cell is excluded; nothing to run",
            exp.file.display()
        )));
    }
    Ok((exp, cells))
}

/// The estimated cost of one repetition of a cell, for balancing shards; the same on every node.
fn cost(exp: &Experiment) -> impl Fn(&Cell) -> f64 + '_ {
    move |c| estimated_cost(c, &exp.images, &|w| w.get().task_ms(&exp.settings))
}
