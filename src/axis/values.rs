//! A cell's axis values ([`Values`]): each under its axis ([`AxisId`]), sorted, in a fixed
//! array, so a cell stays `Copy` and two cells with the same values are equal and hash alike.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use super::{AxisDef, Value};

/// Most axes a cell can hold (`plan::axes` checks that its list of axes fits).
pub const MAX: usize = 16;

/// An axis as a cell's values name it: its declaration. Two are the same axis when their keys
/// are (the list of axes holds each key once); equality, order and hash go by the key, so a
/// cell's values sort the same in every process.
#[derive(Clone, Copy)]
pub struct AxisId(pub &'static AxisDef);

impl PartialEq for AxisId {
    fn eq(&self, other: &AxisId) -> bool {
        self.0.key == other.0.key
    }
}

impl Eq for AxisId {}

impl PartialOrd for AxisId {
    fn partial_cmp(&self, other: &AxisId) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for AxisId {
    fn cmp(&self, other: &AxisId) -> Ordering {
        self.0.key.cmp(other.0.key)
    }
}

impl Hash for AxisId {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.key.hash(h)
    }
}

impl std::fmt::Debug for AxisId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.key)
    }
}

/// A cell's axis values, each under its axis; an axis that does not apply has none. Kept
/// sorted by axis, so two cells with the same values are equal (and hash alike) whatever order
/// the values were set in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Values([Option<(AxisId, Value)>; MAX]);

impl Values {
    /// The value `axis` holds here, if it applies.
    pub fn get(&self, axis: &AxisDef) -> Option<Value> {
        self.0
            .iter()
            .flatten()
            .find(|(k, _)| k.0.key == axis.key)
            .map(|(_, v)| *v)
    }

    /// Sets (or replaces) the value of `axis`.
    pub fn set(&mut self, axis: &'static AxisDef, v: Value) {
        let id = AxisId(axis);
        let slot = match self.0.iter().position(|e| e.is_some_and(|(k, _)| k == id)) {
            Some(i) => i,
            // Unreachable while the list of axes fits (a test in plan::axes checks it).
            None => self
                .0
                .iter()
                .position(Option::is_none)
                .unwrap_or_else(|| panic!("a cell holds at most {MAX} axes")),
        };
        self.0[slot] = Some((id, v));
        // Entries first, by axis; the empty slots after them.
        self.0.sort_by(|a, b| match (a, b) {
            (Some(a), Some(b)) => a.0.cmp(&b.0),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        });
    }

    /// Keeps only the entries of the axes `keep` accepts.
    pub fn retain(&mut self, keep: impl Fn(&'static AxisDef) -> bool) {
        let kept: Vec<(AxisId, Value)> = self.0.iter().flatten().copied().filter(|(k, _)| keep(k.0)).collect();
        self.0 = [None; MAX];
        for (k, v) in kept {
            self.set(k.0, v);
        }
    }

    /// Each axis with its value, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&'static AxisDef, Value)> + '_ {
        self.0.iter().flatten().map(|(k, v)| (k.0, *v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::axis::{no_check, Kind, Role};

    const PIN: AxisDef = AxisDef {
        doc: "",
        key: "pinning",
        section: None,
        column: "pinning",
        role: Role::Work,
        kind: Kind::Words(&["none", "cores"]),
        applies: |_| true,
        id: |_| None,
        setting: |_| None,
        check: no_check,
    };
    static PINNING: AxisDef = PIN;
    static THREADS: AxisDef = AxisDef {
        key: "intra_op_threads",
        column: "intra_op_threads",
        kind: Kind::Count {
            default: 1,
            min: 1,
            max: 8,
        },
        ..PIN
    };

    #[test]
    fn values_describe_themselves() {
        let mut v = Values::default();
        v.set(&PINNING, Value::Word("cores"));
        v.set(&THREADS, Value::Count(2));
        v.set(&PINNING, Value::Word("none"));
        assert_eq!(v.get(&PINNING), Some(Value::Word("none")));
        assert_eq!(v.iter().count(), 2);
        let mut w = Values::default();
        w.set(&THREADS, Value::Count(2));
        w.set(&PINNING, Value::Word("none"));
        assert_eq!(v, w, "the same values in another order are equal");
        assert_eq!(
            v.iter().map(|(a, _)| a.key).collect::<Vec<_>>(),
            ["intra_op_threads", "pinning"],
            "by key"
        );
        v.retain(|a| a.key != "pinning");
        assert_eq!(v.get(&PINNING), None);
        assert_eq!(v.get(&THREADS), Some(Value::Count(2)));
    }
}
