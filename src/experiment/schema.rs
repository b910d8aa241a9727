//! `runner schema`: the JSON Schema (draft 2020-12) of experiment files, made from the
//! declarations that parse them, so it cannot drift from the parser: the core keys' wire
//! structs (raw.rs), each axis's [`AxisDef`](crate::axis::AxisDef) (at the top level or in its
//! workload's section), each workload's section struct, `[[exclude]]`, which names core
//! keys and axes by value, and `zip`, which lists them. Cross-key rules (hybrid's processes
//! and threads, an axis given without the executors it applies to, a zip's equal lengths) are
//! the parser's alone: the README lists them.

use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

use super::raw::RawExperiment;
use crate::plan::axes;
use crate::workload::WorkloadKind;

/// The schema, as `runner schema` prints it.
pub fn schema() -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let root = generator.root_schema_for::<RawExperiment>();
    let mut root = serde_json::to_value(root).expect("a schema is JSON");
    let mut sections = Map::new();
    for w in WorkloadKind::all() {
        if let Some(s) = w.get().section_schema(&mut generator) {
            let mut s = serde_json::to_value(s).expect("a schema is JSON");
            s["description"] = json!(format!("[{}]: the {} workload's settings", w.name(), w.name()));
            sections.insert(w.name().to_string(), s);
        }
    }
    let props = root["properties"].as_object_mut().expect("an object's schema");
    for axis in axes::ALL {
        match axis.section {
            None => {
                props.insert(axis.key.to_string(), axis.schema());
            }
            Some(section) => {
                let s = sections.get_mut(section).expect("an axis's section is a workload's");
                s["properties"][axis.key] = axis.schema();
            }
        }
    }
    // `python = "..."`, the interpreter's old key, shares its name with the python workload's
    // table: either is taken.
    let table = sections.remove("python").expect("the python workload has a section");
    props.insert(
        "python".into(),
        json!({
            "description": "[python]: the python workload's settings; or, in a file without that table, the old name of `interpreter`",
            "anyOf": [table, crate::pools::axes::PYTHON.schema()]
        }),
    );
    props.extend(sections);
    let defs = generator.take_definitions(true);
    let root = root.as_object_mut().expect("an object");
    if !defs.is_empty() {
        let all = root.entry("$defs").or_insert_with(|| json!({}));
        for (k, v) in defs {
            all[k] = v;
        }
    }
    let exclude = exclude(&root["properties"], &root["$defs"]);
    root["properties"]["exclude"] = exclude;
    let zip = zip(&root["properties"], &root["$defs"]);
    root["properties"]["zip"] = zip;
    let mut root = Value::Object(root.clone());
    no_null(&mut root);
    root
}

/// Takes out what `Option` adds for JSON, `null`: TOML has none (a file leaves an option out by
/// leaving out its key).
fn no_null(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Array(types)) = o.get_mut("type") {
                types.retain(|t| t != "null");
                if let [one] = &types[..] {
                    let one = one.clone();
                    o.insert("type".into(), one);
                }
            }
            if let Some(Value::Array(any)) = o.get_mut("anyOf") {
                any.retain(|s| s != &json!({ "type": "null" }));
                if let [one] = &any[..] {
                    let one = one.clone();
                    o.remove("anyOf");
                    match one {
                        Value::Object(inner) => o.extend(inner),
                        other => {
                            o.insert("allOf".into(), json!([other]));
                        }
                    }
                }
            }
            o.values_mut().for_each(no_null);
        }
        Value::Array(a) => a.iter_mut().for_each(no_null),
        _ => {}
    }
}

/// `[[exclude]]`: tables naming some of the core keys (workload, executor, workers, processes,
/// threads, sets) and axes (by key, or by runs.csv's column where it differs), one value each.
fn exclude(props: &Value, defs: &Value) -> Value {
    let mut keys = Map::new();
    for key in ["workload", "executor", "workers", "processes", "threads", "sets"] {
        keys.insert(key.into(), one_of(&props[key], defs));
    }
    for axis in axes::ALL {
        let one = one_of(&axis.schema(), defs);
        keys.insert(axis.column.into(), one.clone());
        keys.insert(axis.key.into(), one);
    }
    json!({
        "description": "Cells to drop: each entry names some core keys and axes by one value; a cell matching all of an entry's is not run",
        "type": "array",
        "items": { "type": "object", "properties": keys, "additionalProperties": false, "minProperties": 1 }
    })
}

/// `zip`: a table of lists tying top-level keys entry by entry, or a list of such tables. That
/// the lists are of equal length is the parser's rule.
fn zip(props: &Value, defs: &Value) -> Value {
    let mut keys = Map::new();
    let list = |item: Value| {
        let mut item = item;
        let doc = item.as_object_mut().and_then(|o| o.remove("description"));
        let mut l = json!({ "type": "array", "items": item, "minItems": 1 });
        if let Some(doc) = doc {
            l["description"] = doc;
        }
        l
    };
    for key in super::zip::CORE {
        keys.insert(key.into(), list(one_of(&props[key], defs)));
    }
    for axis in axes::ALL.iter().filter(|a| a.section.is_none()) {
        keys.insert(axis.key.into(), list(one_of(&axis.schema(), defs)));
    }
    let table = json!({ "type": "object", "properties": keys, "additionalProperties": false, "minProperties": 1 });
    json!({
        "description": "Keys tied entry by entry into one axis of tuples (zip = { workers = [1, 2, 4], sets = [8, 16, 32] }): lists of equal length, not multiplied with each other; several zips as a list of tables",
        "anyOf": [table, { "type": "array", "items": table, "minItems": 1 }]
    })
}

/// The single-value branch of a one-or-many schema (an axis's, or a `$ref` to a
/// `OneOrMany_*` of `defs`), with no default (an entry names a value, it has none).
fn one_of(schema: &Value, defs: &Value) -> Value {
    let target = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => &defs[r.trim_start_matches("#/$defs/")],
        None => schema,
    };
    let first = target.get("anyOf").and_then(|a| a.get(0)).unwrap_or(target);
    let mut one = first.clone();
    if let Some(d) = schema.get("description") {
        one["description"] = d.clone();
    }
    one
}
