//! The pinning axis: `pinning = ["none", "cores"]`, applied by every pool as it starts each
//! worker (thread, process or hybrid thread): worker i runs only on core i mod N of the N cores
//! the runner may use (its own affinity mask); the sequential baseline on the first.

use super::Job;
use crate::proc;
use crate::spec::axis::{AxisDef, Kind, Role, Value};

pub static PINNING: AxisDef = AxisDef {
    doc: "`pinning`: part of the work (a pinned pool is compared with pinned pools and the pinned loop); `cores` names cells `...-pin-...`.",
    key: "pinning",
    section: None,
    column: "pinning",
    role: Role::Work,
    kind: Kind::Words(&["none", "cores"]),
    applies: |_| true,
    id: |v| (v == Value::Word("cores")).then(|| "-pin".to_string()),
    setting: |v| (v == Value::Word("cores")).then(|| ", pinned".to_string()),
    check: |values| {
        if values.contains(&Value::Word("cores")) {
            proc::can_pin().map_err(|why| format!("\"cores\" is not possible on this machine: {why}"))
        } else {
            Ok(())
        }
    },
};

/// The cores to deal workers onto, when the job's cell is pinned.
pub fn cores(job: &Job) -> Option<Vec<usize>> {
    (PINNING.word_of(&job.ctx.values) == "cores").then(proc::allowed_cores)
}

/// With pinning, puts the calling thread on the core of worker `index`.
pub fn pin(job: &Job, index: usize) -> Result<(), String> {
    match cores(job) {
        Some(cores) if !cores.is_empty() => proc::pin_to(cores[index % cores.len()]),
        _ => Ok(()),
    }
}
