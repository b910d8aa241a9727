//! The house's layering, checked over the source text. The leaves (the experiment file's
//! helpers, the axis model, tasks) name no other part of the project; the pure core (the plan,
//! validation, the exporters, the executor table, the outcomes and records, the statistics and
//! the answer) reads the leaves and never the modules that run or fork ([`crate::executor`], [`crate::isolate`], [`crate::runloop`], [`crate::session`],
//! [`crate::cmd`]).

use std::path::{Path, PathBuf};

/// Every `.rs` file at or under `src/<under>` (all of src/ for ""), with its text.
pub(crate) fn rust_sources(under: &str) -> Vec<(PathBuf, String)> {
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(under)];
    let mut files = Vec::new();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            files.push((path, text));
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The modules that run, fork or write: no layer below them names one.
    const ENGINES: &[&str] = &[
        "crate::executor",
        "crate::isolate",
        "crate::runloop",
        "crate::session",
        "crate::cmd",
    ];

    /// What each layer must not name, besides the engines.
    const RULES: &[(&[&str], &[&str])] = &[
        (
            &[
                "plan",
                "experiment",
                "export",
                "pools",
                "outcome",
                "record.rs",
                "record",
                "summary.rs",
                "summary",
                "answer",
                "stats",
            ],
            &[],
        ),
        (
            &["spec", "axis", "task.rs", "tasks.rs"],
            &[
                "crate::pools",
                "crate::workload",
                "crate::plan",
                "crate::experiment",
                "crate::export",
            ],
        ),
    ];

    /// Whether `line` names module `m` (`crate::executor`): as a path (`crate::executor::x`,
    /// `use crate::executor;`, `crate::executor as e`) or inside a grouped `use crate::{...}`.
    fn names(line: &str, m: &str) -> bool {
        let ends = |rest: &str| !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_');
        let direct = line.match_indices(m).any(|(at, _)| ends(&line[at + m.len()..]));
        let leaf = m.trim_start_matches("crate::");
        let grouped = line.contains("crate::{")
            && line.match_indices(leaf).any(|(at, _)| {
                let before = line[..at].chars().next_back();
                matches!(before, Some('{' | ' ')) && ends(&line[at + leaf.len()..])
            });
        direct || grouped
    }

    /// Where `text`, before its tests, names one of `banned`: `file:line: module` each.
    fn offences(path: &Path, text: &str, banned: &[&str]) -> Vec<String> {
        let code = text.split("#[cfg(test)]").next().unwrap_or(text);
        let mut found = Vec::new();
        for (n, line) in code.lines().enumerate() {
            if let Some(m) = banned.iter().find(|m| names(line, m)) {
                found.push(format!("{}:{}: {m}", path.display(), n + 1));
            }
        }
        found
    }

    #[test]
    fn each_layer_names_only_what_lies_below_it() {
        let mut offenders = Vec::new();
        for (layers, more) in RULES {
            let banned: Vec<&str> = ENGINES.iter().chain(more.iter()).copied().collect();
            for layer in *layers {
                let files = rust_sources(layer);
                assert!(!files.is_empty(), "no source at src/{layer}");
                for (path, text) in files {
                    offenders.extend(offences(&path, &text, &banned));
                }
            }
        }
        assert!(offenders.is_empty(), "{offenders:#?}");
    }

    #[test]
    fn an_engine_named_outside_a_test_is_found() {
        let text = "use crate::pools::TABLE;\nuse crate::executor::engine;\nuse crate::isolate;\n\
                    use crate::{plan, runloop::run};\nuse crate::executors_like;\n#[cfg(test)]\nuse crate::cmd::x;\n";
        let found = offences(Path::new("x.rs"), text, ENGINES);
        assert_eq!(
            found,
            [
                "x.rs:2: crate::executor",
                "x.rs:3: crate::isolate",
                "x.rs:4: crate::runloop"
            ]
        );
    }
}
