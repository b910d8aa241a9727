//! The `runner` binary: parses the command line and maps outcomes to exit codes.

use clap::Parser;

fn main() {
    let cli = runner::cli::Cli::parse();
    let code = match runner::app::main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("runner: error: {e:#}");
            runner::app::exit_code_of(&e)
        }
    };
    std::process::exit(code);
}
