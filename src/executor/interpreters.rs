//! `python = ["../.deps/venv/bin/python", "../.deps/venv313/bin/python"]`: the interpreter of
//! Python's pools, one or a list (an axis of the py-* cells; default: the project's venv).
//! Verdicts compare cells of one interpreter; a cell id names the second and later ones
//! (`-py2`). What each cell's interpreter is (version, implementation, GIL) is read inside a
//! worker and written per row.

use crate::spec::axis::{no_check, AxisDef, Kind, Role, Value};

pub static PYTHON: AxisDef = AxisDef {
    key: "python",
    section: None,
    column: "python",
    role: Role::Work,
    kind: Kind::Paths {
        default: "../.deps/venv/bin/python",
    },
    applies: |k| k.python,
    id: |v| match v {
        Value::Listed(i, _) if i > 0 => Some(format!("-py{}", i + 1)),
        _ => None,
    },
    setting: |v| Some(format!(", {}", v.text())),
    check: no_check,
};
