//! The spin workload: pure CPU, a fixed count of dependent integer operations per task
//! (`[spin] iterations`).

use super::WorkError;
use std::any::Any;

use serde::Deserialize;
use toml::Spanned;

use super::{Context, Settings, TaskOutput, TaskState, Workload};
use crate::spec::{Section, SpecError};
use crate::task::Task;

pub struct Spin;

/// `[spin]` as the file spells it.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// Iterations of a fixed arithmetic loop per task.
    #[schemars(with = "Option<u64>", range(min = 1), extend("default" = 3_000_000))]
    iterations: Option<Spanned<i64>>,
}

/// Iterations per task.
#[derive(Debug, Clone, Copy)]
struct Iterations(u64);

impl Workload for Spin {
    fn section_schema(&self, generator: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(<Raw as schemars::JsonSchema>::json_schema(generator))
    }

    fn name(&self) -> &'static str {
        "spin"
    }

    fn task_ms(&self, settings: &Settings) -> f64 {
        // About a nanosecond per iteration of three dependent operations.
        settings
            .get::<Iterations>(self.name())
            .map_or(3.0, |n| n.0 as f64 * 1e-6)
    }

    fn settings(&self, section: &Section, _used: bool) -> Result<Option<Box<dyn Any + Send + Sync>>, SpecError> {
        let raw: Raw = section.parse()?;
        let n = match &raw.iterations {
            Some(v) => section.fields.count(&section.key("iterations"), v)?.get() as u64,
            None => 3_000_000,
        };
        Ok(Some(Box::new(Iterations(n))))
    }

    fn python(&self, ctx: &Context) -> Result<Option<serde_json::Value>, WorkError> {
        let n = ctx.settings.get::<Iterations>(self.name())?.0;
        Ok(Some(serde_json::json!({ "iterations": n })))
    }

    fn state(&self, ctx: &Context, _worker: usize) -> Result<Box<dyn TaskState>, WorkError> {
        Ok(Box::new(*ctx.settings.get::<Iterations>(self.name())?))
    }
}

impl TaskState for Iterations {
    fn run(&mut self, _ctx: &Context, _task: &Task, _out: &mut TaskOutput) -> Result<(), WorkError> {
        spin(self.0);
        Ok(())
    }
}

/// A fixed count of dependent integer operations: pure CPU, no memory traffic.
pub fn spin(iterations: u64) -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..iterations {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}
