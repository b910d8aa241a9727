//! run.log: one human line per task, written as each task ends.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::Exporter;
use crate::record::TaskRow;
use crate::results_dir::ResultsDir;

pub struct Log {
    file: File,
    path: PathBuf,
}

impl Log {
    pub fn open(dir: &Path) -> io::Result<Log> {
        let path = ResultsDir::at(dir).log();
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map(|file| Log {
                file,
                path: path.clone(),
            })
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }
}

impl Exporter for Log {
    fn task(&mut self, row: &TaskRow) -> io::Result<()> {
        // One write a line (`writeln!` makes two), so a line is whole and costs one call.
        let mut line = line(row);
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", self.path.display())))
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
    let line = match &t.error {
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
    };
    if t.leaked == 0 {
        return line;
    }
    format!(
        "{line}; LEAKED: its program left {} running, killed: {}",
        plural(t.leaked, "process", "processes"),
        t.leaked_processes.join(", ")
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_names_the_file() {
        // /dev/full accepts the open and fails every write with ENOSPC.
        let mut log = Log {
            file: OpenOptions::new().append(true).open("/dev/full").unwrap(),
            path: PathBuf::from("/results/run.log"),
        };
        let row = crate::record::TaskRow {
            cell: "c".into(),
            rep: 0,
            warmup: false,
            task: 0,
            seed: 0,
            kind: crate::workload::WorkloadKind::named("spin").unwrap(),
            source: String::new(),
            image: String::new(),
            status: crate::record::Status::Ok,
            ms: 1.0,
            wait_ms: 0.0,
            ipc_ms: 0.0,
            worker: None,
            decode_ms: 0.0,
            resize_ms: 0.0,
            encode_ms: 0.0,
            save_ms: 0.0,
            preprocess_ms: 0.0,
            inference_ms: 0.0,
            top1: None,
            top1_label: None,
            top1_prob: None,
            result: None,
            cpus: String::new(),
            minflt: None,
            majflt: None,
            nvcsw: None,
            nivcsw: None,
            leaked: 0,
            leaked_processes: Vec::new(),
            error: None,
        };
        let e = log.task(&row).unwrap_err().to_string();
        assert!(e.contains("/results/run.log") && e.contains("No space left"), "{e}");
    }
}
