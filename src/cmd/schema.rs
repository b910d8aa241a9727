//! `runner schema`: prints the JSON Schema of experiment files (see `experiment::schema`).

use crate::error::Result;
use crate::exit::ExitCode;

pub fn run() -> Result<ExitCode> {
    println!("{}", serde_json::to_string_pretty(&crate::experiment::schema())?);
    Ok(ExitCode::Ok)
}
