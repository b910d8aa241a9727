//! The one error a command ends with ([`Error`]), and the one `match` that gives its exit code
//! ([`Error::exit_code`]).
//!
//! Deliberately not a `std::error::Error`: anyhow's `context` and `?` into an `anyhow::Error`
//! need one, so they cannot take a bad-input error in and hand it back as a failure to run
//! (exit 1 instead of 2). Context is added with [`Within::within`], which keeps the kind. A
//! [`SpecError`] is still a `std::error::Error` of its own: it reaches a command's result by `?`
//! or `within`, never through anyhow (an anyhow error is always [`Error::Run`]).

use std::fmt;

use crate::exit::ExitCode;
use crate::spec::SpecError;

/// Why a command stopped before it could give an exit code of its own.
#[derive(Debug)]
pub enum Error {
    /// A bad experiment file: which file, key and line (exit 2).
    Spec(SpecError),
    /// A mistake in what was asked: a flag, a folder named on the command line, a subcommand
    /// (exit 2).
    Usage(String),
    /// What was asked could not be done: I/O, a child that failed, a tool that is missing
    /// (exit 1). Its chain of causes is printed.
    Run(anyhow::Error),
    /// One of the above, with what was being done when it happened.
    Within { doing: String, error: Box<Error> },
}

/// A command's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A mistake in what was asked (exit 2), in the user's words.
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage(message.into())
    }

    /// This error, said to have happened while `doing`.
    pub fn within(self, doing: impl Into<String>) -> Error {
        Error::Within {
            doing: doing.into(),
            error: Box::new(self),
        }
    }

    /// The exit code of a command that ended with this error: what was asked is wrong (2), or
    /// it could not be done (1).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Spec(_) | Error::Usage(_) => ExitCode::BadInput,
            Error::Run(_) => ExitCode::Error,
            Error::Within { error, .. } => error.exit_code(),
        }
    }
}

impl fmt::Display for Error {
    /// The message, then (for a failure to run) each cause after a colon, as anyhow's `{:#}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spec(e) => write!(f, "{e}"),
            Error::Usage(m) => f.write_str(m),
            Error::Run(e) => write!(f, "{e:#}"),
            Error::Within { doing, error } => write!(f, "{doing}: {error}"),
        }
    }
}

impl From<SpecError> for Error {
    fn from(e: SpecError) -> Error {
        Error::Spec(e)
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Error {
        Error::Run(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::Run(e.into())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Run(e.into())
    }
}

/// Context for any result whose error is, or becomes, an [`Error`], keeping its kind.
pub trait Within<T> {
    fn within(self, doing: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: Into<Error>> Within<T> for std::result::Result<T, E> {
    fn within(self, doing: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| e.into().within(doing()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SpecError {
        SpecError {
            file: "e.toml".into(),
            key: Some("workers".into()),
            line: Some(3),
            message: "must be at least 1".into(),
        }
    }

    #[test]
    fn what_was_asked_is_bad_input_and_stays_so_under_context() {
        assert_eq!(Error::from(spec()).exit_code(), ExitCode::BadInput);
        assert_eq!(Error::usage("no such folder").exit_code(), ExitCode::BadInput);
        let wrapped: Result<()> = Err(spec()).within(|| "reading the experiment of r/".into());
        let e = wrapped.unwrap_err();
        assert_eq!(e.exit_code(), ExitCode::BadInput);
        assert_eq!(
            e.to_string(),
            "reading the experiment of r/: e.toml:3: key `workers`: must be at least 1"
        );
    }

    #[test]
    fn a_failure_to_run_is_an_error_and_prints_its_causes() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = Error::from(anyhow::Error::from(io).context("cannot write the log"));
        assert_eq!(e.exit_code(), ExitCode::Error);
        assert_eq!(
            e.within("writing results").to_string(),
            "writing results: cannot write the log: denied"
        );
    }
}
