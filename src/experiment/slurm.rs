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
    partitions(names).or_else(|e| cx.err("slurm.partitions", Some(slurm.span()), e))
}

/// Partition names as they go into paths and `#SBATCH` lines: letters, digits, `.`, `_` and `-`
/// (not first `.`), each named once. The error names the partition.
pub fn partitions(names: &[String]) -> Result<Vec<String>, String> {
    for (i, p) in names.iter().enumerate() {
        let ok =
            !p.is_empty() && !p.starts_with('.') && p.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !ok {
            return Err(format!(
                "{p:?}: a partition's name is letters, digits, '.', '_' and '-'"
            ));
        }
        if names[..i].contains(p) {
            return Err(format!("{p:?} is named twice"));
        }
    }
    Ok(names.to_vec())
}

#[cfg(test)]
mod tests {
    use super::partitions;

    #[test]
    fn names_go_into_paths_safely_and_once() {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            partitions(&v(&["a", "gpu-2", "x_y.z"])).unwrap(),
            v(&["a", "gpu-2", "x_y.z"])
        );
        assert!(partitions(&v(&["a b"])).unwrap_err().contains("letters, digits"));
        assert!(partitions(&v(&["../x"])).is_err());
        assert!(partitions(&v(&[""])).is_err());
        assert!(partitions(&v(&["a", "a"])).unwrap_err().contains("named twice"));
    }
}
