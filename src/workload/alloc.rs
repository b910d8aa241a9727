//! The alloc workload, to calibrate the memory columns: each task allocates and touches a known
//! amount (`[alloc] mib`), holds it (`hold_ms`), and frees it; with `churn = N` it also makes N
//! small allocations and frees (16 B to 4 KiB, sizes drawn from the task's seed, 64 alive at a
//! time), the malloc-heavy work where threads contend on the allocator and processes do not.

use super::WorkError;
use std::any::Any;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{Context, Settings, TaskOutput, TaskState, Workload};
use crate::spec::{Section, SpecError};
use crate::task::Task;

pub struct Alloc;

/// `[alloc]` as the file spells it.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// MiB each task allocates and touches.
    #[schemars(with = "Option<u64>", range(max = 16_384), extend("default" = 64))]
    mib: Option<Spanned<i64>>,
    /// Milliseconds each task holds the block.
    #[schemars(with = "Option<u64>", range(max = 60_000), extend("default" = 50))]
    hold_ms: Option<Spanned<i64>>,
    /// Small allocations freed and made again while it holds the block.
    #[schemars(with = "Option<u64>", range(max = 1_000_000_000), extend("default" = 0))]
    churn: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Copy)]
struct Block {
    bytes: usize,
    hold: Duration,
    churn: u64,
}

impl Workload for Alloc {
    fn section_schema(&self, generator: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(<Raw as schemars::JsonSchema>::json_schema(generator))
    }

    fn name(&self) -> &'static str {
        "alloc"
    }

    fn task_ms(&self, settings: &Settings) -> f64 {
        // Holding, plus touching every page at about 4 GB/s.
        settings.get::<Block>(self.name()).map_or(100.0, |b| {
            b.hold.as_secs_f64() * 1e3 + b.bytes as f64 / 4e6 + b.churn as f64 * 5e-5
        })
    }

    fn settings(&self, section: &Section, _used: bool) -> Result<Option<Box<dyn Any + Send + Sync>>, SpecError> {
        let raw: Raw = section.parse()?;
        let f = section.fields;
        let mib = f.bounded(&section.key("mib"), &raw.mib, 64, 16_384)?;
        let hold_ms = f.bounded(&section.key("hold_ms"), &raw.hold_ms, 50, 60_000)?;
        Ok(Some(Box::new(Block {
            bytes: (mib as usize) << 20,
            hold: Duration::from_millis(hold_ms),
            churn: f.bounded(&section.key("churn"), &raw.churn, 0, 1_000_000_000)?,
        })))
    }

    fn python(&self, ctx: &Context) -> Result<Option<serde_json::Value>, WorkError> {
        let b = ctx.settings.get::<Block>(self.name())?;
        Ok(Some(
            serde_json::json!({ "mib": b.bytes >> 20, "hold_ms": b.hold.as_millis() as u64, "churn": b.churn }),
        ))
    }

    fn state(&self, ctx: &Context, _worker: usize) -> Result<Box<dyn TaskState>, WorkError> {
        Ok(Box::new(*ctx.settings.get::<Block>(self.name())?))
    }
}

impl TaskState for Block {
    fn run(&mut self, _ctx: &Context, task: &Task, _out: &mut TaskOutput) -> Result<(), WorkError> {
        // Zeroed memory comes lazily from the kernel: only the writes make it resident.
        let mut v = vec![0u8; self.bytes];
        for page in v.chunks_mut(4096) {
            page[0] = 1;
        }
        std::hint::black_box(&v);
        churn(self.churn, task.seed);
        std::thread::sleep(self.hold);
        Ok(())
    }
}

/// `n` small allocations and frees: sizes from 16 B to 4 KiB drawn from `seed`, each replacing
/// one of 64 live blocks (so frees come in another order than allocations), each block written.
fn churn(n: u64, seed: u64) {
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut live: Vec<Vec<u8>> = (0..64).map(|_| Vec::new()).collect();
    for i in 0..n {
        let r = rng.next_u64();
        let size = 16 + (r % 4081) as usize;
        let mut b = Vec::with_capacity(size);
        b.push((i & 0xff) as u8);
        live[((r >> 32) % 64) as usize] = std::hint::black_box(b);
    }
}
