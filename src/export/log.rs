//! run.log: one human line per task, written as each task ends.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use super::Exporter;
use crate::record::TaskRow;

pub struct Log(File);

impl Log {
    pub fn open(dir: &Path) -> io::Result<Log> {
        let path = dir.join("run.log");
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map(Log)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }
}

impl Exporter for Log {
    fn task(&mut self, row: &TaskRow) -> io::Result<()> {
        writeln!(self.0, "{}", line(row))
    }
}

/// The human line for a task.
pub fn line(t: &TaskRow) -> String {
    let rep = if t.warmup {
        format!("warmup {}", t.rep)
    } else {
        format!("rep {}", t.rep)
    };
    let head = format!("{} {rep} task {} {} {} [{}]", t.cell, t.task, t.kind, t.image, t.source);
    match &t.error {
        Some(e) => format!("{head}: FAILED: {e}"),
        None => {
            let top = match (t.top1, &t.top1_label, t.top1_prob) {
                (Some(i), l, Some(p)) => format!(
                    " top1 {i}{} p={p:.4}",
                    l.as_ref().map_or(String::new(), |l| format!(" ({l})"))
                ),
                _ => String::new(),
            };
            format!("{head}: ok {:.2} ms{top}", t.ms)
        }
    }
}
