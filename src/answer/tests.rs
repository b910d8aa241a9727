//! Verdicts on constructed results: winners, the bound, undecided, pairing, failures.
use super::*;
use crate::pools::ExecutorKind;
use crate::record::RunRow;
use crate::summary::summarize;
use crate::testing::{cell, row};

const SIX: [f64; 6] = [1.0, 1.01, 0.99, 1.02, 0.98, 1.0];

fn rows(executor: ExecutorKind, walls: &[f64], errors: &[Option<&str>]) -> Vec<RunRow> {
    let c = cell(executor, 2);
    walls
        .iter()
        .enumerate()
        .map(|(i, w)| row(&c, i, *w, errors.get(i).copied().flatten()))
        .collect()
}

fn answer(thread: &[f64], process: &[f64], process_errors: &[Option<&str>]) -> Vec<Verdict> {
    let mut all = rows(ExecutorKind::named("thread").unwrap(), thread, &[]);
    all.extend(rows(ExecutorKind::named("process").unwrap(), process, process_errors));
    verdicts(&summarize(&all), &Bound::DEFAULT)
}

#[test]
fn a_clear_winner_is_named_with_its_ratio() {
    let v = answer(&SIX, &SIX.map(|w| w * 1.3), &[]);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].winner, Some(Side::A));
    let line = v[0].line();
    assert!(
        line.starts_with("spin, 2 workers: thread faster than process (1.30x ["),
        "{line}"
    );
    // The process cell faster: the line names it, with the ratio turned its way.
    let v = answer(&SIX.map(|w| w * 1.3), &SIX, &[]);
    assert_eq!(v[0].winner, Some(Side::B));
    assert!(
        v[0].line().contains("process faster than thread (1.30x ["),
        "{}",
        v[0].line()
    );
}

#[test]
fn within_the_bound_is_equal_and_a_wide_interval_undecided() {
    let v = answer(&SIX, &SIX, &[]);
    assert_eq!(v[0].winner, None);
    assert_eq!(v[0].form(), Some(Form::Equal));
    let line = v[0].line();
    assert!(line.contains("thread ≈ process (within ±5 %: 1.00x ["), "{line}");
    assert!(line.contains(", unpaired)"), "order cells: {line}");
    // Spread wider than the bound on both sides of 1: undecided, with what it rules out.
    let wide = [1.0, 1.2, 0.85, 1.1, 0.9, 1.0];
    let v = answer(&SIX, &wide, &[]);
    let Some(Form::Undecided { beyond, more }) = v[0].form() else {
        panic!("{:?}", v[0].form());
    };
    assert!(beyond > 0.05 && more.is_some_and(|n| n > 0), "{beyond} {more:?}");
    let line = v[0].line();
    assert!(
        line.contains("thread vs process: undecided within ±5 %: no difference beyond ±"),
        "{line}"
    );
    assert!(line.contains("more rounds would settle it"), "{line}");
}

#[test]
fn paired_rounds_give_the_median_of_per_round_ratios() {
    // Round k slows both sides alike; thread is 1.2x faster in every round.
    let drift = [1.0, 1.4, 0.9, 1.3, 1.1, 0.95];
    let mut all = Vec::new();
    for (e, f) in [("thread", 1.0), ("process", 1.2)] {
        let c = cell(ExecutorKind::named(e).unwrap(), 2);
        for (k, d) in drift.iter().enumerate() {
            let mut r = row(&c, k, d * f, None);
            r.round = Some(k);
            all.push(r);
        }
    }
    let v = verdicts(&summarize(&all), &Bound::DEFAULT);
    let r = v[0].ratio.unwrap();
    assert!(
        v[0].paired && (r.value - 1.2).abs() < 1e-3 && r.ci_high - r.ci_low < 1e-2,
        "{r:?}"
    );
    assert_eq!(v[0].winner, Some(Side::A));
    assert!(!v[0].line().contains("unpaired"), "{}", v[0].line());
    // Unpaired, the drift hides it.
    let unpaired: Vec<RunRow> = all
        .iter()
        .cloned()
        .map(|mut r| {
            r.round = None;
            r
        })
        .collect();
    let u = verdicts(&summarize(&unpaired), &Bound::DEFAULT);
    assert_eq!(u[0].winner, None, "{:?}", u[0].ratio);
    // A round where one side failed is dropped, and named.
    all[1].m.error = Some(crate::outcome::Failure::Other("a crash".into()));
    let v = verdicts(&summarize(&all), &Bound::DEFAULT);
    assert_eq!((v[0].rounds, v[0].dropped), (5, 1));
    assert!(v[0].line().contains("1 rounds dropped"), "{}", v[0].line());
}

#[test]
fn failed_repetitions_are_named_and_a_side_with_none_gets_no_verdict() {
    let errors = [
        Some("task 1 timed out after 1.000 s (limits.task_timeout_s); the repetition was stopped"),
        None,
        None,
        None,
        None,
        None,
    ];
    let v = answer(&SIX, &SIX.map(|w| w * 1.3), &errors);
    assert!(
        v[0].line().contains("process: 1 of 6 repetitions failed: timeout"),
        "{}",
        v[0].line()
    );
    let all_failed = [Some("interrupted"); 6];
    let v = answer(&SIX, &SIX, &all_failed);
    assert_eq!(v[0].ratio, None);
    assert!(v[0].line().contains("no verdict"), "{}", v[0].line());
}

#[test]
fn noisy_repetitions_are_named() {
    let mut all = rows(ExecutorKind::named("thread").unwrap(), &SIX, &[]);
    all.extend(rows(
        ExecutorKind::named("process").unwrap(),
        &SIX.map(|w| w * 1.3),
        &[],
    ));
    all[7].m.noisy = true;
    let v = verdicts(&summarize(&all), &Bound::DEFAULT);
    assert!(v[0].line().contains("process: 1 noisy repetitions"), "{}", v[0].line());
}

#[test]
fn sequential_is_not_a_side() {
    let mut all = rows(ExecutorKind::named("sequential").unwrap(), &SIX, &[]);
    all.extend(rows(ExecutorKind::named("thread").unwrap(), &SIX, &[]));
    assert!(verdicts(&summarize(&all), &Bound::DEFAULT).is_empty());
    assert_eq!(best(&summarize(&all)).len(), 1);
}

#[test]
fn the_question_restricts_the_answer_to_the_pairs_asked_or_to_the_reference() {
    let named = ["sequential", "thread", "process", "py-thread", "py-process"];
    let mut all = Vec::new();
    for (i, name) in named.iter().enumerate() {
        all.extend(rows(
            ExecutorKind::named(name).unwrap(),
            &SIX.map(|w| w * (1.0 + i as f64 / 10.0)),
            &[],
        ));
    }
    let cells = summarize(&all);
    let pairs = |q: Question| -> Vec<(String, String)> {
        let bound = Bound {
            question: q,
            ..Bound::DEFAULT
        };
        let mut p: Vec<_> = verdicts(&cells, &bound)
            .iter()
            .map(|v| (v.a_name.clone(), v.b_name.clone()))
            .collect();
        p.sort();
        p
    };
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    let e = |n: &str| ExecutorKind::named(n).unwrap();
    assert_eq!(
        pairs(Question::Default),
        [
            s("process", "py-process"),
            s("py-thread", "py-process"),
            s("thread", "process"),
            s("thread", "py-thread")
        ]
    );
    assert_eq!(
        pairs(Question::Compare(vec![(e("py-process"), e("py-thread"))])),
        [s("py-thread", "py-process")]
    );
    assert_eq!(
        pairs(Question::Reference(e("py-process"))),
        [
            s("process", "py-process"),
            s("py-thread", "py-process"),
            s("thread", "py-process")
        ]
    );
}
