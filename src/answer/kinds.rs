//! The answer across kinds of machine (Slurm partitions, hardware): each kind's verdicts formed
//! from its own rows only, side by side per comparison, and the comparisons whose answer
//! changes between kinds. Verdicts never pair cells of two kinds.

use std::collections::BTreeMap;

use super::{verdicts, Bound, Form, Side, Verdict};
use crate::plan::Cell;
use crate::record::RunRow;
use crate::stats::Ratio;
use crate::summary::{summarize, CellSummary};

/// One kind of machine and what its rows alone say.
#[derive(Debug, Clone)]
pub struct KindAnswer {
    /// Its column's name: the partition, or the hardware where no partition tells kinds apart.
    pub label: String,
    /// CPU model, cores and memory, as its rows record them.
    pub hardware: Option<String>,
    pub cells: Vec<CellSummary>,
    /// Formed within this kind; each setting ends `, on LABEL`.
    pub verdicts: Vec<Verdict>,
    /// Measured repetitions it ran.
    pub reps: usize,
}

/// One comparison (the same two cells) on every kind: `verdicts[k]` is the kind `k`'s, if it
/// stated one.
#[derive(Debug, Clone)]
pub struct KindRow {
    /// "resize, 2 workers".
    pub setting: String,
    /// "resize, 2 workers: thread vs process".
    pub title: String,
    pub verdicts: Vec<Option<Verdict>>,
}

/// The answer per kind of machine, when rows of more than one kind were merged.
#[derive(Debug, Clone)]
pub struct ByKind {
    pub kinds: Vec<KindAnswer>,
    pub rows: Vec<KindRow>,
    /// `resize, 2 workers: thread ≈ process on a; process faster (1.31x) on b`: the comparisons
    /// whose words differ between two kinds with intervals that do not overlap.
    pub changes: Vec<String>,
}

impl ByKind {
    /// The lines under "Where the answer changes between kinds of machine": the changes, or
    /// the one line saying there are none.
    pub fn change_lines(&self) -> Vec<String> {
        match self.changes.is_empty() {
            true => vec![
                "the same on every kind (no comparison's words differ between two kinds with intervals apart)".into(),
            ],
            false => self.changes.clone(),
        }
    }
}

/// Splits `rows` by kind of machine ([`RunRow::kind`]) and answers within each; `None` when
/// they ran on one kind.
pub fn by_kind(rows: &[RunRow], bound: &Bound) -> Option<ByKind> {
    let mut groups: BTreeMap<String, Vec<RunRow>> = BTreeMap::new();
    for r in rows {
        let kind = r.kind().unwrap_or_else(|| "unknown".into());
        groups.entry(kind).or_default().push(r.clone());
    }
    if groups.len() < 2 {
        return None;
    }
    let partitions: Vec<Option<&String>> = groups.values().map(|g| g[0].m.partition.as_ref()).collect();
    let unique = partitions.iter().all(Option::is_some)
        && (1..partitions.len()).all(|i| !partitions[..i].contains(&partitions[i]));
    let kinds: Vec<KindAnswer> = groups
        .iter()
        .map(|(kind, rows)| {
            let label = match (unique, &rows[0].m.partition) {
                (true, Some(p)) => p.clone(),
                _ => kind.clone(),
            };
            let cells = summarize(rows);
            let mut verdicts = verdicts(&cells, bound);
            for v in &mut verdicts {
                v.setting += &format!(", on {label}");
                v.kind = Some(label.clone());
            }
            KindAnswer {
                hardware: rows[0].m.hardware.clone(),
                reps: rows.iter().filter(|r| !r.warmup).count(),
                label,
                cells,
                verdicts,
            }
        })
        .collect();
    let rows = side_by_side(&kinds);
    let changes = rows.iter().filter_map(|r| change(r, &kinds)).collect();
    Some(ByKind { kinds, rows, changes })
}

/// Every comparison stated on some kind, in the order the first kind that states it does.
fn side_by_side(kinds: &[KindAnswer]) -> Vec<KindRow> {
    let mut order: Vec<(Cell, Cell)> = Vec::new();
    let mut names: Vec<(String, String)> = Vec::new();
    for k in kinds {
        for v in &k.verdicts {
            if !order.contains(&(v.a, v.b)) {
                order.push((v.a, v.b));
                let setting = v.setting.trim_end_matches(&format!(", on {}", k.label));
                names.push((setting.to_string(), format!("{setting}: {} vs {}", v.a_name, v.b_name)));
            }
        }
    }
    order
        .iter()
        .zip(names)
        .map(|(pair, (setting, title))| KindRow {
            setting,
            title,
            verdicts: kinds
                .iter()
                .map(|k| k.verdicts.iter().find(|v| (v.a, v.b) == *pair).cloned())
                .collect(),
        })
        .collect()
}

/// What a verdict says, decided or not, for comparing kinds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Said {
    Faster(Side),
    Equal,
    Open,
}

fn said(v: &Verdict) -> Said {
    match v.form() {
        Some(Form::Faster(side)) => Said::Faster(side),
        Some(Form::Equal) => Said::Equal,
        _ => Said::Open,
    }
}

/// A verdict in a few words: `process faster (1.31x)`, `thread ≈ process`, `undecided (±17 %)`
/// (no difference beyond that is ruled out).
pub fn words(v: &Verdict) -> String {
    let faster = |name: &str, by: f64| format!("{name} faster ({by:.2}x)");
    match (said(v), v.ratio) {
        (Said::Faster(Side::A), Some(r)) => faster(&v.a_name, r.value),
        (Said::Faster(Side::B), Some(r)) => faster(&v.b_name, 1.0 / r.value),
        (Said::Equal, _) => format!("{} ≈ {}", v.a_name, v.b_name),
        (_, None) => "no verdict".into(),
        (_, Some(r)) => format!("undecided (±{:.0} %)", 100.0 * (1.0 - r.ci_low).max(r.ci_high - 1.0)),
    }
}

/// The line for a comparison whose answer changes between kinds, or `None`. It changes where
/// two kinds say different things (their words differ, at least one decided) with intervals
/// that do not overlap, so the difference is beyond both kinds' noise. Words that differ within
/// overlapping intervals (`≈` on one kind, a 1.04x winner on the other) are no change: each
/// kind's bounds hold the other's answer; nor are two undecided intervals apart.
fn change(row: &KindRow, kinds: &[KindAnswer]) -> Option<String> {
    let stated: Vec<(&str, &Verdict)> = kinds
        .iter()
        .zip(&row.verdicts)
        .filter_map(|(k, v)| Some((k.label.as_str(), v.as_ref()?)))
        .collect();
    let said: Vec<(Said, String, Ratio)> = stated
        .iter()
        .filter_map(|(_, v)| Some((said(v), words(v), v.ratio?)))
        .collect();
    let apart = |x: &Ratio, y: &Ratio| x.ci_high < y.ci_low || y.ci_high < x.ci_low;
    let differ = |x: &(Said, String, Ratio), y: &(Said, String, Ratio)| {
        x.1 != y.1 && (x.0 != Said::Open || y.0 != Said::Open) && apart(&x.2, &y.2)
    };
    let changes = (0..said.len()).any(|i| said[i + 1..].iter().any(|y| differ(&said[i], y)));
    if !changes {
        return None;
    }
    let per: Vec<String> = stated.iter().map(|(k, v)| format!("{} on {k}", words(v))).collect();
    Some(format!("{}: {}", row.setting, per.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::Bound;
    use crate::pools::ExecutorKind;
    use crate::testing::{cell, row};

    /// Thread at 0.5 s and process at the given wall time, 8 repetitions each, per partition.
    fn rows(kinds: &[(&str, f64)]) -> Vec<RunRow> {
        let on = |executor: &str, i: usize, wall: f64, partition: &str| {
            let mut r = row(&cell(ExecutorKind::named(executor).unwrap(), 2), i, wall, None);
            r.m.partition = Some(partition.to_string());
            r.m.hardware = Some("same".into());
            r
        };
        let mut out = Vec::new();
        for (k, process_wall) in kinds {
            for i in 0..8 {
                // A little spread, so the intervals have width.
                let jitter = 1.0 + (i as f64 - 3.5) * 0.002;
                out.push(on("thread", i, 0.5 * jitter, k));
                out.push(on("process", i, process_wall * jitter, k));
            }
        }
        out
    }

    #[test]
    fn one_kind_has_no_table() {
        assert!(by_kind(&rows(&[("a", 0.5)]), &Bound::DEFAULT).is_none());
    }

    #[test]
    fn each_kind_answers_alone_and_a_change_is_named() {
        let b = by_kind(&rows(&[("a", 0.5), ("b", 0.7)]), &Bound::DEFAULT).unwrap();
        let labels: Vec<&str> = b.kinds.iter().map(|k| k.label.as_str()).collect();
        assert_eq!(labels, ["a", "b"]);
        assert_eq!(b.rows.len(), 1, "{:?}", b.rows);
        let [Some(on_a), Some(on_b)] = &b.rows[0].verdicts[..] else {
            panic!("{:?}", b.rows)
        };
        assert_eq!(words(on_a), "thread ≈ process");
        assert_eq!(words(on_b), "thread faster (1.40x)");
        assert!(on_a.setting.ends_with(", on a") && on_b.setting.ends_with(", on b"));
        assert_eq!(
            b.changes,
            ["spin, 2 workers: thread ≈ process on a; thread faster (1.40x) on b"]
        );
    }

    #[test]
    fn the_same_answer_on_every_kind_is_no_change() {
        let b = by_kind(&rows(&[("a", 0.7), ("b", 0.7)]), &Bound::DEFAULT).unwrap();
        assert!(b.changes.is_empty(), "{:?}", b.changes);
        // One winner on both, by sizes whose intervals do not overlap: a change of size.
        let b = by_kind(&rows(&[("a", 0.7), ("b", 1.5)]), &Bound::DEFAULT).unwrap();
        assert_eq!(b.changes.len(), 1, "{:?}", b.changes);
        assert!(b.changes[0].contains("(1.40x) on a") && b.changes[0].contains("(3.00x) on b"));
        // Equal on both, by intervals apart but within the bound: the same words, no change.
        let b = by_kind(&rows(&[("a", 0.5 * 0.97), ("b", 0.5 * 1.03)]), &Bound::DEFAULT).unwrap();
        let [Some(on_a), Some(on_b)] = &b.rows[0].verdicts[..] else {
            panic!("{:?}", b.rows)
        };
        let (ra, rb) = (on_a.ratio.unwrap(), on_b.ratio.unwrap());
        assert!(ra.ci_high < rb.ci_low, "apart: {ra:?} {rb:?}");
        assert_eq!(
            (words(on_a), words(on_b)),
            ("thread ≈ process".into(), "thread ≈ process".into())
        );
        assert!(b.changes.is_empty(), "{:?}", b.changes);
    }
}
