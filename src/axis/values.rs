//! A cell's axis values ([`Values`]): each under its axis's key, sorted, in a fixed array, so a
//! cell stays `Copy` and two cells with the same values are equal and hash alike.

use super::Value;

/// Most axes a cell can hold.
const MAX: usize = 16;

/// A cell's axis values, each under its axis's key; an axis that does not apply has none. Kept
/// sorted by key, so two cells with the same values are equal (and hash alike) whatever order
/// the values were set in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Values([Option<(&'static str, Value)>; MAX]);

impl Values {
    pub fn get(&self, key: &str) -> Option<Value> {
        self.0.iter().flatten().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// Sets (or replaces) the value of `key`.
    pub fn set(&mut self, key: &'static str, v: Value) {
        let slot = match self.0.iter().position(|e| e.is_some_and(|(k, _)| k == key)) {
            Some(i) => i,
            None => self
                .0
                .iter()
                .position(Option::is_none)
                .unwrap_or_else(|| panic!("a cell holds at most {MAX} axes")),
        };
        self.0[slot] = Some((key, v));
        // Entries first, by key; the empty slots after them.
        self.0.sort_by(|a, b| match (a, b) {
            (Some(a), Some(b)) => a.0.cmp(b.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
    }

    /// Keeps only the entries `keep` accepts.
    pub fn retain(&mut self, keep: impl Fn(&'static str) -> bool) {
        let kept: Vec<(&'static str, Value)> = self.0.iter().flatten().copied().filter(|(k, _)| keep(k)).collect();
        self.0 = [None; MAX];
        for (k, v) in kept {
            self.set(k, v);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, Value)> + '_ {
        self.0.iter().flatten().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_describe_themselves() {
        let mut v = Values::default();
        v.set("pinning", Value::Word("cores"));
        v.set("intra_op_threads", Value::Count(2));
        v.set("pinning", Value::Word("none"));
        assert_eq!(v.get("pinning"), Some(Value::Word("none")));
        assert_eq!(v.iter().count(), 2);
        let mut w = Values::default();
        w.set("intra_op_threads", Value::Count(2));
        w.set("pinning", Value::Word("none"));
        assert_eq!(v, w, "the same values in another order are equal");
        v.retain(|k| k != "pinning");
        assert_eq!(v.get("pinning"), None);
        assert_eq!(v.get("intra_op_threads"), Some(Value::Count(2)));
    }
}
