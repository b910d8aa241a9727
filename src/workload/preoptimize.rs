//! Optimises the model's graph once per run, in a throwaway child process, so that every worker
//! loads the optimised graph instead of optimising it again. The weights go to a file beside the
//! graph (`<name>.data`, page-aligned), which ORT maps instead of parsing and copying them: a
//! ResNet-18 session then loads in ~5 ms instead of ~40 ms (pre-optimised, weights inline) or
//! ~100-200 ms (optimising). The child keeps the orchestrator free of any ORT environment (it
//! must stay fork-safe). The optimised files are hardware-specific (ORT may use this CPU's
//! NCHWc layouts), so they live in the run's results folder, never shared.

use std::path::Path;
use std::time::Instant;

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;

use super::model::ModelError;
use super::ort_lib;
use crate::proc::{self, ChildFailure};

/// Writes the optimised graph of the model at `model` to `out`; returns the seconds it took.
pub fn preoptimize(ort: &ort_lib::Found, model: &Path, out: &Path) -> Result<f64, ModelError> {
    let start = Instant::now();
    proc::in_child(|| {
        ort_lib::load(ort)
            .map_err(ModelError::from)
            .and_then(|_| optimize_here(model, out))
            .map(|_| String::new())
    })
    .map_err(|e| match e {
        ChildFailure::Died(status) => ModelError::OptimiserDied(status.describe()),
        other => ModelError::Optimiser(other.to_string()),
    })?;
    match out.is_file() {
        true => Ok(start.elapsed().as_secs_f64()),
        false => Err(ModelError::NotWritten(out.to_path_buf())),
    }
}

fn optimize_here(model: &Path, out: &Path) -> Result<(), ModelError> {
    let env = ort_lib::environment()?;
    let e = |e: ort::Error<_>| ModelError::Optimise(e.to_string());
    let name = out.file_name().and_then(|n| n.to_str()).ok_or(ModelError::NotUtf8)?;
    Session::builder(&env)
        .map_err(|e| ModelError::Builder(e.to_string()))?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(e)?
        .with_intra_threads(1)
        .map_err(e)?
        .with_optimized_model_path(out)
        .map_err(e)?
        // Relative to the graph's folder; ORT aligns large tensors so that loading can map them.
        .with_config_entry(
            "session.optimized_model_external_initializers_file_name",
            format!("{name}.data"),
        )
        .map_err(e)?
        .with_config_entry(
            "session.optimized_model_external_initializers_min_size_in_bytes",
            "1024",
        )
        .map_err(e)?
        .commit_from_file(model)
        .map_err(|e| ModelError::Optimise(e.to_string()))?;
    Ok(())
}
