//! The answer at a glance in report.html: a grid of work × worker count whose cells show each
//! verdict (≈, the winner and its ratio, or undecided), coloured by the winner, and a forest
//! of one HTML row per verdict, its words at the page's text size beside its interval drawn on
//! a shared log axis (verdicts.svg stays the picture of it for summary.md and on its own).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::html::escape;
use crate::answer::{Form, Side, Verdict};

/// The grid and the forest (nothing without a verdict that has a ratio).
pub fn html(verdicts: &[Verdict]) -> String {
    let rows: Vec<&Verdict> = verdicts.iter().filter(|v| v.ratio.is_some()).collect();
    if rows.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "<p class=\"note\" id=\"glance\">At a glance: each verdict by work and workers, then its interval.</p>\n",
    );
    s += &grid(&rows);
    s += &forest(&rows);
    s
}

/// What a verdict says in a few words, and the winner's colour (a tint of its executor's).
fn words(v: &Verdict) -> (String, Option<String>) {
    let r = v.ratio.expect("rows with a ratio");
    match v.form() {
        Some(Form::Faster(side)) => {
            let (name, cell, by) = match side {
                Side::A => (&v.a_name, &v.a, r.value),
                Side::B => (&v.b_name, &v.b, 1.0 / r.value),
            };
            let (red, green, blue) = cell.executor.colour();
            let tint = |c: u8| 255 - (255 - c as u32) * 2 / 5;
            let colour = format!("#{:02x}{:02x}{:02x}", tint(red), tint(green), tint(blue));
            (format!("{name} {by:.2}x"), Some(colour))
        }
        Some(Form::Equal) => (format!("≈ (±{:.0} %)", v.equivalence * 100.0), Some("#e3f1e3".into())),
        _ => ("undecided".to_string(), None),
    }
}

/// A verdict's setting without its worker count: the grid's row, with the pair compared.
fn work_of(v: &Verdict) -> String {
    let rest: Vec<&str> = v
        .setting
        .split(", ")
        .filter(|part| !(part.ends_with(" workers") || part.ends_with(" worker")))
        .collect();
    format!("{}: {} vs {}", rest.join(", "), v.a_name, v.b_name)
}

/// Work × workers, each cell the verdict's words on the winner's colour.
fn grid(rows: &[&Verdict]) -> String {
    let mut workers: Vec<usize> = rows.iter().map(|v| v.a.workers()).collect();
    workers.sort_unstable();
    workers.dedup();
    let mut by_work: BTreeMap<(usize, String), BTreeMap<usize, &Verdict>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for v in rows {
        let work = work_of(v);
        let at = order.iter().position(|w| *w == work).unwrap_or_else(|| {
            order.push(work.clone());
            order.len() - 1
        });
        by_work.entry((at, work)).or_default().insert(v.a.workers(), v);
    }
    let mut s = String::from("<table class=\"grid\"><tr><th>work: a vs b</th>");
    for w in &workers {
        let _ = write!(s, "<th>{w} worker{}</th>", if *w == 1 { "" } else { "s" });
    }
    s += "</tr>\n";
    for ((_, work), cells) in &by_work {
        let _ = write!(s, "<tr><td>{}</td>", escape(work));
        for w in &workers {
            match cells.get(w) {
                Some(v) => {
                    let (text, colour) = words(v);
                    let style = colour.map(|c| format!(" style=\"background:{c}\"")).unwrap_or_default();
                    let _ = write!(
                        s,
                        "<td class=\"v\"{style} title=\"{}\">{}</td>",
                        escape(&v.line()),
                        escape(&text)
                    );
                }
                None => s += "<td></td>",
            }
        }
        s += "</tr>\n";
    }
    s + "</table>\n"
}

/// One row per verdict: its setting and pair, its words, and its interval on a log axis
/// shared by all rows, with 1 marked and the equivalence band shaded.
fn forest(rows: &[&Verdict]) -> String {
    let e = rows[0].equivalence;
    let (lo, hi) = super::forest::range(rows);
    let (lo, hi) = (lo.ln(), hi.ln());
    const W: f64 = 360.0;
    let x = |r: f64| (r.ln() - lo) / (hi - lo) * W;
    let mut s = format!(
        "<table class=\"forest\"><tr><th>verdict</th><th>says</th><th>throughput of a over b: {:.2}x to {:.2}x, \
         log scale; 1 marked, ±{:.0} % shaded</th></tr>\n",
        lo.exp(),
        hi.exp(),
        e * 100.0
    );
    for v in rows {
        let r = v.ratio.expect("rows with a ratio");
        let (text, colour) = words(v);
        let dot = colour.as_deref().unwrap_or("#999999");
        let _ = writeln!(
            s,
            "<tr><td>{}: {} vs {}</td><td class=\"v\">{}</td><td><svg width=\"{W}\" height=\"18\" viewBox=\"0 0 {W} 18\" \
             role=\"img\" aria-label=\"{:.2}x [{:.2}, {:.2}]\"><rect x=\"{:.1}\" y=\"0\" width=\"{:.1}\" height=\"18\" fill=\"#c8e6c8\"/>\
             <line x1=\"{:.1}\" y1=\"0\" x2=\"{:.1}\" y2=\"18\" stroke=\"#000\"/><line x1=\"{:.1}\" y1=\"9\" x2=\"{:.1}\" y2=\"9\" \
             stroke=\"#333\" stroke-width=\"3\"/><circle cx=\"{:.1}\" cy=\"9\" r=\"5\" fill=\"{dot}\" stroke=\"#333\"/></svg></td></tr>",
            escape(&v.setting),
            escape(&v.a_name),
            escape(&v.b_name),
            escape(&text),
            r.value,
            r.ci_low,
            r.ci_high,
            x(1.0 - e),
            x(1.0 + e) - x(1.0 - e),
            x(1.0),
            x(1.0),
            x(r.ci_low),
            x(r.ci_high),
            x(r.value),
        );
    }
    s + "</table>\n"
}
