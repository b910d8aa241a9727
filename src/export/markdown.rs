//! summary.md: the statistics table, where the time goes, and what it costs.

use std::fmt::Write;
use std::io;
use std::path::PathBuf;

use super::table::interval;
use super::{Exporter, Report};
use crate::envinfo::Stopped;
use crate::results_dir::ResultsDir;
use crate::summary::{CellSummary, STAGES};

/// Writes `summary.md` into a results folder.
pub struct Markdown(pub PathBuf);

impl Exporter for Markdown {
    fn report(&mut self, report: &Report) -> io::Result<Vec<PathBuf>> {
        let path = ResultsDir::at(&self.0).summary();
        std::fs::write(&path, markdown(report))?;
        Ok(vec![path])
    }
}

/// The Markdown report: the answer, the statistics table, where the time goes, and what it costs.
pub fn markdown(report: &Report) -> String {
    let (cells, preoptimize_s) = (&report.cells[..], report.preoptimize_s());
    let mut s = format!("# {}\n\n", report.title);
    if let Some(n) = report.noise() {
        let _ = writeln!(
            s,
            "This machine's timing noise: {:.0} % per {:.2} s (the coefficient of variation of {} runs of a fixed loop; the slowest took {:.2}x the fastest). A comparison must see through it: paired rounds do, and the answer says how sure it is.\n",
            n.cv * 100.0,
            n.seconds,
            n.runs,
            n.spread
        );
    }
    if let Some(why) = report.stopped() {
        let _ = writeln!(s, "Rounds until decided: {}.\n", stopped_words(why));
    }
    const INTRO: &str = "Only whole repetitions (every task ran, nothing went wrong) enter the statistics; \
the others are counted per cell below. Medians over those; the interval of the median is two order statistics of the sample, \
with the confidence the binomial distribution gives them for any continuous distribution (at least 95 % from 6 repetitions on; \
fewer repetitions reach less, and the table says how much). Speedup is T1/TN against the sequential cell with the same work: in \
paired rounds the median of the per-round ratios with the sign test's interval, otherwise the ratio of the two medians, whose \
interval divides theirs and holds with at least the stated confidence (the product of theirs). Efficiency is \
T1/(N x TN), N = workers. Outliers: repetitions whose wall time has |modified Z| > 3.5.\n\n";
    if let Some(k) = &report.by_kind {
        s += &by_kind(k);
    }
    let answer = crate::answer::text(&report.verdicts, &report.best);
    if !answer.is_empty() {
        s += "## The answer\n\nEach pair of executors on the same work and setting, compared directly: throughput ratio \
with its interval and the confidence it has at least; the winner's CPU seconds and memory (PSS peak) against the other's.\n\n";
        s += &answer;
        if report.charts.iter().any(|(name, _)| name == ResultsDir::VERDICTS_SVG) {
            s += "\n![The answer as a picture: each ratio, its interval, and the equivalence band](verdicts.svg)\n";
        }
        s += "\n## The numbers\n\n";
    }
    s += INTRO;
    s += &task_log(report);
    if let Some(secs) = preoptimize_s {
        let _ = writeln!(
            s,
            "The model's graph was optimised once for this run ({secs:.3} s), outside every wall time: each \
session loads the optimised graph. A Python session that optimises its own graph pays this inside its wall time.\n"
        );
    }
    for (heading, cells) in report.cell_tables() {
        if let Some(h) = heading {
            let _ = writeln!(s, "### {h}\n");
        }
        s += &numbers(cells);
    }
    s += &weak_scaling(&report.weak);
    if report.by_kind.is_none() {
        s += &hardware(cells);
    }
    for (heading, cells) in report.cell_tables() {
        let on = heading.map_or(String::new(), |h| format!(", {}", h.replacen("On", "on", 1)));
        s += &cost(cells, &on);
    }
    s
}

/// The statistics table: one row per cell.
fn numbers(cells: &[CellSummary]) -> String {
    let mut s = String::new();
    s += "| cell | reps | wall s (median) | mean | sd | min | max | median interval (confidence) | tasks/s | speedup [interval] confidence | efficiency [interval] | outliers | failed repetitions |\n";
    s += "|---|---:|---:|---:|---:|---:|---:|---|---:|---|---|---|---|\n";
    for c in cells {
        let failed = c.failure_note().unwrap_or_else(|| "-".into());
        let Some(st) = &c.stats else {
            let _ = writeln!(s, "| {} | 0 | no whole repetition | | | | | | | | | | {failed} |", c.id);
            continue;
        };
        let w = &st.wall_s;
        let _ = writeln!(
            s,
            "| {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | n={}: [{:.4}, {:.4}], {:.1} % | {:.2} | {} | {} | {} | {failed} |",
            c.id,
            c.reps,
            w.median,
            w.mean,
            w.std_dev,
            w.min,
            w.max,
            w.n,
            w.ci_low,
            w.ci_high,
            w.confidence * 100.0,
            st.throughput_tps.median,
            interval(&st.speedup, 2),
            interval(&st.efficiency, 2),
            if st.outliers.is_empty() {
                "-".to_string()
            } else {
                format!("{:?}", st.outliers)
            }
        );
    }
    s
}

/// Weak scaling: the work grew with the workers, so efficiency is per worker against the pool's
/// fewest workers (the loop on the same sets, above, is a different question).
fn weak_scaling(weak: &[crate::summary::Scaling]) -> String {
    if weak.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "
## Weak scaling

The work grew with the workers (a zip ties the sets to them): each cell's efficiency is its throughput per worker over the same pool's with the fewest workers, so 1 is perfect weak scaling (paired rounds: the median of per-round ratios with the sign test's interval). The speedup and efficiency above are against the loop on the same sets.

| pool | cell | workers | sets | tasks/s | efficiency per worker [interval] confidence |
|---|---|---:|---:|---:|---|
",
    );
    for w in weak {
        for (i, step) in w.steps.iter().enumerate() {
            let efficiency = match i {
                0 => "1 (the reference)".to_string(),
                _ => interval(&step.efficiency, 2),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {:.2} | {efficiency} |",
                w.label, step.id, step.workers, step.sets, step.tps
            );
        }
    }
    s
}

/// What each cell cost, and where its time goes; `on` names the kind of machine, if any.
fn cost(cells: &[CellSummary], on: &str) -> String {
    let mut s = String::new();
    s += &format!("\n## Cost{on}\n\n");
    s += "| cell | CPU s | CPU util % | peak RSS MiB (summed) | PSS MiB (end of tasks) | PSS MiB (peak, sampled) | other processes' CPU s | noisy reps | note |\n";
    s += "|---|---:|---:|---:|---:|---:|---:|---:|---|\n";
    let measured = || cells.iter().filter_map(|c| c.stats.as_ref().map(|st| (c, st)));
    for (c, st) in measured() {
        let _ = writeln!(
            s,
            "| {} | {:.3} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} |",
            c.id,
            st.cpu_s,
            st.cpu_util_pct,
            st.peak_rss_mib,
            st.pss_mib,
            st.pss_peak_mib.map_or("-".to_string(), |v| format!("{v:.1}")),
            st.other_cpu_s.map_or("-".to_string(), |v| format!("{v:.3}")),
            st.noisy_reps,
            if st.oversubscribed { "oversubscribed" } else { "" }
        );
    }
    s += &format!("\n## Where the time goes (median ms per task){on}\n\n| cell |");
    for name in STAGES {
        s += &format!(" {name} |");
    }
    s += "\n|---|";
    s += &"---:|".repeat(STAGES.len());
    s += "\n";
    for (c, st) in measured() {
        s += &format!("| {} |", c.id);
        for v in st.stage_ms {
            s += &format!(" {v:.2} |");
        }
        s += "\n";
    }
    s += "\n`wait` is the median time from the start of the task phase until a worker took the task; `ipc` is the \
process pool's round trip beyond the task's own time. Peak RSS is summed over the parent and every worker, so pages \
shared copy-on-write after fork count once per process; PSS splits them and adds up to what the pool really occupies.\n";
    s
}

/// The answer per kind of machine: one column per kind, each comparison's verdict formed within
/// it, then where the answer changes between kinds.
fn by_kind(k: &crate::answer::kinds::ByKind) -> String {
    let mut s = String::from(
        "## The answer, per kind of machine\n\nEach kind of machine answers from its own rows; no verdict pairs cells \
measured on two kinds. ",
    );
    if k.rows.is_empty() {
        s += "No two pools ran the same work on one kind of machine: nothing is compared.\n\n";
        return s;
    }
    s += "Each column is one kind's verdict (the lines below give their intervals).\n\n| comparison |";
    for kind in &k.kinds {
        let _ = write!(s, " {} |", kind.label);
    }
    s += "\n|---|";
    s += &"---|".repeat(k.kinds.len());
    s += "\n";
    for row in &k.rows {
        let _ = write!(s, "| {} |", row.title);
        for v in &row.verdicts {
            let _ = write!(s, " {} |", v.as_ref().map_or("-".into(), crate::answer::kinds::words));
        }
        s += "\n";
    }
    s += "\nWhere the answer changes between kinds of machine:\n\n";
    for c in k.change_lines() {
        let _ = writeln!(s, "- {c}");
    }
    s += "\nThe kinds:\n\n";
    for kind in &k.kinds {
        let hw = kind.hardware.as_deref().unwrap_or("hardware not recorded");
        let _ = writeln!(s, "- {}: {hw}; {} measured repetitions", kind.label, kind.reps);
    }
    s += "\n";
    s
}

/// What tasks.csv and run.log lack under `[output] task_log`, and what still counts every task.
fn task_log(report: &Report) -> String {
    let kept = match report.env.as_ref().map_or(crate::record::TaskLog::All, |e| e.task_log) {
        crate::record::TaskLog::All => return String::new(),
        crate::record::TaskLog::Failed => "only the failed tasks' rows",
        crate::record::TaskLog::None => "no task rows",
    };
    format!(
        "tasks.csv and run.log hold {kept} (`[output] task_log`): a task's own times, worker and result are \
not on disk for the others. Every figure here, and runs.csv's per-task columns (task_p50_ms, task_p95_ms, \
wait_p50_ms, the stage times), counts every task: they are computed as the tasks end, before any row is dropped.\n\n"
    )
}

/// Which kind of machine measured which cells, when more than one did (merged shards): cells
/// are compared only with cells measured on the same kind.
fn hardware(cells: &[CellSummary]) -> String {
    let mut kinds: Vec<&String> = cells.iter().flat_map(|c| &c.hardware).collect();
    kinds.sort();
    kinds.dedup();
    if kinds.len() <= 1 {
        return String::new();
    }
    let mut s = format!(
        "\n## Hardware\n\nThese cells were measured on {} kinds of machine. A speedup needs its sequential \
baseline measured on the same kind, and the answer compares executors only on the same kind; the rest are marked.\n\n",
        kinds.len()
    );
    for k in kinds {
        let on: Vec<&str> = cells
            .iter()
            .filter(|c| c.hardware.len() == 1 && &c.hardware[0] == k)
            .map(|c| c.id.as_str())
            .collect();
        let _ = writeln!(
            s,
            "- {k}: {}",
            if on.is_empty() { "-".to_string() } else { on.join(", ") }
        );
    }
    for c in cells.iter().filter_map(|c| c.hardware_note.as_ref().map(|n| (c, n))) {
        let _ = writeln!(s, "- **{}**: {}", c.0.id, c.1);
    }
    s
}

/// Why a run until decided stopped, as env.json's `stopped` names it, in words.
fn stopped_words(why: Stopped) -> &'static str {
    match why {
        Stopped::Decided => "the run stopped when every verdict was decided",
        Stopped::MaxRepetitions => "the run stopped at `max` rounds with some verdicts undecided",
        Stopped::Budget => "the run stopped because the next look's rounds would have ended past `time_budget_s`",
        Stopped::Interrupted => "the run was interrupted before it could decide (`--resume` finishes it)",
        Stopped::InputsChanged => {
            "the run stopped because a file it reads changed (`--resume` goes on once it is back)"
        }
    }
}
