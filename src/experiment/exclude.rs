//! `[[exclude]]`: each entry names some of the core keys (workload, executor, workers,
//! processes, threads, sets) and axes, by value; a cell matching all of an entry's is dropped.

use std::num::NonZeroUsize;

use serde::Deserialize;
use toml::de::{DeValue, ValueDeserializer};
use toml::Spanned;

use crate::axis::AxisId;
use crate::plan::{axes, Axes, Exclude};
use crate::pools::ExecutorKind;
use crate::spec::{Fields, SpecError};
use crate::workload::WorkloadKind;

/// `[[exclude]]` entries: each names some of the core keys and axes, by value.
pub(super) fn exclude(cx: &Fields, v: &Spanned<DeValue>, axes: &Axes) -> Result<Vec<Exclude>, SpecError> {
    let DeValue::Array(entries) = v.get_ref() else {
        return cx.err("exclude", Some(v.span()), "must be an array of tables ([[exclude]])");
    };
    entries.iter().map(|e| entry(cx, "exclude", e, axes)).collect()
}

/// One entry, a partial cell (also a zip's entry, `what` = "zip", in errors' keys).
pub(super) fn entry(cx: &Fields, what: &str, e: &Spanned<DeValue>, axes: &Axes) -> Result<Exclude, SpecError> {
    let DeValue::Table(t) = e.get_ref() else {
        return cx.err(what, Some(e.span()), "each entry must be a table ([[exclude]])");
    };
    let mut x = Exclude::default();
    for (k, v) in t.iter() {
        let key = format!("{what}.{}", k.get_ref());
        let count = |v: &Spanned<DeValue>| -> Result<NonZeroUsize, SpecError> {
            let n = i64::deserialize(ValueDeserializer::from(v.clone())).map_err(|e| cx.toml_error(Some(&key), &e))?;
            cx.count(&key, &Spanned::new(v.span(), n))
        };
        let de = || ValueDeserializer::from(v.clone());
        match k.get_ref().as_ref() {
            "workload" => {
                x.workload = Some(WorkloadKind::deserialize(de()).map_err(|e| cx.toml_error(Some(&key), &e))?)
            }
            "executor" => {
                x.executor = Some(ExecutorKind::deserialize(de()).map_err(|e| cx.toml_error(Some(&key), &e))?)
            }
            "workers" => x.workers = Some(count(v)?),
            "processes" => x.processes = Some(count(v)?),
            "threads" => x.threads = Some(count(v)?),
            "sets" => x.sets = Some(count(v)?),
            other => match axes::by_key(other) {
                Some(axis) => x.values.push((AxisId(axis), axis.exclude(cx, v, axes.of(axis.key))?)),
                None => {
                    let mut known = vec!["workload", "executor", "workers", "processes", "threads", "sets"];
                    known.extend(axes::ALL.iter().map(|a| a.key));
                    return cx.err(
                        &key,
                        Some(v.span()),
                        format!("unknown key; an exclude entry names some of {}", known.join(", ")),
                    );
                }
            },
        }
    }
    if x == Exclude::default() {
        return cx.err("exclude", Some(e.span()), "an exclude entry must name at least one key");
    }
    Ok(x)
}
