//! `[answer]`: the pairs of pools the answer states (`compare`) or the one pool every other is
//! compared against (`reference`), checked against the plan: each pool is one of the
//! experiment's, and each pair meets, doing the same work with the same workers somewhere.

use std::collections::BTreeSet;

use super::raw::RawExperiment;
use crate::plan::{expand, meet, Axes, Cell, Exclude, Question};
use crate::pools::ExecutorKind;
use crate::spec::{Fields, SpecError};

pub(super) fn parse(cx: &Fields, raw: &RawExperiment, axes: &Axes, exclude: &[Exclude]) -> Result<Question, SpecError> {
    let Some(answer) = &raw.answer else {
        return Ok(Question::Default);
    };
    let span = Some(answer.span());
    let cells = expand(axes, exclude);
    let known = |key: &str, e: ExecutorKind| -> Result<(), SpecError> {
        if axes.executor.contains(&e) {
            return Ok(());
        }
        let list: Vec<&str> = axes.executor.iter().map(|e| e.name()).collect();
        cx.err(
            key,
            span.clone(),
            format!("`{e}` is not among this experiment's executors ({})", list.join(", ")),
        )
    };
    match (&answer.get_ref().compare, answer.get_ref().reference) {
        (Some(_), Some(_)) => cx.err(
            "answer",
            span,
            "give `compare` (the pairs) or `reference` (one pool against every other), not both",
        ),
        (None, None) => Ok(Question::Default),
        (Some(pairs), None) => {
            if pairs.is_empty() {
                return cx.err("answer.compare", span, "must name at least one pair");
            }
            for &[a, b] in pairs {
                known("answer.compare", a)?;
                known("answer.compare", b)?;
                if !meet(&cells, a, b) {
                    return cx.err("answer.compare", span, apart(&cells, a, b));
                }
            }
            Ok(Question::Compare(pairs.iter().map(|&[a, b]| (a, b)).collect()))
        }
        (None, Some(r)) => {
            known("answer.reference", r)?;
            let others: Vec<ExecutorKind> = axes
                .executor
                .iter()
                .copied()
                .filter(|&e| e != r && !e.is_sequential())
                .collect();
            if others.is_empty() {
                let why = format!("no other pool is here to compare against `{r}`");
                return cx.err("answer.reference", span, why);
            }
            // Every other pool is asked about: one that never meets the reference would
            // silently have no verdict.
            if let Some(&e) = others.iter().find(|&&e| !meet(&cells, r, e)) {
                return cx.err("answer.reference", span, apart(&cells, r, e));
            }
            Ok(Question::Reference(r))
        }
    }
}

/// Why pools `a` and `b` never meet: the workers and sets each runs.
fn apart(cells: &[Cell], a: ExecutorKind, b: ExecutorKind) -> String {
    let runs = |e: ExecutorKind| {
        let of = |f: &dyn Fn(&Cell) -> usize| -> String {
            let v: BTreeSet<usize> = cells.iter().filter(|c| c.executor == e).map(f).collect();
            v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
        };
        format!(
            "`{e}` runs workers {} and sets {}",
            of(&|c| c.workers()),
            of(&|c| c.sets.get())
        )
    };
    if a == b {
        return format!(
            "pairing `{a}` with itself compares its variants (such as Python's start methods), and this experiment gives it one"
        );
    }
    format!(
        "`{a}` and `{b}` never do the same work with the same workers here, so no verdict can compare them: {}; {}",
        runs(a),
        runs(b)
    )
}

#[cfg(test)]
mod tests {
    use crate::experiment::{Experiment, Overrides};
    use crate::plan::Question;
    use crate::spec::SpecError;

    fn load(body: &str) -> Result<Experiment, SpecError> {
        let text = format!("name = \"q\"\nworkload = \"sleep\"\n{body}");
        Experiment::from_text(std::path::Path::new("/nowhere/x.toml"), &text, &Overrides::default())
    }

    const POOLS: &str =
        "workers = 2\nexecutor = [\"sequential\", \"thread\", \"process\", \"py-thread\", \"py-process\"]\n";

    #[test]
    fn compare_and_reference_are_read_into_the_question() {
        let e = load(&format!(
            "{POOLS}[answer]\ncompare = [[\"py-thread\", \"py-process\"], [\"thread\", \"process\"]]\n"
        ))
        .unwrap();
        let named = |q: &Question| format!("{q:?}");
        assert!(named(&e.question).starts_with("Compare(["), "{:?}", e.question);
        let e = load(&format!("{POOLS}[answer]\nreference = \"py-process\"\n")).unwrap();
        assert_eq!(e.question, Question::Reference(crate::pools::ExecutorKind::PY_PROCESS));
        assert_eq!(load(POOLS).unwrap().question, Question::Default);
    }

    #[test]
    fn an_unknown_pool_or_a_pair_that_never_meets_is_refused_with_the_reason() {
        let refused = |body: &str, key: &str, says: &str| {
            let e = load(body).expect_err(body);
            assert_eq!(e.key.as_deref(), Some(key), "{e}");
            assert!(e.message.contains(says), "{e}");
        };
        refused(
            "executor = [\"thread\", \"process\"]\n[answer]\ncompare = [[\"thread\", \"py-process\"]]\n",
            "answer.compare",
            "`py-process` is not among this experiment's executors (thread, process)",
        );
        refused(
            "executor = [\"thread\", \"process\"]\n[answer]\ncompare = [[\"thread\", \"pyprocess\"]]\n",
            "answer",
            "unknown variant",
        );
        refused(
            "zip = { executor = [\"thread\", \"process\"], workers = [2, 4] }\n[answer]\ncompare = [[\"thread\", \"process\"]]\n",
            "answer.compare",
            "`thread` runs workers 2 and sets 16; `process` runs workers 4 and sets 16",
        );
        refused(
            "zip = { executor = [\"thread\", \"process\"], workers = [2, 4] }\n[answer]\nreference = \"thread\"\n",
            "answer.reference",
            "never do the same work with the same workers",
        );
        // Meeting one pool is not enough: every other pool is asked about.
        refused(
            "zip = { executor = [\"thread\", \"process\", \"py-thread\"], workers = [2, 2, 4] }\n\
             [answer]\nreference = \"thread\"\n",
            "answer.reference",
            "`thread` and `py-thread` never do the same work",
        );
        refused(
            "executor = [\"py-process\"]\n[answer]\ncompare = [[\"py-process\", \"py-process\"]]\n",
            "answer.compare",
            "compares its variants",
        );
        refused(
            &format!("{POOLS}[answer]\nreference = \"thread\"\ncompare = [[\"thread\", \"process\"]]\n"),
            "answer",
            "not both",
        );
    }
}
