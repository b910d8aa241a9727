//! Every axis a cell is made of beside its workload, executor, shape and sets: the one list
//! ([`ALL`], in runs.csv's column order) of the axes declared where they are applied, and the
//! facts an axis asks of a cell to decide whether it applies.
//!
//! A new axis is a `static AxisDef`: a workload's in its file, a pool's in `src/pools/axes.rs`;
//! one line in [`ALL`] (and in [`ID_ORDER`]), and its row in experiments/README.md.

use crate::axis::{AxisDef, Facts};
use crate::pools::axes::{ALLOCATOR, CHUNKSIZE, GIL, MAX_TASKS_PER_CHILD, PINNING, PYTHON, QUEUE, START_METHOD};
use crate::pools::ExecutorKind;
use crate::workload::{WorkloadKind, FORMAT, FUNCTION, INTRA_OP_THREADS, MODEL, TASK_COUNTERS};

/// Every axis, in runs.csv's column order (between `threads` and `sets`).
pub static ALL: &[&AxisDef] = &[
    &INTRA_OP_THREADS,
    &PINNING,
    &ALLOCATOR,
    &FORMAT,
    &MODEL,
    &START_METHOD,
    &FUNCTION,
    &PYTHON,
    &GIL,
    &CHUNKSIZE,
    &MAX_TASKS_PER_CHILD,
    &QUEUE,
    &TASK_COUNTERS,
];

/// The order their parts stand in a cell id (before `-s<sets>`): `-q8-spawn-c8-r10-pin-jemalloc-png-m2-py2-giloff-i1`.
pub static ID_ORDER: &[&AxisDef] = &[
    &QUEUE,
    &START_METHOD,
    &CHUNKSIZE,
    &MAX_TASKS_PER_CHILD,
    &PINNING,
    &ALLOCATOR,
    &FORMAT,
    &MODEL,
    &FUNCTION,
    &PYTHON,
    &GIL,
    &INTRA_OP_THREADS,
    &TASK_COUNTERS,
];

/// The axis with this key (as `[[exclude]]` and runs.csv name it).
pub fn by_key(key: &str) -> Option<&'static AxisDef> {
    ALL.iter().copied().find(|a| a.key == key || a.column == key)
}

/// What an axis may ask of a (workload, executor) pair.
pub fn facts(workload: WorkloadKind, executor: ExecutorKind) -> Facts {
    Facts {
        workload: workload.name(),
        uses_model: workload.uses_model(),
        encodes_images: workload.encodes_images(),
        caps: executor.caps(),
        python: executor.is_python(),
    }
}

/// The axes that apply to cells of this pair.
pub fn applying(workload: WorkloadKind, executor: ExecutorKind) -> impl Iterator<Item = &'static AxisDef> {
    let f = facts(workload, executor);
    ALL.iter().copied().filter(move |a| (a.applies)(&f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_axis_is_listed_once_in_both_orders_with_distinct_keys_and_fits_a_cell() {
        assert_eq!(ALL.len(), ID_ORDER.len());
        assert!(ALL.len() <= crate::axis::MAX_AXES, "a cell's values hold every axis");
        for a in ALL {
            assert!(ID_ORDER.iter().any(|b| std::ptr::eq(*a, *b)), "{}", a.key);
            assert_eq!(ALL.iter().filter(|b| b.key == a.key || b.column == a.column).count(), 1);
        }
    }

    #[test]
    fn a_work_axis_says_its_setting_after_a_separator() {
        // A verdict's setting is the work axes' strings run together: "resize, 2 workers, png".
        use crate::axis::{Kind, Role, Value};
        for a in ALL.iter().filter(|a| a.role == Role::Work) {
            let values: Vec<Value> = match a.kind {
                Kind::Words(words) => words.iter().map(|w| Value::Word(w)).collect(),
                Kind::Count { .. } => vec![Value::Count(2), Value::Count(3)],
                Kind::Paths { .. } => vec![Value::Listed(1, "b")],
            };
            for v in values {
                if let Some(said) = (a.setting)(v) {
                    assert!(said.starts_with(", ") || said.starts_with(" x "), "{}: {said:?}", a.key);
                }
            }
        }
    }
}
