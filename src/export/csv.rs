//! runs.csv and tasks.csv: a repetition's task rows and its run row are appended together when
//! it ends, each row whole or not at all, so a crash, a full disk or an interrupt loses nothing
//! already measured and leaves no broken row. Also reads them back into typed records.
//!
//! A run row is its typed cell written flat (the id, workload, executor, shape, one column per
//! axis in `plan::axes::ALL`'s order, sets) and then its measures; reading it back rebuilds the
//! cell from those columns and checks it against the id.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use super::Exporter;
use crate::axis::Values;
use crate::outcome::Failure;
use crate::plan::{axes, Cell};
use crate::pools::{ExecutorKind, Shape, ShapeKind};
use crate::record::{Measured, RunRow, TaskRow};
use crate::results_dir::ResultsDir;
use crate::workload::WorkloadKind;

/// A CSV file appended one whole row at a time.
struct RowFile {
    path: PathBuf,
    file: File,
    ino: u64,
    len: u64,
}

impl RowFile {
    fn open(path: PathBuf) -> io::Result<RowFile> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let meta = file.metadata()?;
        Ok(RowFile {
            path,
            file,
            ino: meta.ino(),
            len: meta.len(),
        })
    }

    /// Appends `bytes` (whole rows); on failure truncates back, so no partial row remains.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        match std::fs::metadata(&self.path) {
            Ok(m) if m.ino() == self.ino => {}
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{} vanished or was replaced during the run", self.path.display()),
                ))
            }
        }
        // Synced before the row counts as written: a power cut loses at most the row being
        // written, which resume then cuts off and runs again.
        if let Err(e) = self.file.write_all(bytes).and_then(|_| self.file.sync_data()) {
            let _ = self.file.set_len(self.len);
            return Err(io::Error::new(
                e.kind(),
                format!("writing {}: {e}", self.path.display()),
            ));
        }
        self.len += bytes.len() as u64;
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The columns of a run row before its axes'.
#[derive(Serialize, Deserialize)]
struct Head {
    experiment: String,
    cell: String,
    workload: WorkloadKind,
    executor: ExecutorKind,
    workers: usize,
    #[serde(default = "one")]
    processes: usize,
    #[serde(default = "one")]
    threads: usize,
}

fn one() -> usize {
    1
}

/// One column per axis, empty where the axis does not apply.
struct AxisColumns<'a>(&'a Cell);

impl Serialize for AxisColumns<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("axes", axes::ALL.len())?;
        for a in axes::ALL {
            let mut text = self.0.text(a);
            if let Some(t) = &mut text {
                guard(t);
            }
            st.serialize_field(a.column, &text)?;
        }
        st.end()
    }
}

/// The columns between the axes and the measures.
#[derive(Serialize, Deserialize)]
struct Mid {
    sets: NonZeroUsize,
    rep: usize,
    #[serde(default)]
    round: Option<usize>,
    warmup: bool,
    seed: u64,
}

pub use super::repair::{keep_rows, repair};

/// A run row as CSV bytes (text cells guarded), with the header first when `header` is set.
pub(crate) fn run_bytes(run: &RunRow, header: bool) -> io::Result<Vec<u8>> {
    let head = Head {
        experiment: run.experiment.clone(),
        cell: run.cell.id(),
        workload: run.cell.workload,
        executor: run.cell.executor,
        workers: run.cell.workers(),
        processes: run.cell.processes(),
        threads: run.cell.threads_per_process(),
    };
    let mid = Mid {
        sets: run.cell.sets,
        rep: run.rep,
        round: run.round,
        warmup: run.warmup,
        seed: run.seed,
    };
    let (mut head, mut m) = (head, run.m.clone());
    guard(&mut head.experiment);
    guard(&mut head.cell);
    let work_text = match &mut m.error {
        Some(Failure::Other(text)) => Some(text),
        _ => None, // the runner's own sentences
    };
    for text in [m.model_sha256.as_mut(), work_text].into_iter().flatten() {
        guard(text);
    }
    csv_bytes(&(head, AxisColumns(&run.cell), mid, m), header)
}

/// One row as CSV bytes, with the header first when `header` is set.
fn csv_bytes<T: Serialize>(row: &T, header: bool) -> io::Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().has_headers(header).from_writer(Vec::new());
    w.serialize(row)?;
    w.into_inner().map_err(|e| io::Error::other(e.to_string()))
}

/// runs.csv and tasks.csv of one results folder, opened for appending.
pub struct Csv {
    runs: RowFile,
    tasks: RowFile,
}

impl Csv {
    /// Opens (or, to resume, reopens for appending) both files in `dir`.
    pub fn open(dir: &Path) -> io::Result<Csv> {
        std::fs::create_dir_all(dir)?;
        Ok(Csv {
            runs: RowFile::open(ResultsDir::at(dir).runs())?,
            tasks: RowFile::open(ResultsDir::at(dir).tasks())?,
        })
    }
}

impl Exporter for Csv {
    /// Commits the task rows, then the run row.
    fn repetition(&mut self, run: &RunRow, tasks: &[TaskRow]) -> io::Result<()> {
        let mut bytes = Vec::new();
        for (i, t) in tasks.iter().enumerate() {
            let mut t = t.clone();
            for text in [&mut t.cell, &mut t.source, &mut t.image] {
                guard(text);
            }
            for text in [&mut t.top1_label, &mut t.result, &mut t.error].into_iter().flatten() {
                guard(text);
            }
            bytes.extend(csv_bytes(&t, i == 0 && self.tasks.is_empty())?);
        }
        self.tasks.append(&bytes)?;
        let header = self.runs.is_empty();
        self.runs.append(&run_bytes(run, header)?)
    }
}

/// A text cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, carriage
/// return first: CSV injection) gets a leading apostrophe, so it shows as the text it is.
/// Numeric columns are never text here, so they stay numbers.
pub fn guard(text: &mut String) {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        text.insert(0, '\'');
    }
}

/// The run rows of a results folder, each with its typed cell.
pub fn read_runs(dir: &Path) -> io::Result<Vec<RunRow>> {
    let path = ResultsDir::at(dir).runs();
    let bad = |line: usize, e: String| io::Error::other(format!("{} row {line}: {e}", path.display()));
    let mut r = csv::Reader::from_path(&path).map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
    let headers = r.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| bad(i + 2, e.to_string()))?;
        rows.push(run_of(&headers, &rec).map_err(|e| bad(i + 2, e))?);
    }
    Ok(rows)
}

/// A run row back from its columns: the cell rebuilt from the flat ones (an axis column an
/// older runs.csv lacks takes the axis's default where it applies), checked against its id.
fn run_of(headers: &csv::StringRecord, rec: &csv::StringRecord) -> Result<RunRow, String> {
    let head: Head = rec.deserialize(Some(headers)).map_err(|e| e.to_string())?;
    let mid: Mid = rec.deserialize(Some(headers)).map_err(|e| e.to_string())?;
    let m: Measured = rec.deserialize(Some(headers)).map_err(|e| e.to_string())?;
    let n = |v: usize| NonZeroUsize::new(v).ok_or_else(|| format!("{} has a count of 0", head.cell));
    let shape = match head.executor.shape() {
        ShapeKind::Single => Shape::ONE,
        ShapeKind::Threads => Shape {
            processes: NonZeroUsize::MIN,
            threads: n(head.workers)?,
        },
        ShapeKind::Processes => Shape {
            processes: n(head.workers)?,
            threads: NonZeroUsize::MIN,
        },
        ShapeKind::ProcessesThreads => Shape {
            processes: n(head.processes)?,
            threads: n(head.threads)?,
        },
    };
    let mut values = Values::default();
    for a in axes::applying(head.workload, head.executor) {
        let text = headers.iter().position(|h| h == a.column).and_then(|i| rec.get(i));
        let v = match text {
            None => Some(a.default_value()),
            Some(t) => a.read(t.trim_start_matches('\''), &head.cell),
        };
        if let Some(v) = v {
            values.set(a, v);
        }
    }
    let cell = Cell {
        workload: head.workload,
        executor: head.executor,
        shape,
        sets: mid.sets,
        values,
    };
    if cell.id() != head.cell.trim_start_matches('\'') {
        return Err(format!(
            "the cell `{}` does not match its columns, which make `{}`",
            head.cell,
            cell.id()
        ));
    }
    Ok(RunRow {
        experiment: head.experiment,
        cell,
        rep: mid.rep,
        round: mid.round,
        warmup: mid.warmup,
        seed: mid.seed,
        m,
    })
}

/// The task rows of a results folder whose repetition has a run row: a crash between the two
/// appends can leave a repetition's tasks without it. Empty when there is no tasks.csv.
pub fn read_tasks(dir: &Path, runs: &[RunRow]) -> io::Result<(Vec<TaskRow>, usize)> {
    let path = ResultsDir::at(dir).tasks();
    if !path.exists() {
        return Ok((Vec::new(), 0));
    }
    let ids: Vec<String> = runs.iter().map(|r| r.cell.id()).collect();
    let done: std::collections::HashSet<(&str, bool, usize)> = runs
        .iter()
        .zip(&ids)
        .map(|(r, id)| (id.as_str(), r.warmup, r.rep))
        .collect();
    let mut r = csv::Reader::from_path(&path).map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
    let rows: Vec<TaskRow> = r
        .deserialize()
        .collect::<Result<_, _>>()
        .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
    let all = rows.len();
    let keep: Vec<TaskRow> = rows
        .into_iter()
        .filter(|t| done.contains(&(t.cell.as_str(), t.warmup, t.rep)))
        .collect();
    let dropped = all - keep.len();
    Ok((keep, dropped))
}

/// Drops task rows whose repetition has no run row (cut off by a crash between the two
/// appends), so a resumed repetition does not list its tasks twice. Finished rows stay as they are.
pub fn drop_orphan_tasks(dir: &Path, runs: &[RunRow]) -> io::Result<usize> {
    let path = ResultsDir::at(dir).tasks();
    let (keep, dropped) = read_tasks(dir, runs)?;
    if dropped > 0 {
        let tmp = dir.join("tasks.csv.tmp");
        let mut w = csv::Writer::from_path(&tmp)?;
        for t in keep {
            w.serialize(t)?;
        }
        w.flush()?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_a_spreadsheet_would_evaluate_is_quoted() {
        for (raw, want) in [
            ("=1+2.jpg", "'=1+2.jpg"),
            ("+cmd", "'+cmd"),
            ("-x", "'-x"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("cat.jpg", "cat.jpg"),
            ("", ""),
        ] {
            let mut s = raw.to_string();
            guard(&mut s);
            assert_eq!(s, want);
        }
    }

    #[test]
    fn a_vanished_file_is_an_error_not_a_silent_loss() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = RowFile::open(ResultsDir::at(dir.path()).runs()).unwrap();
        f.append(b"a,b\n").unwrap();
        std::fs::remove_file(ResultsDir::at(dir.path()).runs()).unwrap();
        let e = f.append(b"1,2\n").unwrap_err();
        assert!(e.to_string().contains("vanished"), "{e}");
    }

    #[test]
    fn rows_append_whole_and_a_reopened_file_keeps_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = RowFile::open(dir.path().join("x.csv")).unwrap();
        assert!(f.is_empty());
        f.append(b"h\n1\n").unwrap();
        drop(f);
        let mut f = RowFile::open(dir.path().join("x.csv")).unwrap();
        assert!(!f.is_empty());
        f.append(b"2\n").unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("x.csv")).unwrap(), "h\n1\n2\n");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_leaves_no_partial_row() {
        // /dev/full accepts the open and fails every write with ENOSPC.
        let mut f = RowFile {
            path: "/dev/full".into(),
            file: File::options().append(true).open("/dev/full").unwrap(),
            ino: std::fs::metadata("/dev/full").unwrap().ino(),
            len: 0,
        };
        let e = f.append(b"1,2,3\n").unwrap_err();
        assert!(e.to_string().contains("No space left"), "{e}");
        assert_eq!(f.len, 0);
    }
}
