//! The `runner` binary: parses the command line, runs the command, exits with its code.

use clap::FromArgMatches;
use runner::exit::ExitCode;

fn main() {
    let matches = runner::cli::command().get_matches();
    let cli = runner::cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let code = runner::cmd::main(cli).unwrap_or_else(|e| {
        eprintln!("runner: error: {e:#}");
        ExitCode::of_error(&e)
    });
    std::process::exit(code.code());
}
