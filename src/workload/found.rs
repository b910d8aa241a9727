//! What a run's preparation found, typed ([`RunFacts`]): the JPEG encoder, ONNX Runtime and the
//! models (classify's `prepare`), and each Python interpreter of the py-* cells (its probe).
//! env.json writes it flat, under these keys, which scripts read; the resume fingerprint reads
//! it typed. Every field has a default, so an older env.json that lacks a newer key still reads.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Everything the preparation found, as env.json's top-level keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunFacts {
    /// resize: the JPEG encoder this build has (`turbojpeg`, or the pure-Rust fallback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jpeg_encoder: Option<String>,
    /// classify: ONNX Runtime and the models.
    #[serde(flatten, default)]
    pub ort: Option<OrtFound>,
    /// The first interpreter of the py-* cells (as before there were several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<PythonFound>,
    /// Every interpreter of the py-* cells, in the order the `interpreter` axis lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interpreters: Vec<PythonFound>,
}

impl RunFacts {
    /// `other`'s facts where this holds none (the parts of a composite workload).
    pub fn add(&mut self, other: RunFacts) {
        self.jpeg_encoder = self.jpeg_encoder.take().or(other.jpeg_encoder);
        self.ort = self.ort.take().or(other.ort);
    }
}

/// ONNX Runtime as classify found it, and the models it prepared. Its library and version say
/// it is there (an env.json without them has none); the rest may be missing from an older one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrtFound {
    pub ort_library: String,
    /// How it was found (`--ort-lib`, `classify.ort_library`, the project's .deps, ...).
    #[serde(default)]
    pub ort_library_found_by: String,
    pub ort_version: String,
    #[serde(default)]
    pub models: Vec<ModelFound>,
    #[serde(default)]
    pub model_note: String,
    /// Seconds spent optimising the models' graphs once for the run (none without it).
    #[serde(default)]
    pub model_preoptimize_s: Option<f64>,
}

/// One model of the `model` axis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelFound {
    pub file: String,
    pub path: String,
    pub sha256: String,
    /// The optimised graph the workers load, when it was made.
    pub preoptimized: Option<PathBuf>,
    pub preoptimize_s: Option<f64>,
}

/// A Python interpreter of the py-* cells, as its probe printed it, and its path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PythonFound {
    pub version: String,
    pub implementation: String,
    pub build: String,
    pub free_threaded: bool,
    pub config_args: String,
    pub pgo: bool,
    pub lto: bool,
    pub shared: bool,
    pub start_method: String,
    /// The versions of what its pools may use; `None` where it lacks one.
    pub pillow: Option<String>,
    pub numpy: Option<String>,
    pub onnxruntime: Option<String>,
    #[serde(default)]
    pub path: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_is_written_flat_under_the_keys_scripts_read() {
        let found = RunFacts {
            jpeg_encoder: Some("turbojpeg".into()),
            ort: Some(OrtFound {
                ort_version: "1.31.1".into(),
                models: vec![ModelFound {
                    file: "m.onnx".into(),
                    ..ModelFound::default()
                }],
                ..OrtFound::default()
            }),
            python: None,
            interpreters: Vec::new(),
        };
        let v = serde_json::to_value(&found).unwrap();
        assert_eq!(v["jpeg_encoder"], "turbojpeg");
        assert_eq!(v["ort_version"], "1.31.1");
        assert_eq!(v["models"][0]["file"], "m.onnx");
        assert!(v.get("python").is_none() && v.get("ort").is_none());
        assert_eq!(serde_json::from_value::<RunFacts>(v).unwrap(), found);
        let none: RunFacts = serde_json::from_str("{}").unwrap();
        assert_eq!(none, RunFacts::default());
        // An older env.json: a python without its build facts, ONNX Runtime without the models.
        let old: RunFacts = serde_json::from_str(
            r#"{"python": {"version": "3.13.0"}, "ort_version": "1.20.0", "ort_library": "x.so"}"#,
        )
        .unwrap();
        assert_eq!(old.python.unwrap().version, "3.13.0");
        assert_eq!(old.ort.unwrap().ort_version, "1.20.0");
    }
}
