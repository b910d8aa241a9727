//! `runner completions SHELL`: clap_complete's script for the shell, and for bash a wrapper
//! that completes experiment files: clap's bash script completes only subcommands, options and
//! option values, so a positional FILE got nothing but readline's fallback.

use std::io::Write;

use crate::error::Result;
use clap_complete::Shell;

use crate::exit::ExitCode;

/// Bash: after clap's completion, a word that is not an option gets the `.toml` files and the
/// folders it starts (`runner experiments/mi` → `experiments/mixed.toml`), unless clap already
/// completed an option's value.
const BASH_FILES: &str = r#"
_runner_files() {
    _runner "$@"
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    [[ $cur == -* ]] && return 0
    [[ $prev == -* && ${#COMPREPLY[@]} -gt 0 ]] && return 0
    local IFS=$'\n'
    COMPREPLY+=( $(compgen -d -- "$cur") $(compgen -f -X '!*.toml' -- "$cur") )
}
complete -F _runner_files -o filenames -o bashdefault runner
"#;

pub fn run(shell: Shell) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut crate::cli::command(), "runner", &mut out);
    if shell == Shell::Bash {
        out.write_all(BASH_FILES.as_bytes())?;
    }
    Ok(ExitCode::Ok)
}
