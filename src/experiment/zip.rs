//! `zip = { workers = [1, 2, 4], sets = [8, 16, 32] }` (or a list of such tables): keys tied
//! entry by entry into one axis of tuples. [`take`] checks the lists and hands each key its
//! distinct values where the key's own parser reads them; [`entries`] then reads entry `i` of
//! every list as a partial cell (as `[[exclude]]` does), which the plan's expansion keeps.

use std::borrow::Cow;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::plan::{axes, Axes, Zip};
use crate::spec::{Fields, SpecError};

/// The core keys a zip may tie; besides them, any axis set at the top level.
pub(super) const CORE: [&str; 6] = ["workload", "executor", "workers", "processes", "threads", "sets"];

/// A zip as the file wrote it: its keys, each with its list, all of one length.
pub(super) struct Written<'a> {
    span: Range<usize>,
    lists: Vec<(&'static str, Vec<Spanned<DeValue<'a>>>)>,
}

/// Takes `zip` out of the file, checks it (known keys, lists of equal length, each key given
/// in one place), and puts each key's distinct values, in order, at the top level.
pub(super) fn take<'a>(cx: &Fields, doc: &mut Spanned<DeTable<'a>>) -> Result<Vec<Written<'a>>, SpecError> {
    let Some(v) = doc.get_mut().remove("zip") else {
        return Ok(Vec::new());
    };
    let tables: Vec<Spanned<DeValue<'a>>> = match v.get_ref() {
        DeValue::Table(_) => vec![v],
        DeValue::Array(items) if !items.is_empty() => items.iter().cloned().collect(),
        _ => {
            return cx.err(
                "zip",
                Some(v.span()),
                "must be a table of lists of equal length (zip = { workers = [1, 2], sets = [8, 16] }), or a list of such tables",
            )
        }
    };
    let mut out: Vec<Written> = Vec::new();
    for t in tables {
        let written = one(cx, &t, &out)?;
        for (key, list) in &written.lists {
            if let Some((k, _)) = doc.get_ref().get_key_value(*key) {
                return cx.err(
                    &format!("zip.{key}"),
                    Some(k.span()),
                    format!("`{key}` is also set outside the zip; give a key in one place"),
                );
            }
            let mut seen: Vec<String> = Vec::new();
            let distinct: toml::de::DeArray = list
                .iter()
                .filter(|x| {
                    let text = format!("{:?}", x.get_ref());
                    let new = !seen.contains(&text);
                    seen.push(text);
                    new
                })
                .cloned()
                .collect();
            let at = written.span.clone();
            doc.get_mut().insert(
                Spanned::new(at.clone(), Cow::Borrowed(*key)),
                Spanned::new(at, DeValue::Array(distinct)),
            );
        }
        out.push(written);
    }
    Ok(out)
}

/// One zip table: its keys known and not in an earlier zip, each a non-empty list, all of one
/// length.
fn one<'a>(cx: &Fields, t: &Spanned<DeValue<'a>>, earlier: &[Written]) -> Result<Written<'a>, SpecError> {
    let DeValue::Table(table) = t.get_ref() else {
        return cx.err("zip", Some(t.span()), "each zip must be a table of lists");
    };
    let mut lists: Vec<(&'static str, Vec<Spanned<DeValue<'a>>>)> = Vec::new();
    for (k, v) in table.iter() {
        let name = k.get_ref().as_ref();
        let at = format!("zip.{name}");
        let key = CORE.iter().copied().find(|c| *c == name).or_else(|| {
            axes::by_key(name)
                .filter(|a| a.section.is_none() && a.key == name)
                .map(|a| a.key)
        });
        let Some(key) = key else {
            let mut known: Vec<&str> = CORE.to_vec();
            known.extend(axes::ALL.iter().filter(|a| a.section.is_none()).map(|a| a.key));
            return cx.err(
                &at,
                Some(k.span()),
                format!("a zip ties top-level keys: some of {}", known.join(", ")),
            );
        };
        if earlier.iter().any(|w| w.lists.iter().any(|(k, _)| *k == key)) {
            return cx.err(
                &at,
                Some(k.span()),
                format!("`{key}` is in two zips; a key is tied in one"),
            );
        }
        match v.get_ref() {
            DeValue::Array(items) if !items.is_empty() => lists.push((key, items.iter().cloned().collect())),
            _ => return cx.err(&at, Some(v.span()), "must be a non-empty list of values, one per entry"),
        }
    }
    let Some((first, list)) = lists.first() else {
        return cx.err("zip", Some(t.span()), "a zip must tie at least one key");
    };
    if let Some((key, other)) = lists.iter().find(|(_, l)| l.len() != list.len()) {
        return cx.err(
            &format!("zip.{key}"),
            Some(t.span()),
            format!(
                "has {} values and `{first}` has {}; a zip pairs its lists entry by entry, so they must be of equal length",
                other.len(),
                list.len()
            ),
        );
    }
    Ok(Written { span: t.span(), lists })
}

/// Each zip's entries as partial cells, read as an `[[exclude]]` entry is (a value not among
/// the key's values cannot occur: they were taken from the zip).
pub(super) fn entries(cx: &Fields, written: &[Written], axes: &Axes) -> Result<Vec<Zip>, SpecError> {
    written
        .iter()
        .map(|w| {
            let len = w.lists.first().map_or(0, |(_, l)| l.len());
            let entries = (0..len)
                .map(|i| {
                    let mut t = DeTable::new();
                    for (key, list) in &w.lists {
                        t.insert(Spanned::new(w.span.clone(), Cow::Borrowed(*key)), list[i].clone());
                    }
                    super::exclude::entry(cx, "zip", &Spanned::new(w.span.clone(), DeValue::Table(t)), axes)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Zip {
                keys: w.lists.iter().map(|(k, _)| *k).collect(),
                entries,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::experiment::{Experiment, Overrides};
    use crate::spec::SpecError;

    fn load(body: &str) -> Result<Experiment, SpecError> {
        let text = format!("name = \"z\"\nworkload = \"sleep\"\n{body}");
        Experiment::from_text(std::path::Path::new("/nowhere/x.toml"), &text, &Overrides::default())
    }

    fn ids(body: &str) -> Vec<String> {
        let e = load(body).unwrap_or_else(|e| panic!("{e}"));
        crate::plan::expand(&e.axes, &e.exclude)
            .iter()
            .map(|c| c.id())
            .collect()
    }

    #[test]
    fn weak_scaling_gives_one_cell_per_entry_and_the_loop_at_each_sets() {
        let zip = "zip = { workers = [1, 2, 4], sets = [8, 16, 32] }\n";
        assert_eq!(
            ids(&format!("executor = \"thread\"\n{zip}")),
            ["sleep-thread-w1-s8", "sleep-thread-w2-s16", "sleep-thread-w4-s32"]
        );
        // Workers do not apply to the loop, so each entry keeps it once, at its sets.
        assert_eq!(
            ids(&format!("executor = [\"sequential\", \"process\"]\n{zip}")),
            [
                "sleep-sequential-w1-s8",
                "sleep-process-w1-s8",
                "sleep-sequential-w1-s16",
                "sleep-process-w2-s16",
                "sleep-sequential-w1-s32",
                "sleep-process-w4-s32"
            ]
        );
        assert!(load(&format!("executor = \"thread\"\n{zip}")).unwrap().axes.zips[0].weak_scaling());
    }

    #[test]
    fn a_hybrid_zip_gives_exactly_its_shapes() {
        assert_eq!(
            ids("executor = \"hybrid\"\nzip = { processes = [1, 2, 4], threads = [4, 2, 1] }\nsets = 2\n"),
            ["sleep-hybrid-p1t4-s2", "sleep-hybrid-p2t2-s2", "sleep-hybrid-p4t1-s2"]
        );
    }

    #[test]
    fn other_axes_multiply_with_the_zip_as_a_whole_and_excludes_and_several_zips_apply() {
        let cells = ids(
            "zip = [{ workers = [1, 2], sets = [4, 8] }, { executor = [\"thread\", \"process\"], pinning = [\"none\", \"cores\"] }]\n",
        );
        assert_eq!(
            cells,
            [
                "sleep-thread-w1-s4",
                "sleep-process-w1-pin-s4",
                "sleep-thread-w2-s8",
                "sleep-process-w2-pin-s8"
            ]
        );
        let cells = ids(
            "executor = [\"thread\", \"process\"]\nzip = { workers = [1, 2], sets = [4, 8] }\n[[exclude]]\nexecutor = \"process\"\nworkers = 2\n",
        );
        assert_eq!(
            cells,
            ["sleep-thread-w1-s4", "sleep-process-w1-s4", "sleep-thread-w2-s8"]
        );
    }

    #[test]
    fn bad_zips_are_refused_naming_the_key() {
        let refused = |body: &str, key: &str, says: &str| {
            let e = load(&format!("executor = \"thread\"\n{body}")).expect_err(body);
            assert_eq!(e.key.as_deref(), Some(key), "{e}");
            assert!(e.message.contains(says), "{e}");
        };
        refused(
            "zip = { workers = [1, 2, 4], sets = [8, 16] }",
            "zip.workers",
            "has 3 values and `sets` has 2",
        );
        refused(
            "workers = 2\nzip = { workers = [1, 2], sets = [8, 16] }",
            "zip.workers",
            "also set outside the zip",
        );
        refused(
            "zip = [{ workers = [1, 2], sets = [8, 16] }, { sets = [1, 2], threads = [1, 2] }]",
            "zip.sets",
            "in two zips",
        );
        refused(
            "zip = { seed = [1, 2], sets = [8, 16] }",
            "zip.seed",
            "a zip ties top-level keys",
        );
        refused("zip = { workers = 2, sets = [8] }", "zip.workers", "non-empty list");
        refused("zip = { workers = [0, 2], sets = [8, 16] }", "workers", "");
        refused("zip = 3", "zip", "must be a table");
    }

    #[test]
    fn a_long_zip_counts_its_entries_against_the_cell_limit_not_their_product() {
        let list = |from: usize| (from..from + 150).map(|n| n.to_string()).collect::<Vec<_>>().join(", ");
        let body = format!(
            "executor = \"thread\"\nzip = {{ workers = [{}], sets = [{}] }}\n[limits]\nmax_cells = 400\nmax_workers = 1000\n",
            list(1),
            list(1)
        );
        assert_eq!(ids(&body).len(), 150);
    }
}
