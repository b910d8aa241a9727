//! `runner validate FILE`: checks an experiment file; runs nothing.

use crate::cli::CheckArgs;
use crate::error::Result;
use crate::exit::ExitCode;

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let (exp, cells) = super::load_checked(&args.file, args.allow_large)?;
    println!(
        "{}: ok: {} cells x ({} warm-up + {} measured) repetitions",
        exp.file.display(),
        cells.len(),
        exp.warmup,
        exp.repetitions
    );
    Ok(ExitCode::Ok)
}
