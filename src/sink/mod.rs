//! Where results go: runs.csv, tasks.csv and run.log, each row flushed as soon as it exists.

mod rows;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub use rows::{RunMeta, RunRow, TaskRow};

/// Receives rows as they are measured.
pub trait Sink {
    fn task(&mut self, row: &TaskRow) -> io::Result<()>;
    fn run(&mut self, row: &RunRow) -> io::Result<()>;
}

/// The results folder of one run.
pub struct CsvSink {
    pub dir: PathBuf,
    runs: csv::Writer<File>,
    tasks: csv::Writer<BufWriter<File>>,
    log: BufWriter<File>,
}

impl CsvSink {
    pub fn create(dir: &Path) -> io::Result<CsvSink> {
        std::fs::create_dir_all(dir)?;
        let open = |name: &str| {
            File::create(dir.join(name))
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.join(name).display())))
        };
        Ok(CsvSink {
            dir: dir.to_path_buf(),
            runs: csv::Writer::from_writer(open("runs.csv")?),
            tasks: csv::Writer::from_writer(BufWriter::new(open("tasks.csv")?)),
            log: BufWriter::new(open("run.log")?),
        })
    }

    pub fn runs_csv(&self) -> PathBuf {
        self.dir.join("runs.csv")
    }
}

impl Sink for CsvSink {
    fn task(&mut self, row: &TaskRow) -> io::Result<()> {
        self.tasks.serialize(row)?;
        writeln!(self.log, "{}", row.log_line())
    }

    /// Writes the repetition's row, and flushes its tasks and log lines first, so that a crash
    /// later loses nothing already measured.
    fn run(&mut self, row: &RunRow) -> io::Result<()> {
        self.tasks.flush()?;
        self.log.flush()?;
        self.runs.serialize(row)?;
        self.runs.flush()
    }
}

/// Collects rows in memory (tests, and the summary).
#[derive(Default)]
pub struct MemorySink {
    pub tasks: Vec<TaskRow>,
    pub runs: Vec<RunRow>,
}

impl Sink for MemorySink {
    fn task(&mut self, row: &TaskRow) -> io::Result<()> {
        self.tasks.push(row.clone());
        Ok(())
    }
    fn run(&mut self, row: &RunRow) -> io::Result<()> {
        self.runs.push(row.clone());
        Ok(())
    }
}
