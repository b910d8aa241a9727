//! The integration tests, one binary (the crate is linked once): a module per area.

mod common;

mod axes;
mod classify;
mod cli;
mod decided;
mod drills;
mod faults;
mod free_threading;
mod fuzz_seeds;
mod install;
mod matrix;
mod misbehaving;
mod own;
mod page;
mod python;
mod python_answers;
mod report;
mod scale;
mod shards;
mod slurm;
mod stops;
mod task_log;
mod verify;
