//! The exit codes of `runner`, each documented once here; the README's table is checked against
//! [`ExitCode::ALL`] by a test.

/// What a `runner` invocation ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Every task ran.
    Ok,
    /// The run could not start or go on: ONNX Runtime not found, results folder not writable,
    /// I/O error.
    Error,
    /// Bad experiment file or command line (nothing ran).
    BadInput,
    /// The run finished but some tasks or repetitions failed (see `run.log`).
    TasksFailed,
    /// `runner compare`: some cell is slower by more than `--threshold` with its whole interval, missing from NEW, or has no whole repetition there.
    Regression,
    /// Interrupted (Ctrl-C, SIGTERM or SIGHUP); the results so far are kept and resumable.
    Interrupted,
}

impl ExitCode {
    pub const ALL: [ExitCode; 6] = [
        ExitCode::Ok,
        ExitCode::Error,
        ExitCode::BadInput,
        ExitCode::TasksFailed,
        ExitCode::Regression,
        ExitCode::Interrupted,
    ];

    pub fn code(self) -> i32 {
        match self {
            ExitCode::Ok => 0,
            ExitCode::Error => 1,
            ExitCode::BadInput => 2,
            ExitCode::TasksFailed => 3,
            ExitCode::Regression => 4,
            ExitCode::Interrupted => 130,
        }
    }

    /// The README's wording of each code.
    pub fn meaning(self) -> &'static str {
        match self {
            ExitCode::Ok => "every task ran",
            ExitCode::Error => {
                "the run could not start or go on: ONNX Runtime not found, results folder not writable, I/O error"
            }
            ExitCode::BadInput => "bad experiment file or command line (nothing ran)",
            ExitCode::TasksFailed => "the run finished but some tasks or repetitions failed (see `run.log`)",
            ExitCode::Regression => "`runner compare`: some cell is slower by more than `--threshold` with its whole interval, missing from NEW, or has no whole repetition there",
            ExitCode::Interrupted => "interrupted (Ctrl-C, SIGTERM or SIGHUP); the results so far are kept and resumable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_table_lists_every_code_as_documented_here() {
        let readme = include_str!("../README.md");
        let table: Vec<&str> = readme
            .split("## Exit codes")
            .nth(1)
            .expect("README has an Exit codes section")
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("## "))
            .filter(|l| l.starts_with("| ") && !l.starts_with("| code"))
            .collect();
        let want: Vec<String> = ExitCode::ALL
            .iter()
            .map(|c| format!("| {} | {} |", c.code(), c.meaning()))
            .collect();
        assert_eq!(table, want);
    }
}
