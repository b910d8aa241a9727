//! Where a repetition's wall time goes, as means over a cell's whole repetitions: the figures
//! a verdict's "why" line splits (`answer::why`).

use serde::Serialize;

use crate::record::RunRow;

/// Means over a cell's whole repetitions of where the wall time goes, in seconds of wall time
/// (a sum over tasks or workers divided by the workers), and of the contention counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Parts {
    pub wall_s: f64,
    /// Pool start, with a Python interpreter's start-up.
    pub start_s: f64,
    pub task_phase_s: f64,
    pub shutdown_s: f64,
    /// The tasks' own time, dispatch and IPC beyond it, workers idle at the end: each summed
    /// and divided by the workers.
    pub tasks_s: f64,
    pub ipc_s: f64,
    pub idle_s: f64,
    pub tasks: f64,
    /// Minor faults, major faults, voluntary and involuntary context switches per repetition.
    pub counters: [f64; 4],
}

impl Parts {
    pub const COUNTERS: [&'static str; 4] = [
        "minor faults",
        "major faults",
        "voluntary context switches",
        "involuntary context switches",
    ];

    pub(super) fn of(rs: &[&RunRow]) -> Parts {
        let mean = |f: &dyn Fn(&RunRow) -> f64| rs.iter().map(|r| f(r)).sum::<f64>() / rs.len().max(1) as f64;
        let per_worker = |f: &dyn Fn(&RunRow) -> f64| mean(&|r| f(r) / 1e3 / r.cell.workers().max(1) as f64);
        Parts {
            wall_s: mean(&|r| r.m.wall_s),
            start_s: mean(&|r| r.m.pool_start_s + r.m.interpreter_s),
            task_phase_s: mean(&|r| r.m.task_phase_s),
            shutdown_s: mean(&|r| r.m.shutdown_s),
            tasks_s: per_worker(&|r| r.m.tasks_ms),
            ipc_s: per_worker(&|r| r.m.ipc_ms),
            idle_s: per_worker(&|r| r.m.idle_ms),
            tasks: mean(&|r| r.m.tasks_ok as f64),
            counters: [
                mean(&|r| r.m.minflt as f64),
                mean(&|r| r.m.majflt as f64),
                mean(&|r| r.m.nvcsw as f64),
                mean(&|r| r.m.nivcsw as f64),
            ],
        }
    }
}
