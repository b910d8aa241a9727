//! Axes as data: an axis is an [`AxisDef`] (its key, its runs.csv column, its part in "the same
//! work", which cells it applies to, how it names a cell), declared once, as a `static`: a
//! workload's in its file (`[resize] format`), a pool's in `src/pools/axes.rs` (`py_start_method`,
//! `pinning`), whose `applies` asks the executor's capabilities. A cell holds its values as [`Values`], which describe themselves, so
//! a worker reads its own axis without knowing the others.

use std::collections::HashSet;
use std::sync::Mutex;

use serde::Deserialize;
use toml::de::{DeValue, ValueDeserializer};
use toml::Spanned;

use crate::spec::{Fields, OneOrMany, Refused, SpecError};

mod values;
pub use values::{AxisId, Values, MAX as MAX_AXES};

/// What a cell holds for one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    /// A whole number (intra-op threads, a chunk size).
    Count(u32),
    /// One of the axis's fixed words (`cores`, `png`).
    Word(&'static str),
    /// Entry `index` of a list of paths the file names (a model), by its file name.
    Listed(u8, &'static str),
}

impl Value {
    /// As runs.csv writes it.
    pub fn text(self) -> String {
        match self {
            Value::Count(n) => n.to_string(),
            Value::Word(w) | Value::Listed(_, w) => w.to_string(),
        }
    }
}

/// Whether cells that differ in an axis do different work, or the same work in other pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Part of the work: verdicts compare only cells with the same value, and a cell's
    /// sequential baseline has its value (format, model, pinning).
    Work,
    /// How the pool runs: cells that differ in it are two sides of a verdict, and the
    /// baseline, a plain loop, has none (Python's start method).
    Pool,
    /// What runs the work (Python's interpreter, its GIL): the same work on another runtime.
    /// Verdicts between pools compare cells with the same value, as for a work axis, and a
    /// cell's baseline has its value; the answer adds verdicts across its values (the same
    /// pool, each value's best pool, the loop), and paired rounds put those cells side by side.
    Runtime,
}

/// What an axis may ask of a cell to decide whether it applies.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    /// The workload's name.
    pub workload: &'static str,
    /// The workload, or one of its parts, runs an ONNX model.
    pub uses_model: bool,
    /// The workload, or one of its parts, encodes images.
    pub encodes_images: bool,
    /// What the executor's pool can do: an axis asks this, never the executor's name.
    pub caps: Caps,
    /// The executor is one of Python's pools.
    pub python: bool,
}

/// What a pool can be asked to do beyond running tasks: the pool axes that apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Its worker processes hold tasks queued behind the one they run (`process_queue`).
    pub queue: bool,
    /// Its workers start by a `multiprocessing` start method (`py_start_method`).
    pub start_method: bool,
    /// It sends tasks to a worker in chunks (`py_chunksize`).
    pub chunks: bool,
    /// It replaces a worker after a number of calls (`py_max_tasks_per_child`).
    pub recycles: bool,
    /// Its workers are subinterpreters: extension modules that refuse them cannot run there.
    pub subinterpreters: bool,
}

impl Caps {
    pub const NONE: Caps = Caps {
        queue: false,
        start_method: false,
        chunks: false,
        recycles: false,
        subinterpreters: false,
    };
}

/// The values an axis takes.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// One of these words; the first is the default.
    Words(&'static [&'static str]),
    /// A whole number in `min..=max`.
    Count { default: u32, min: u32, max: u32 },
    /// Paths the file lists (relative to it), each named by its file name; `default` when absent.
    Paths { default: &'static str },
}

/// One axis, declared once.
#[derive(Debug)]
pub struct AxisDef {
    /// Its key in the experiment file (in `section` if set) and in `[[exclude]]`.
    pub key: &'static str,
    /// What it is, for the reader of the code and of `runner schema` (an editor's hover).
    pub doc: &'static str,
    /// The `[section]` holding the key; `None`: the top level.
    pub section: Option<&'static str>,
    /// Its runs.csv column.
    pub column: &'static str,
    pub role: Role,
    pub kind: Kind,
    /// Whether a cell takes a value of this axis; the others hold none (`-` in tables).
    pub applies: fn(&Facts) -> bool,
    /// Its part of the cell id; `None` adds nothing (the default value, so ids stay stable).
    pub id: fn(Value) -> Option<String>,
    /// How a verdict's setting mentions it (`pinned`); `None` says nothing.
    pub setting: fn(Value) -> Option<String>,
    /// What the machine must allow for these values (checked before anything runs).
    pub check: fn(&[Value]) -> Result<(), Refused>,
}

/// For [`AxisDef::check`]: nothing to check.
pub fn no_check(_: &[Value]) -> Result<(), Refused> {
    Ok(())
}

/// For [`AxisDef::setting`]: the axis says nothing in a verdict's setting.
pub fn unnamed(_: Value) -> Option<String> {
    None
}

impl AxisDef {
    /// `resize.format`, or `pinning`: the key as error messages name it.
    pub fn path(&self) -> String {
        match self.section {
            Some(s) => format!("{s}.{}", self.key),
            None => self.key.to_string(),
        }
    }

    /// Its JSON Schema: one value of its kind or a list of distinct ones (an axis), with its doc
    /// and default.
    pub fn schema(&self) -> serde_json::Value {
        use serde_json::json;
        let (one, default, most) = match self.kind {
            Kind::Words(words) => (json!({ "type": "string", "enum": words }), json!(words[0]), None),
            Kind::Count { default, min, max } => (
                json!({ "type": "integer", "minimum": min, "maximum": max }),
                json!(default),
                None,
            ),
            // A path's default depends on where the file and runner are: its doc says it.
            Kind::Paths { .. } => (json!({ "type": "string", "minLength": 1 }), json!(null), Some(u8::MAX)),
        };
        let mut many = json!({ "type": "array", "items": one, "minItems": 1, "uniqueItems": true });
        if let Some(most) = most {
            many["maxItems"] = json!(most);
        }
        let mut schema = json!({ "description": self.doc, "anyOf": [one, many] });
        if !default.is_null() {
            schema["default"] = default;
        }
        schema
    }

    /// The default value (the key absent).
    pub fn default_value(&self) -> Value {
        match self.kind {
            Kind::Words(words) => Value::Word(words[0]),
            Kind::Count { default, .. } => Value::Count(default),
            Kind::Paths { default } => Value::Listed(0, intern(file_name(default))),
        }
    }

    /// The values the file lists for it (each once), or the default.
    pub fn values(&self, cx: &Fields, v: Option<&Spanned<DeValue>>) -> Result<Vec<Value>, SpecError> {
        let Some(v) = v else {
            return Ok(vec![self.default_value()]);
        };
        let key = self.path();
        let items = match self.kind {
            Kind::Count { .. } => list::<i64>(cx, &key, v)?
                .into_iter()
                .map(|n| self.count(cx, &key, v, n))
                .collect::<Result<Vec<_>, _>>()?,
            Kind::Words(_) => list::<String>(cx, &key, v)?
                .iter()
                .map(|w| self.word(cx, &key, v, w))
                .collect::<Result<Vec<_>, _>>()?,
            Kind::Paths { .. } => {
                let names = list::<String>(cx, &key, v)?;
                if names.len() > u8::MAX as usize {
                    return cx.err(&key, Some(v.span()), "at most 255 entries");
                }
                names
                    .iter()
                    .enumerate()
                    .map(|(i, p)| Value::Listed(i as u8, intern(file_name(p))))
                    .collect()
            }
        };
        let mut seen = HashSet::new();
        if let Some(twice) = items.iter().find(|v| !seen.insert(**v)) {
            return cx.err(&key, Some(v.span()), format!("lists `{}` twice", twice.text()));
        }
        if items.is_empty() {
            return cx.err(&key, Some(v.span()), "must not be an empty list");
        }
        Ok(items)
    }

    fn count(&self, cx: &Fields, key: &str, v: &Spanned<DeValue>, n: i64) -> Result<Value, SpecError> {
        let Kind::Count { min, max, .. } = self.kind else {
            unreachable!("a count axis")
        };
        match u32::try_from(n).ok().filter(|n| (min..=max).contains(n)) {
            Some(n) => Ok(Value::Count(n)),
            None if min == 1 && n < 1 => cx.err(
                key,
                Some(v.span()),
                format!("must be a whole number of at least 1, got {n}"),
            ),
            None => cx.err(key, Some(v.span()), format!("must be between {min} and {max}, got {n}")),
        }
    }

    fn word(&self, cx: &Fields, key: &str, v: &Spanned<DeValue>, w: &str) -> Result<Value, SpecError> {
        let Kind::Words(words) = self.kind else {
            unreachable!("a word axis")
        };
        match words.iter().find(|x| **x == w) {
            Some(x) => Ok(Value::Word(x)),
            None => cx.err(
                key,
                Some(v.span()),
                format!("unknown variant `{w}`, expected {}", expected(words)),
            ),
        }
    }

    /// The files a paths axis lists, resolved against the experiment file; each must exist.
    pub fn files(&self, cx: &Fields, v: &Spanned<DeValue>) -> Result<Vec<std::path::PathBuf>, SpecError> {
        let key = self.path();
        list::<String>(cx, &key, v)?
            .iter()
            .map(|p| cx.existing(&key, Some(v.span()), p, false))
            .collect()
    }

    /// An `[[exclude]]` entry's value: as the file lists it (a path, or its file name).
    pub fn exclude(&self, cx: &Fields, v: &Spanned<DeValue>, listed: &[Value]) -> Result<Value, SpecError> {
        let key = format!("exclude.{}", self.key);
        let one = self.values(cx, Some(v))?;
        let [value] = one[..] else {
            return cx.err(&key, Some(v.span()), "names one value, not a list");
        };
        let found = listed.iter().find(|l| match (l, value) {
            (Value::Listed(_, a), Value::Listed(_, b)) => a == &b,
            (a, b) => **a == b,
        });
        match found {
            Some(l) => Ok(*l),
            None => cx.err(
                &key,
                Some(v.span()),
                format!("`{}` is not one of the values of `{}`", value.text(), self.path()),
            ),
        }
    }

    /// Reads a value back from its runs.csv column; listed values take their index from the
    /// cell id (`-m2`: the second), which is how the id names them.
    pub fn read(&self, text: &str, id: &str) -> Option<Value> {
        if text.is_empty() {
            return None;
        }
        match self.kind {
            Kind::Count { .. } => text.parse().ok().map(Value::Count),
            Kind::Words(words) => words.iter().find(|w| **w == text).map(|w| Value::Word(w)),
            Kind::Paths { .. } => {
                // Below u8::MAX: an id closure names index i as i + 1.
                let index = (1..u8::MAX)
                    .find(|&i| (self.id)(Value::Listed(i, "")).is_some_and(|part| id_has(id, &part)))
                    .unwrap_or(0);
                Some(Value::Listed(index, intern(text)))
            }
        }
    }

    /// This axis's value among a cell's.
    pub fn of(&self, values: &Values) -> Option<Value> {
        values.get(self)
    }

    /// The word this axis holds in `values` (its default when it does not apply).
    pub fn word_of(&self, values: &Values) -> &'static str {
        match self.of(values).unwrap_or(self.default_value()) {
            Value::Word(w) | Value::Listed(_, w) => w,
            Value::Count(_) => unreachable!("{} is not a word axis", self.key),
        }
    }

    /// The count this axis holds in `values` (its default when it does not apply).
    pub fn count_of(&self, values: &Values) -> u32 {
        match self.of(values).unwrap_or(self.default_value()) {
            Value::Count(n) => n,
            _ => unreachable!("{} is not a count axis", self.key),
        }
    }

    /// The list index this axis holds in `values` (0 when it does not apply).
    pub fn index_of(&self, values: &Values) -> usize {
        match self.of(values) {
            Some(Value::Listed(i, _)) => i as usize,
            _ => 0,
        }
    }
}

/// Whether a cell id holds `part` (`-m2`) as a whole piece: followed by `-` or the end.
fn id_has(id: &str, part: &str) -> bool {
    id.match_indices(part)
        .any(|(at, _)| matches!(id[at + part.len()..].chars().next(), None | Some('-')))
}

fn list<T: serde::de::DeserializeOwned>(cx: &Fields, key: &str, v: &Spanned<DeValue>) -> Result<Vec<T>, SpecError> {
    OneOrMany::<T>::deserialize(ValueDeserializer::from(v.clone()))
        .map(|l| l.0)
        .map_err(|e| {
            let mut err = cx.toml_error(Some(key), &e);
            err.line = err.line.or(Some(cx.line(v.span().start)));
            err
        })
}

/// "`a`", "`a` or `b`", "one of `a`, `b`, `c`": as serde names the variants it expected.
fn expected(words: &[&str]) -> String {
    let q: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    match q.len() {
        1 => q[0].clone(),
        2 => format!("{} or {}", q[0], q[1]),
        _ => format!("one of {}", q.join(", ")),
    }
}

/// The last part of a path, as rows name listed files.
pub fn file_name(path: &str) -> &str {
    let path = path.trim_end_matches('/');
    // A program in a `bin` folder is named with the folder above it (`venv313/bin/python`), so
    // that two environments' interpreters are told apart.
    match path.rsplitn(4, '/').collect::<Vec<_>>()[..] {
        [file, "bin", env, ..] if !env.is_empty() => &path[path.len() - file.len() - env.len() - 5..],
        [file, ..] => file,
        [] => path,
    }
}

/// Listed names live as long as the process: each distinct name is kept once.
fn intern(s: &str) -> &'static str {
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let set = names.get_or_insert_with(HashSet::new);
    if let Some(&known) = set.get(s) {
        return known;
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    set.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_value_read_back_from_an_id_without_its_index_is_the_first() {
        // `runner report` on a run of one interpreter: the id names no `-pyN`; every index up
        // to the last was tried, and the last once overflowed `i + 1`.
        let python = &crate::pools::axes::PYTHON;
        let v = python.read("/usr/bin/python3", "spin-py-thread-w2-s4");
        assert_eq!(v, Some(Value::Listed(0, "/usr/bin/python3")));
        let v = python.read("/usr/bin/python3", "spin-py-thread-w2-py3-s4");
        assert_eq!(v, Some(Value::Listed(2, "/usr/bin/python3")));
    }

    #[test]
    fn ids_are_matched_as_whole_pieces() {
        assert!(id_has("classify-thread-w2-m2-i1-s8", "-m2"));
        assert!(!id_has("classify-thread-w2-m21-i1-s8", "-m2"));
        assert!(id_has("classify-thread-w2-m2", "-m2"));
        assert_eq!(intern("a.onnx").as_ptr(), intern("a.onnx").as_ptr());
        assert_eq!(file_name("../models/resnet18.onnx"), "resnet18.onnx");
        assert_eq!(file_name("../.deps/venv313/bin/python"), "venv313/bin/python");
        assert_eq!(file_name("/usr/bin/python3.13"), "usr/bin/python3.13");
        assert_eq!(file_name("bin/python"), "python");
    }
}
