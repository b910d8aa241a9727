//! `runner`: runs declarative experiments that compare a sequential loop, a thread pool and a
//! process pool on the same seeded work, and writes what each cost.

pub mod app;
pub mod cli;
pub mod draw;
pub mod executor;
pub mod interrupt;
pub mod isolate;
pub mod measure;
pub mod plan;
pub mod report;
pub mod runner;
pub mod sink;
pub mod spec;
pub mod stats;
pub mod summary;
pub mod workload;
