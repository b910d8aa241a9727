//! `runner`: runs declarative experiments that compare a sequential loop, a thread pool and a
//! process pool on the same seeded work, and writes what each cost.
//!
//! The modules, leaves first: `spec` (what an experiment file says: errors, fields), `axis` (the
//! axis model: declarations and a cell's values) and
//! `task`, `tasks`, `pools` (what each executor is, and the pool axes: plain data); `home` (where a clone's or an installed copy's companions are); `measure`, `proc`,
//! `interrupt`; `workload` and `executor` (the registries); `plan`
//! (cells, schedule, draws, shards); `experiment` (the file parsed); `isolate` (one process
//! per repetition) and `runloop`; `outcome` (how a repetition and a task ended, as data), `record`, `stats`, `summary`, `answer`; `export` (every file a run writes);
//! `session` (a run's results folder, resume, rounds until decided); `envinfo`, `exit` and `error` (the exit codes, and the one error a command ends with), `cli` and `cmd` at the edge. No module imports one that imports it.

// The docs are built with `--document-private-items` (scripts/test): they are for whoever
// works on runner, so a public item may link to a private one.
#![allow(rustdoc::private_intra_doc_links)]

pub mod answer;
pub mod axis;
pub mod cli;
pub mod cmd;
pub mod envinfo;
pub mod error;
pub mod executor;
pub mod exit;
pub mod experiment;
pub mod export;
pub mod home;
pub mod interrupt;
pub mod isolate;
#[cfg(test)]
mod layers;
pub mod measure;
pub mod outcome;
pub mod plan;
pub mod pools;
pub mod proc;
pub mod record;
pub mod results_dir;
pub mod runloop;
pub mod session;
pub mod spec;
pub mod stats;
pub mod summary;
pub mod task;
pub mod tasks;
#[cfg(test)]
mod testing;
pub mod workload;
