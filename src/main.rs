//! The `runner` binary: parses the command line, runs the command, exits with its code.

use clap::FromArgMatches;

fn main() {
    let matches = runner::cli::command().get_matches();
    let cli = runner::cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let code = runner::cmd::main(cli).unwrap_or_else(|e| {
        eprintln!("runner: error: {e}");
        e.exit_code()
    });
    std::process::exit(code.code());
}
