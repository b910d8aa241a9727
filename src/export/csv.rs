//! runs.csv and tasks.csv: a repetition's task rows and its run row are appended together when
//! it ends, each row whole or not at all, so a crash, a full disk or an interrupt loses nothing
//! already measured and leaves no broken row. Also reads them back into typed records.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Exporter;
use crate::record::{RunRow, TaskRow};

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
        if let Err(e) = self.file.write_all(bytes).and_then(|_| self.file.flush()) {
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
            runs: RowFile::open(dir.join("runs.csv"))?,
            tasks: RowFile::open(dir.join("tasks.csv"))?,
        })
    }
}

impl Exporter for Csv {
    /// Commits the task rows, then the run row.
    fn repetition(&mut self, run: &RunRow, tasks: &[TaskRow]) -> io::Result<()> {
        let mut bytes = Vec::new();
        for (i, t) in tasks.iter().enumerate() {
            let mut t = t.clone();
            for text in [&mut t.cell, &mut t.source, &mut t.image, &mut t.status] {
                guard(text);
            }
            for text in [&mut t.top1_label, &mut t.error].into_iter().flatten() {
                guard(text);
            }
            bytes.extend(csv_bytes(&t, i == 0 && self.tasks.is_empty())?);
        }
        self.tasks.append(&bytes)?;
        let mut run = run.clone();
        guard(&mut run.experiment);
        guard(&mut run.cell);
        for text in [&mut run.model, &mut run.model_sha256, &mut run.error]
            .into_iter()
            .flatten()
        {
            guard(text);
        }
        let header = self.runs.is_empty();
        self.runs.append(&csv_bytes(&run, header)?)
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

/// Rows already in a results folder (to resume it).
pub fn read_runs(dir: &Path) -> io::Result<Vec<RunRow>> {
    let path = dir.join("runs.csv");
    let mut r = csv::Reader::from_path(&path).map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
    r.deserialize()
        .map(|row| row.map_err(|e| io::Error::other(format!("{}: {e}", path.display()))))
        .collect()
}

/// The task rows of a results folder whose repetition has a run row: a crash between the two
/// appends can leave a repetition's tasks without it. Empty when there is no tasks.csv.
pub fn read_tasks(dir: &Path, runs: &[RunRow]) -> io::Result<(Vec<TaskRow>, usize)> {
    let path = dir.join("tasks.csv");
    if !path.exists() {
        return Ok((Vec::new(), 0));
    }
    let done: std::collections::HashSet<(&str, bool, usize)> =
        runs.iter().map(|r| (r.cell.as_str(), r.warmup, r.rep)).collect();
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
    let path = dir.join("tasks.csv");
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
        let mut f = RowFile::open(dir.path().join("runs.csv")).unwrap();
        f.append(b"a,b\n").unwrap();
        std::fs::remove_file(dir.path().join("runs.csv")).unwrap();
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
