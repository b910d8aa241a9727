//! Outputs of a run, one file per format behind the [`Exporter`] trait: runs.csv and tasks.csv
//! ([`csv`]), run.log ([`log`]), the terminal table ([`table`]), summary.md ([`markdown`]) and
//! the SVG charts ([`svg`]) and report.html ([`html`]). Each writes from the typed records; none computes a figure.
//!
//! A new output is one new file here and one line where the command lists its exporters
//! (`cmd/run.rs` for a run, `cmd/report.rs` for `runner report`).

pub mod csv;
pub mod html;
pub mod log;
pub mod markdown;
pub mod svg;
pub mod table;

use std::io;
use std::path::PathBuf;

use crate::record::{RunRow, TaskRow};
use crate::summary::CellSummary;

/// Everything a report is made from, computed once.
pub struct Report<'a> {
    pub title: &'a str,
    /// Every repetition's record, warm-ups included.
    pub rows: &'a [RunRow],
    /// The per-cell statistics over `rows`.
    pub cells: &'a [CellSummary],
    /// Seconds the run spent optimising the model's graph, outside every wall time.
    pub preoptimize_s: Option<f64>,
}

/// Writes records somewhere. Streaming outputs implement `task` and `repetition`; reports made
/// from the whole run implement `report`.
pub trait Exporter {
    /// A task finished (logged at once; its row is committed with its repetition).
    fn task(&mut self, _row: &TaskRow) -> io::Result<()> {
        Ok(())
    }

    /// A repetition ended: its record and its tasks' records, committed together.
    fn repetition(&mut self, _run: &RunRow, _tasks: &[TaskRow]) -> io::Result<()> {
        Ok(())
    }

    /// The run's records are final; returns the files written.
    fn report(&mut self, _report: &Report) -> anyhow::Result<Vec<PathBuf>> {
        Ok(Vec::new())
    }
}

/// Several exporters as one, called in order; the first error stops the call.
#[derive(Default)]
pub struct Exporters(pub Vec<Box<dyn Exporter>>);

impl Exporter for Exporters {
    fn task(&mut self, row: &TaskRow) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|e| e.task(row))
    }

    fn repetition(&mut self, run: &RunRow, tasks: &[TaskRow]) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|e| e.repetition(run, tasks))
    }

    fn report(&mut self, report: &Report) -> anyhow::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for e in &mut self.0 {
            files.extend(e.report(report)?);
        }
        Ok(files)
    }
}

/// Keeps every record in memory (tests).
#[derive(Default)]
pub struct Collect {
    pub tasks: Vec<TaskRow>,
    pub runs: Vec<RunRow>,
}

impl Exporter for Collect {
    fn repetition(&mut self, run: &RunRow, tasks: &[TaskRow]) -> io::Result<()> {
        self.tasks.extend_from_slice(tasks);
        self.runs.push(run.clone());
        Ok(())
    }
}
