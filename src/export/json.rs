//! results.json: the run in one machine-readable file, versioned ([`SCHEMA`]): the environment,
//! every run record with its typed cell, the cell summaries and the verdicts. Documented field
//! by field in results/README.md; `runner report` and `compare` read runs.csv, which holds the
//! same records.

use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Exporter, Report};
use crate::answer::{Side, Verdict};
use crate::envinfo::Env;
use crate::record::RunRow;
use crate::results_dir::ResultsDir;
use crate::stats::Ratio;
use crate::summary::CellSummary;

/// The version of results.json's layout; a change that removes or renames a field raises it.
pub const SCHEMA: u32 = 1;

/// results.json as written.
#[derive(Serialize)]
struct Results<'a> {
    schema: u32,
    title: &'a str,
    env: &'a Option<Env>,
    runs: &'a [RunRow],
    cells: &'a [CellSummary],
    verdicts: Vec<VerdictJson<'a>>,
    best: &'a [String],
    /// Rows of several kinds of machine: each comparison's verdict per kind, and where the
    /// answer changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    by_kind: Option<ByKindJson>,
}

/// The answer per kind of machine, as results.json writes it.
#[derive(Serialize)]
struct ByKindJson {
    /// Each kind's label (the partition, or its hardware) and hardware.
    kinds: Vec<(String, Option<String>)>,
    /// Each comparison: its title and, per kind in order, the verdict's words (null: none).
    rows: Vec<(String, Vec<Option<String>>)>,
    changes: Vec<String>,
}

impl ByKindJson {
    fn of(k: &crate::answer::kinds::ByKind) -> ByKindJson {
        use crate::answer::kinds::words;
        ByKindJson {
            kinds: k.kinds.iter().map(|k| (k.label.clone(), k.hardware.clone())).collect(),
            rows: k
                .rows
                .iter()
                .map(|r| {
                    (
                        r.title.clone(),
                        r.verdicts.iter().map(|v| v.as_ref().map(words)).collect(),
                    )
                })
                .collect(),
            changes: k.changes.clone(),
        }
    }
}

/// A verdict as results.json writes it: the two cells (by id), the line the answer prints, the
/// ratio of a's throughput over b's with its interval, and the winner.
#[derive(Serialize)]
struct VerdictJson<'a> {
    /// The group the answer prints it in ("Python's pools", "Across interpreters and GIL
    /// settings: the same pool", ...).
    group: &'static str,
    setting: &'a str,
    a: String,
    b: String,
    a_name: &'a str,
    b_name: &'a str,
    ratio: Option<Ratio>,
    /// `"a"`, `"b"`, or null (no clear winner).
    winner: Option<&'static str>,
    cpu: Option<f64>,
    memory: Option<f64>,
    caveats: &'a [String],
    /// The kind of machine it was formed on, when rows of several kinds were merged.
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    line: String,
    /// For a winner: the line that splits the slower side's extra time.
    why: Option<String>,
}

impl<'a> VerdictJson<'a> {
    fn of(v: &'a Verdict) -> VerdictJson<'a> {
        VerdictJson {
            group: v.group(),
            setting: &v.setting,
            a: v.a.id(),
            b: v.b.id(),
            a_name: &v.a_name,
            b_name: &v.b_name,
            ratio: v.ratio,
            winner: v.winner.map(|w| match w {
                Side::A => "a",
                Side::B => "b",
            }),
            cpu: v.cpu,
            memory: v.memory,
            caveats: &v.caveats,
            kind: v.kind.as_deref(),
            line: v.line(),
            why: v.why.as_ref().map(|w| w.to_string()),
        }
    }
}

/// The part of results.json a reader needs back as typed records.
#[derive(Deserialize)]
pub struct Read {
    pub schema: u32,
    pub runs: Vec<RunRow>,
}

/// Writes `results.json` into a results folder.
pub struct Json(pub PathBuf);

impl Exporter for Json {
    fn report(&mut self, report: &Report) -> io::Result<Vec<PathBuf>> {
        let path = ResultsDir::at(&self.0).results();
        let results = Results {
            schema: SCHEMA,
            title: report.title,
            env: &report.env,
            runs: report.rows,
            cells: &report.cells,
            verdicts: report.verdicts.iter().map(VerdictJson::of).collect(),
            best: &report.best,
            by_kind: report.by_kind.as_ref().map(ByKindJson::of),
        };
        std::fs::write(&path, serde_json::to_vec_pretty(&results)?)?;
        Ok(vec![path])
    }
}

/// Reads results.json back (its schema checked) into the typed run records.
pub fn read(path: &std::path::Path) -> anyhow::Result<Read> {
    let r: Read = serde_json::from_slice(&std::fs::read(path)?)?;
    anyhow::ensure!(
        r.schema == SCHEMA,
        "{}: schema {} is not {SCHEMA}",
        path.display(),
        r.schema
    );
    Ok(r)
}
