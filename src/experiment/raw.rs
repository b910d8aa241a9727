//! The experiment file's core keys exactly as TOML spells them: serde structs, unknown keys
//! refused. Each workload's `[section]` is its own wire struct, in its own file.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, IntoDeserializer};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::plan::{ExecutorKind, Format, Pinning, StartMethod};
use crate::workload::WorkloadKind;

/// A key that may hold one value or a list of values; a list becomes an axis.
#[derive(Debug, Clone, PartialEq)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned> de::Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(OneOrMany(out))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(|t| OneOrMany(vec![t]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(|t| OneOrMany(vec![t]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(|t| OneOrMany(vec![t]))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(|t| OneOrMany(vec![t]))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(|t| OneOrMany(vec![t]))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExperiment {
    pub name: String,
    pub description: Option<String>,
    pub workload: Spanned<OneOrMany<WorkloadKind>>,
    pub executor: Spanned<OneOrMany<ExecutorKind>>,
    pub workers: Option<Spanned<OneOrMany<i64>>>,
    pub processes: Option<Spanned<OneOrMany<i64>>>,
    pub threads: Option<Spanned<OneOrMany<i64>>>,
    pub intra_op_threads: Option<Spanned<OneOrMany<i64>>>,
    pub pinning: Option<Spanned<OneOrMany<Pinning>>>,
    pub py_start_method: Option<Spanned<OneOrMany<StartMethod>>>,
    /// The interpreter of the Python executors (default: the project's `.deps/venv`).
    pub python: Option<Spanned<String>>,
    pub sets: Option<Spanned<OneOrMany<i64>>>,
    pub repetitions: Option<Spanned<i64>>,
    pub warmup: Option<Spanned<i64>>,
    pub seed: Option<Spanned<i64>>,
    pub order: Option<Spanned<String>>,
    pub wait_for_idle_s: Option<Spanned<f64>>,
    #[serde(default)]
    pub exclude: Vec<Spanned<RawExclude>>,
    #[serde(default)]
    pub images: RawImages,
    #[serde(default)]
    pub output: RawOutput,
    #[serde(default)]
    pub limits: RawLimits,
}

/// A partial cell: every key given must match for the cell to be dropped.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawExclude {
    pub pinning: Option<Pinning>,
    pub format: Option<Format>,
    /// A model of `[classify] model`: as listed there, or its file name.
    pub model: Option<String>,
    pub processes: Option<i64>,
    pub threads: Option<i64>,
    pub workload: Option<WorkloadKind>,
    pub executor: Option<ExecutorKind>,
    pub workers: Option<i64>,
    pub intra_op_threads: Option<i64>,
    pub sets: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawImages {
    pub folders: Option<Spanned<Vec<String>>>,
    pub noise: Option<bool>,
    pub noise_size: Option<Spanned<[i64; 2]>>,
    pub max_pixels: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    pub dir: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub task_timeout_s: Option<Spanned<f64>>,
    pub repetition_timeout_s: Option<Spanned<f64>>,
    pub max_cells: Option<Spanned<i64>>,
    pub max_workers: Option<Spanned<i64>>,
}
