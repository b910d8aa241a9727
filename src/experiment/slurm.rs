//! `[slurm]`: what `runner slurm` reads from the file, the partitions (kinds of machine) each of
//! which runs the whole matrix; the run itself ignores it.

use super::raw::RawExperiment;
use crate::spec::{Fields, SpecError};

/// `[slurm] partitions`, checked; empty when the file names none.
pub(super) fn parse(cx: &Fields, raw: &RawExperiment) -> Result<Vec<String>, SpecError> {
    let Some(slurm) = &raw.slurm else {
        return Ok(Vec::new());
    };
    let names = &slurm.get_ref().partitions;
    if names.is_empty() {
        return cx.err(
            "slurm.partitions",
            Some(slurm.span()),
            "must name at least one partition",
        );
    }
    partitions(names).or_else(|e| cx.err("slurm.partitions", Some(slurm.span()), e.to_string()))
}

/// A partition's name that cannot go into a path or an `#SBATCH` line, or is named twice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadPartition {
    #[error("{0:?}: a partition's name is letters, digits, '.', '_' and '-'")]
    Name(String),
    #[error("{0:?} is named twice")]
    Twice(String),
}

/// Partition names as they go into paths and `#SBATCH` lines: letters, digits, `.`, `_` and `-`
/// (not first `.`), each named once. The error names the partition.
pub fn partitions(names: &[String]) -> Result<Vec<String>, BadPartition> {
    for (i, p) in names.iter().enumerate() {
        let ok =
            !p.is_empty() && !p.starts_with('.') && p.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !ok {
            return Err(BadPartition::Name(p.clone()));
        }
        if names[..i].contains(p) {
            return Err(BadPartition::Twice(p.clone()));
        }
    }
    Ok(names.to_vec())
}

#[cfg(test)]
mod tests {
    use super::{partitions, BadPartition};

    #[test]
    fn names_go_into_paths_safely_and_once() {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            partitions(&v(&["a", "gpu-2", "x_y.z"])).unwrap(),
            v(&["a", "gpu-2", "x_y.z"])
        );
        assert_eq!(partitions(&v(&["a b"])), Err(BadPartition::Name("a b".into())));
        assert!(partitions(&v(&["a b"]))
            .unwrap_err()
            .to_string()
            .contains("letters, digits"));
        assert!(partitions(&v(&["../x"])).is_err());
        assert!(partitions(&v(&[""])).is_err());
        assert!(partitions(&v(&["a", "a"]))
            .unwrap_err()
            .to_string()
            .contains("named twice"));
    }
}
