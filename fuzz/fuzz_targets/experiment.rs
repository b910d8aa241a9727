//! Any text as an experiment file: parsing and validation return a value or an error, never
//! panic, and a valid experiment expands to at most the product of its axes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runner::experiment::{Experiment, Overrides};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Inside the repository's experiments folder, so `assets/...` paths in the corpus resolve.
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../experiments/fuzz.toml"));
    let Ok(exp) = Experiment::from_text(path, text, &Overrides::default()) else { return };
    let a = &exp.axes;
    let product = [a.workload.len(), a.executor.len(), a.workers.len(), a.intra_op_threads.len(), a.sets.len()]
        .iter()
        .fold(1u64, |acc, &n| acc.saturating_mul(n as u64));
    // `limits.max_cells` may raise the cap; keep the fuzzer's memory bounded.
    if product <= 100_000 {
        let cells = runner::plan::expand(&exp.axes, &exp.exclude);
        assert!(cells.len() as u64 <= product, "{} cells from axes of product {product}", cells.len());
    }
});
