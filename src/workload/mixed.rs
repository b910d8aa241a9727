//! The mixed workload: every drawn image is resized in one task and classified in another, in an
//! order shuffled by the repetition's seed. It has no settings of its own: its parts' apply.

use super::WorkError;
use super::{Context, TaskState, Workload};

pub struct Mixed;

impl Workload for Mixed {
    fn name(&self) -> &'static str {
        "mixed"
    }

    fn parts(&self) -> &'static [&'static str] {
        &["resize", "classify"]
    }

    fn state(&self, _ctx: &Context, _worker: usize) -> Result<Box<dyn TaskState>, WorkError> {
        Err("mixed runs its parts' tasks; it has no state of its own"
            .to_string()
            .into())
    }
}
