//! `runner`: runs declarative experiments that compare a sequential loop, a thread pool and a
//! process pool on the same seeded work, and writes what each cost.

pub mod answer;
pub mod cli;
pub mod cmd;
pub mod envinfo;
pub mod executor;
pub mod exit;
pub mod experiment;
pub mod export;
pub mod interrupt;
pub mod measure;
pub mod plan;
pub mod proc;
pub mod record;
pub mod runloop;
pub mod stats;
pub mod summary;
pub mod workload;
