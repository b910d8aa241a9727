//! Outputs of a run, one file per format behind the [`Exporter`] trait: runs.csv and tasks.csv
//! ([`csv`]), run.log ([`log`]), the terminal table ([`table`]), summary.md ([`markdown`]), the
//! SVG charts ([`svg`]), report.html ([`html`]) and results.json ([`json`]). They format the
//! [`Report`], which is computed once from the run's rows (statistics, verdicts, the best
//! configurations and the charts); none computes a figure of its own.
//!
//! A new output is one new file here and one line in [`reports`] (or, for rows as they come,
//! where `cmd/run.rs` lists its streaming exporters).

pub mod csv;
pub mod forest;
mod glance;
pub mod html;
pub mod json;
pub mod log;
pub mod markdown;
mod repair;
pub mod svg;
pub mod table;

use std::io;
use std::path::{Path, PathBuf};

use crate::answer::kinds::{by_kind, ByKind};
use crate::answer::{best, verdicts, Bound, Verdict};
use crate::envinfo::{Env, Stopped};
use crate::experiment::DEFAULT_EQUIVALENCE;
use crate::record::{RunRow, TaskLog, TaskRow};
use crate::stats::adaptive::Looks;
use crate::summary::{summarize, weak, CellSummary, Scaling};

/// Everything a report is made from, computed once by [`Report::new`].
pub struct Report<'a> {
    pub title: &'a str,
    /// Every repetition's record, warm-ups included.
    pub rows: &'a [RunRow],
    /// The per-cell statistics over `rows`.
    pub cells: Vec<CellSummary>,
    /// Every comparison of two pools on the same work and setting (on rows of several kinds of
    /// machine: each kind's, formed within it).
    pub verdicts: Vec<Verdict>,
    /// Rows of several kinds of machine (Slurm partitions, hardware): the answer per kind, side
    /// by side, and where it changes.
    pub by_kind: Option<ByKind>,
    /// Per workload: the fastest and the leanest configuration.
    pub best: Vec<String>,
    /// The charts, as SVG text: (file name, document).
    pub charts: Vec<(String, String)>,
    /// The run's env.json, when it has one.
    pub env: Option<Env>,
    /// When the work grew with the workers (a zip of workers and sets): each pool's efficiency
    /// per worker against its fewest workers.
    pub weak: Vec<Scaling>,
}

impl<'a> Report<'a> {
    pub fn new(title: &'a str, rows: &'a [RunRow], env: Option<Env>) -> io::Result<Report<'a>> {
        let cells = summarize(rows);
        let bound = Bound {
            equivalence: env.as_ref().and_then(|e| e.equivalence).unwrap_or(DEFAULT_EQUIVALENCE),
            // The planned looks' round counts (a run that looked once has none).
            looks: env
                .as_ref()
                .and_then(|e| e.looks.clone())
                .map_or(Looks::SINGLE, Looks::at),
            question: env.as_ref().map(|e| e.question.clone()).unwrap_or_default(),
        };
        let by_kind = by_kind(rows, &bound);
        let (verdicts, best) = match &by_kind {
            None => (verdicts(&cells, &bound), best(&cells)),
            Some(k) => (
                k.kinds.iter().flat_map(|k| k.verdicts.iter().cloned()).collect(),
                k.kinds
                    .iter()
                    .flat_map(|k| best(&k.cells).into_iter().map(|l| format!("{l} (on {})", k.label)))
                    .collect(),
            ),
        };
        // The answer as a picture first, then the charts per workload.
        let mut charts: Vec<(String, String)> = forest::chart(&verdicts).map_err(drawing)?.into_iter().collect();
        match &by_kind {
            None => charts.extend(svg::charts(&cells).map_err(drawing)?),
            // Pooled cells would mix the kinds: each kind's charts, its label in their names.
            Some(k) => {
                for kind in &k.kinds {
                    let on: String = kind
                        .label
                        .chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || "._".contains(c) {
                                c
                            } else {
                                '-'
                            }
                        })
                        .collect();
                    for (name, svg) in svg::charts(&kind.cells).map_err(drawing)? {
                        let stem = name.trim_end_matches(".svg");
                        charts.push((format!("{stem}-on-{on}.svg"), svg));
                    }
                }
            }
        }
        let weak = match (env.as_ref().is_some_and(|e| e.weak_scaling), &by_kind) {
            (false, _) => Vec::new(),
            (true, None) => weak(&cells),
            // Within each kind: rounds of two kinds share their numbers but not a machine.
            (true, Some(k)) => k
                .kinds
                .iter()
                .flat_map(|kind| {
                    weak(&kind.cells).into_iter().map(|mut s| {
                        s.label += &format!(", on {}", kind.label);
                        s
                    })
                })
                .collect(),
        };
        Ok(Report {
            weak,
            title,
            rows,
            verdicts,
            by_kind,
            best,
            charts,
            cells,
            env,
        })
    }

    /// The per-cell statistics as tables show them: one table per kind of machine, with its
    /// heading (`On a (hardware; 120 repetitions)`), when rows of several kinds were merged;
    /// else one table of every cell.
    pub fn cell_tables(&self) -> Vec<(Option<String>, &[CellSummary])> {
        match &self.by_kind {
            None => vec![(None, &self.cells[..])],
            Some(k) => k
                .kinds
                .iter()
                .map(|kind| {
                    let hw = kind.hardware.as_deref().unwrap_or("hardware not recorded");
                    let heading = format!("On {} ({hw}; {} repetitions)", kind.label, kind.reps);
                    (Some(heading), &kind.cells[..])
                })
                .collect(),
        }
    }

    /// The machine's timing noise, measured at the start of the run.
    pub fn noise(&self) -> Option<crate::measure::Noise> {
        self.env.as_ref()?.timing_noise
    }

    /// Why a run until decided stopped (env.json's `stopped`), as the last session left it.
    pub fn stopped(&self) -> Option<Stopped> {
        self.env.as_ref()?.stopped
    }

    /// Seconds the run spent optimising the models' graphs, outside every wall time.
    pub fn preoptimize_s(&self) -> Option<f64> {
        self.env.as_ref()?.facts.ort.as_ref()?.model_preoptimize_s
    }
}

/// A chart that could not be drawn (plotters' SVG backend fails only as a write into its
/// text does), as the I/O error every exporter returns.
fn drawing(e: anyhow::Error) -> io::Error {
    io::Error::other(format!("drawing the charts: {e:#}"))
}

/// The files made from a whole run, in `dir`: every exporter of the report.
pub fn reports(dir: &Path) -> Exporters {
    Exporters(vec![
        Box::new(markdown::Markdown(dir.to_path_buf())),
        Box::new(svg::Svg(dir.to_path_buf())),
        Box::new(html::Html(dir.to_path_buf())),
        Box::new(json::Json(dir.to_path_buf())),
    ])
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
    fn report(&mut self, _report: &Report) -> io::Result<Vec<PathBuf>> {
        Ok(Vec::new())
    }
}

/// An exporter of task rows that sees only the rows `[output] task_log` keeps.
pub struct Kept<E> {
    pub log: TaskLog,
    pub inner: E,
}

impl<E: Exporter> Exporter for Kept<E> {
    fn task(&mut self, row: &TaskRow) -> io::Result<()> {
        match self.log.keeps(row) {
            true => self.inner.task(row),
            false => Ok(()),
        }
    }

    fn repetition(&mut self, run: &RunRow, tasks: &[TaskRow]) -> io::Result<()> {
        match self.log {
            TaskLog::All => self.inner.repetition(run, tasks),
            log => {
                let kept: Vec<TaskRow> = tasks.iter().filter(|t| log.keeps(t)).cloned().collect();
                self.inner.repetition(run, &kept)
            }
        }
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

    fn report(&mut self, report: &Report) -> io::Result<Vec<PathBuf>> {
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
