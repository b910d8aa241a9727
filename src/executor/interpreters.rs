//! What runs Python's pools: `interpreter = ["../.deps/venv313s/bin/python",
//! "../.deps/venv313t/bin/python"]`, one or a list (an axis of the py-* cells; default: the
//! project's venv; `python = ...` is its old name, kept where no `[python]` table stands), and
//! `gil = ["off", "on"]` for a free-threaded build (`PYTHON_GIL` for the interpreter and every
//! worker it starts). Both are runtime axes: verdicts between pools compare cells of one
//! interpreter and GIL, and the answer adds verdicts across them. What each cell's interpreter
//! is (version, build, GIL) is read inside every worker and written per row.

use crate::spec::axis::{no_check, AxisDef, Kind, Role, Value, Values};

pub static PYTHON: AxisDef = AxisDef {
    doc: "The Python that runs Python's pools (py-*): a path relative to this file, or a list (an axis; verdicts between pools compare cells of one interpreter, and the answer adds verdicts across them). Default: the project's .deps/venv, else the environment runner was installed into, else python3 on PATH.",
    key: "interpreter",
    section: None,
    column: "python",
    role: Role::Runtime,
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

pub static GIL: AxisDef = AxisDef {
    doc: "`gil = [\"off\", \"on\"]`: the GIL of a free-threaded build, turned off or on for the interpreter and every worker it starts (`PYTHON_GIL=0` or `1`); `default` leaves it as the build and its extensions make it. `off` on a build with the GIL is refused at validation. Named `-giloff`, `-gilon` in a cell id (the default adds nothing).",
    key: "gil",
    section: None,
    column: "python_gil",
    role: Role::Runtime,
    kind: Kind::Words(&["default", "off", "on"]),
    applies: |k| k.python,
    id: |v| (v != Value::Word("default")).then(|| format!("-gil{}", v.text())),
    setting: |v| (v != Value::Word("default")).then(|| format!(", GIL {}", v.text())),
    check: no_check,
};

/// What `PYTHON_GIL` a cell's interpreter gets: `Some("0")` for off, `Some("1")` for on, `None`
/// to leave the environment as it is.
pub fn python_gil(values: &Values) -> Option<&'static str> {
    match GIL.of(values)? {
        Value::Word("off") => Some("0"),
        Value::Word("on") => Some("1"),
        _ => None,
    }
}
