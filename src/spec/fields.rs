//! Reading checked values out of an experiment file: counts, bounded numbers, lists, seconds
//! and paths, each failure one [`SpecError`] naming the file, key and line. Shared by the core
//! keys, the axes and each workload's own section ([`Section`]).

use std::collections::HashSet;
use std::fmt::Display;
use std::hash::Hash;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use toml::de::{DeValue, ValueDeserializer};
use toml::Spanned;

use super::{OneOrMany, SpecError};

/// The experiment file being read: turns values into checked ones, or errors that name the
/// file, the key and the line.
pub struct Fields<'a> {
    pub file: &'a Path,
    pub text: &'a str,
}

impl Fields<'_> {
    pub fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    pub fn err<T>(&self, key: &str, span: Option<std::ops::Range<usize>>, msg: impl Display) -> Result<T, SpecError> {
        Err(SpecError {
            file: self.file.to_path_buf(),
            key: Some(key.to_string()),
            line: span.map(|s| self.line(s.start)),
            message: msg.to_string(),
        })
    }

    pub fn count(&self, key: &str, v: &Spanned<i64>) -> Result<NonZeroUsize, SpecError> {
        match usize::try_from(*v.get_ref()).ok().and_then(NonZeroUsize::new) {
            Some(n) => Ok(n),
            None => self.err(
                key,
                Some(v.span()),
                format!("must be a whole number of at least 1, got {}", v.get_ref()),
            ),
        }
    }

    pub fn non_negative(&self, key: &str, v: &Spanned<i64>) -> Result<u64, SpecError> {
        match u64::try_from(*v.get_ref()) {
            Ok(n) => Ok(n),
            Err(_) => self.err(
                key,
                Some(v.span()),
                format!("must not be negative, got {}", v.get_ref()),
            ),
        }
    }

    /// An optional whole number in `0..=max`, `default` when absent.
    pub fn bounded(&self, key: &str, v: &Option<Spanned<i64>>, default: u64, max: u64) -> Result<u64, SpecError> {
        let Some(v) = v else { return Ok(default) };
        let n = self.non_negative(key, v)?;
        if n > max {
            return self.err(key, Some(v.span()), format!("must be at most {max}"));
        }
        Ok(n)
    }

    pub fn list<T: Clone + Eq + Hash + Display>(
        &self,
        key: &str,
        v: Option<&Spanned<OneOrMany<T>>>,
        default: &[T],
    ) -> Result<Vec<T>, SpecError> {
        let Some(v) = v else {
            return Ok(default.to_vec());
        };
        if v.get_ref().0.is_empty() {
            return self.err(key, Some(v.span()), "must not be an empty list");
        }
        let mut seen = HashSet::new();
        for item in &v.get_ref().0 {
            if !seen.insert(item.clone()) {
                return self.err(key, Some(v.span()), format!("lists `{item}` twice"));
            }
        }
        Ok(v.get_ref().0.clone())
    }

    pub fn counts(
        &self,
        key: &str,
        v: Option<&Spanned<OneOrMany<i64>>>,
        default: usize,
    ) -> Result<Vec<NonZeroUsize>, SpecError> {
        let values = self.list(key, v, &[default as i64])?;
        values
            .into_iter()
            .map(|n| self.count(key, &Spanned::new(v.map_or(0..0, |v| v.span()), n)))
            .collect()
    }

    /// A path from the file, relative to the file's folder, with `.` and `..` resolved lexically.
    pub fn resolve(&self, s: &str) -> PathBuf {
        let joined = self.file.parent().unwrap_or(Path::new(".")).join(s);
        let mut out = PathBuf::new();
        for part in joined.components() {
            match part {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir if out.file_name().is_some() => {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        out
    }

    pub fn existing(
        &self,
        key: &str,
        span: Option<std::ops::Range<usize>>,
        s: &str,
        dir: bool,
    ) -> Result<PathBuf, SpecError> {
        let p = self.resolve(s);
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() == dir => Ok(p),
            Ok(_) => self.err(
                key,
                span,
                format!("{} is not a {}", p.display(), if dir { "folder" } else { "file" }),
            ),
            Err(e) => self.err(key, span, format!("{}: {e}", p.display())),
        }
    }
    /// An optional positive number of seconds below 1e9.
    pub fn seconds(&self, key: &str, v: &Option<Spanned<f64>>) -> Result<Option<Duration>, SpecError> {
        match v {
            Some(v) if !(v.get_ref().is_finite() && *v.get_ref() > 0.0 && *v.get_ref() < 1e9) => {
                self.err(key, Some(v.span()), "must be a positive number of seconds")
            }
            Some(v) => Ok(Some(Duration::from_secs_f64(*v.get_ref()))),
            None => Ok(None),
        }
    }

    /// A TOML error at a byte offset of this file.
    pub fn toml_error(&self, key: Option<&str>, e: &toml::de::Error) -> SpecError {
        SpecError {
            file: self.file.to_path_buf(),
            key: key.map(str::to_string),
            line: e.span().map(|s| self.line(s.start)),
            message: e.message().trim().to_string(),
        }
    }
}

/// A workload's own `[section]` of the experiment file, with the file's helpers.
pub struct Section<'a> {
    pub fields: &'a Fields<'a>,
    /// The table's name, e.g. `resize`.
    pub name: &'static str,
    pub value: Option<Spanned<DeValue<'a>>>,
}

impl Section<'_> {
    /// The section as its wire struct (`deny_unknown_fields`), or the default when absent.
    pub fn parse<T: DeserializeOwned + Default>(&self) -> Result<T, SpecError> {
        match &self.value {
            None => Ok(T::default()),
            Some(v) => T::deserialize(ValueDeserializer::from(v.clone()))
                .map_err(|e| self.fields.toml_error(Some(self.name), &e)),
        }
    }

    /// `section.key`, for error messages.
    pub fn key(&self, key: &str) -> String {
        format!("{}.{key}", self.name)
    }
}
