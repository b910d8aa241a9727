//! A classifier's ONNX Runtime session and its input: preprocessing (resize, scale, normalise,
//! NCHW), inference and the top-1.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use fast_image_resize::Resizer;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;

use super::classify::{ClassifySettings, ModelSource};
use super::image::{load_input, resample, ImageError, Pixels};
use super::ort_lib::{self, OrtError};
use super::{Context, Stages, Top1};
use crate::measure::ms;
use crate::task::Task;

/// Why a model could not be prepared, loaded or run; a task's failure says it in these words.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Ort(#[from] OrtError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("no model {} in [classify] model", .0 + 1)]
    NoModel(usize),
    #[error("cannot create an ORT session builder: {0}")]
    Builder(String),
    #[error("cannot create the ORT session for {}: {message}", model.display())]
    Session { model: PathBuf, message: String },
    #[error("cannot load {what} {}: {message}", path.display())]
    Load {
        what: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("bad input tensor: {0}")]
    Tensor(String),
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("unexpected model output: {0}")]
    Output(String),
    #[error("the model returned no scores")]
    NoScores,
    #[error("cannot optimise the model: {0}")]
    Optimise(String),
    #[error("the optimised model needs a UTF-8 file name")]
    NotUtf8,
    /// The child that optimised the graph died doing so.
    #[error("the optimising process {0}")]
    OptimiserDied(String),
    /// The child that optimised the graph could not start, or said why it failed.
    #[error("{0}")]
    Optimiser(String),
    #[error("the optimising process wrote no {}", .0.display())]
    NotWritten(PathBuf),
}

/// A task's or a worker's failure travels on as words (across processes).
impl From<ModelError> for String {
    fn from(e: ModelError) -> String {
        e.to_string()
    }
}

/// One ORT session with its input buffer; `Session::run` takes `&mut self`, so each worker owns one.
pub struct Model {
    src: Arc<ModelSource>,
    session: Session,
    input: Vec<f32>,
}

impl Model {
    pub fn new(src: Arc<ModelSource>, intra_op_threads: usize) -> Result<Model, ModelError> {
        let env = ort_lib::environment()?;
        let e = |e: ort::Error<_>| ModelError::Session {
            model: src.model.clone(),
            message: e.to_string(),
        };
        let mut builder = Session::builder(&env)
            .map_err(|e| ModelError::Builder(e.to_string()))?
            .with_optimization_level(if src.optimized.is_some() {
                GraphOptimizationLevel::Disable
            } else {
                GraphOptimizationLevel::All
            })
            .map_err(e)?
            .with_intra_threads(intra_op_threads)
            .map_err(e)?
            .with_inter_threads(1)
            .map_err(e)?;
        // From the file (the optimised graph, or the model itself): ORT finds the optimised
        // graph's weights beside it and maps them, and no process holds the model's bytes
        // before it needs them.
        let (path, what) = match &src.optimized {
            Some(path) => (path, "the optimised model"),
            None => (&src.model, "the model"),
        };
        let session = builder.commit_from_file(path).map_err(|e| ModelError::Load {
            what,
            path: path.clone(),
            message: e.to_string(),
        })?;
        Ok(Model {
            src,
            session,
            input: Vec::new(),
        })
    }

    pub fn classify(
        &mut self,
        ctx: &Context,
        task: &Task,
        resizer: &mut Resizer,
        stages: &mut Stages,
    ) -> Result<Top1, ModelError> {
        let t = Instant::now();
        let px = load_input(&task.input, ctx.max_pixels)?;
        stages.decode_ms += ms(t.elapsed());

        let t = Instant::now();
        preprocess_into(resizer, &px, &self.src.settings, &mut self.input)?;
        stages.preprocess_ms += ms(t.elapsed());

        let t = Instant::now();
        let logits = self.infer()?;
        let (index, prob) = top1(&logits).ok_or(ModelError::NoScores)?;
        stages.inference_ms += ms(t.elapsed());
        let label = self.src.labels.as_ref().and_then(|l| l.get(index).cloned());
        Ok(Top1 { index, label, prob })
    }

    /// Runs the model on the current input buffer and returns the first output's values.
    pub fn infer(&mut self) -> Result<Vec<f32>, ModelError> {
        let (w, h) = self.src.settings.input;
        let shape = [1usize, 3, h as usize, w as usize];
        let tensor =
            TensorRef::from_array_view((shape, &self.input[..])).map_err(|e| ModelError::Tensor(e.to_string()))?;
        let outputs = self
            .session
            .run(ort::inputs![tensor])
            .map_err(|e| ModelError::Inference(e.to_string()))?;
        let (_, logits) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|e| ModelError::Output(e.to_string()))?;
        Ok(logits.to_vec())
    }

    /// Replaces the input buffer (for checks against a reference tensor).
    pub fn set_input(&mut self, input: Vec<f32>) {
        self.input = input;
    }
}

/// Resizes to the model's input size, scales to [0, 1], normalises with mean/std and lays the
/// result out as NCHW float32 in `out` (reused between tasks).
pub fn preprocess_into(
    resizer: &mut Resizer,
    px: &Pixels,
    s: &ClassifySettings,
    out: &mut Vec<f32>,
) -> Result<(), ImageError> {
    let (w, h) = s.input;
    let resized;
    let rgb = if (px.width, px.height) == (w, h) {
        &px.rgb
    } else {
        resized = resample(resizer, px, w, h, s.filter)?;
        &resized
    };
    let plane = (w * h) as usize;
    out.clear();
    out.resize(3 * plane, 0.0);
    let (r, rest) = out.split_at_mut(plane);
    let (g, b) = rest.split_at_mut(plane);
    let scale: [f32; 3] = std::array::from_fn(|c| 1.0 / (255.0 * s.std[c]));
    let shift: [f32; 3] = std::array::from_fn(|c| s.mean[c] / s.std[c]);
    for (i, p) in rgb.chunks_exact(3).enumerate() {
        r[i] = p[0] as f32 * scale[0] - shift[0];
        g[i] = p[1] as f32 * scale[1] - shift[1];
        b[i] = p[2] as f32 * scale[2] - shift[2];
    }
    Ok(())
}

/// Index and softmax probability of the largest score.
pub fn top1(logits: &[f32]) -> Option<(usize, f32)> {
    let (index, &max) = logits.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    let sum: f64 = logits.iter().map(|&x| ((x - max) as f64).exp()).sum();
    Some((index, (1.0 / sum) as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top1_is_the_argmax_with_its_softmax() {
        let (i, p) = top1(&[0.0, 2.0, 0.0]).unwrap();
        assert_eq!(i, 1);
        let expect = 2f32.exp() / (2.0 + 2f32.exp());
        assert!((p - expect).abs() < 1e-6);
        assert_eq!(top1(&[]), None);
    }
}
