//! The sleep workload: pure waiting, like I/O (`[sleep] ms` per task).

use super::WorkError;
use std::any::Any;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{Context, Settings, TaskOutput, TaskState, Workload};
use crate::spec::{Section, SpecError};
use crate::task::Task;

pub struct Sleep;

/// `[sleep]` as the file spells it.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// Milliseconds each task sleeps.
    #[schemars(with = "Option<u64>", range(max = 60_000), extend("default" = 10))]
    ms: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Copy)]
struct Nap(Duration);

impl Workload for Sleep {
    fn section_schema(&self, generator: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(<Raw as schemars::JsonSchema>::json_schema(generator))
    }

    fn name(&self) -> &'static str {
        "sleep"
    }

    fn task_ms(&self, settings: &Settings) -> f64 {
        settings
            .get::<Nap>(self.name())
            .map_or(10.0, |n| n.0.as_secs_f64() * 1e3)
    }

    fn settings(&self, section: &Section, _used: bool) -> Result<Option<Box<dyn Any + Send + Sync>>, SpecError> {
        let raw: Raw = section.parse()?;
        let ms = section.fields.bounded(&section.key("ms"), &raw.ms, 10, 60_000)?;
        Ok(Some(Box::new(Nap(Duration::from_millis(ms)))))
    }

    fn python(&self, ctx: &Context) -> Result<Option<serde_json::Value>, WorkError> {
        let nap = ctx.settings.get::<Nap>(self.name())?.0;
        Ok(Some(serde_json::json!({ "ms": nap.as_millis() as u64 })))
    }

    fn state(&self, ctx: &Context, _worker: usize) -> Result<Box<dyn TaskState>, WorkError> {
        Ok(Box::new(*ctx.settings.get::<Nap>(self.name())?))
    }
}

impl TaskState for Nap {
    fn run(&mut self, _ctx: &Context, _task: &Task, _out: &mut TaskOutput) -> Result<(), WorkError> {
        std::thread::sleep(self.0);
        Ok(())
    }
}
