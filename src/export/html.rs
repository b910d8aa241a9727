//! report.html: the results page. Self-contained (no scripts, fonts or styles from anywhere
//! else, the charts inline), so it opens from the file system: the answer first (at a glance,
//! the grid and forest of glance.rs, then in words), then the tables, the charts, the
//! environment, and links to the CSVs and the log.

use crate::results_dir::ResultsDir;
use std::fmt::Write;
use std::io;
use std::path::PathBuf;

use super::table::{interval, notes};
use super::{Exporter, Report};

/// Writes `report.html` into a results folder, the report's charts inline.
pub struct Html(pub PathBuf);

impl Exporter for Html {
    fn report(&mut self, report: &Report) -> io::Result<Vec<PathBuf>> {
        let path = ResultsDir::at(&self.0).report();
        std::fs::write(&path, page(&self.0, report))?;
        Ok(vec![path])
    }
}

/// Text for HTML: `&`, `<`, `>` and quotes escaped.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:sans-serif;max-width:72rem;margin:1.5rem auto;padding:0 1rem;color:#222;line-height:1.4}\
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.2rem .45rem;text-align:right}\
th:first-child,td:first-child,td:last-child{text-align:left}td:first-child{white-space:nowrap}th{background:#f2f2f2}\
.answer li{margin:.3rem 0;font-size:1.05rem}.note{color:#555;font-size:.85rem}\
table.grid,table.forest{font-size:1rem}table.grid td.v,table.forest td.v{text-align:center;white-space:nowrap}\
table.forest td svg{display:block}\
figure{display:inline-block;margin:.5rem;max-width:100%}figure svg{max-width:100%;height:auto}\
@media print{body{max-width:none}figure{page-break-inside:avoid}}";

fn page(dir: &std::path::Path, report: &Report) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{t}</title><style>{STYLE}</style></head><body>\n\
         <h1>{t}</h1>\n<h2 id=\"answer\">The answer</h2>\n",
        t = escape(report.title)
    );
    if let Some(k) = &report.by_kind {
        s += &by_kind(k);
    }
    let verdicts = &report.verdicts;
    s += &super::glance::html(verdicts);
    s += "<ul class=\"answer\">\n";
    if verdicts.is_empty() {
        s += "<li>No two executors ran the same work with the same setting: nothing to compare directly.</li>\n";
    }
    let grouped = verdicts.iter().any(|v| v.group() != verdicts[0].group());
    for (i, v) in verdicts.iter().enumerate() {
        if grouped && (i == 0 || verdicts[i - 1].group() != v.group()) {
            let _ = writeln!(s, "<li class=\"group\"><strong>{}</strong></li>", escape(v.group()));
        }
        let _ = writeln!(s, "<li>{}</li>", escape(&v.line()));
    }
    for b in &report.best {
        let _ = writeln!(s, "<li>best, {}</li>", escape(b));
    }
    s += "</ul>\n<p class=\"note\">Ratios compare median throughput over whole repetitions; the interval holds with at \
          least the confidence shown. Memory is the sampled PSS peak (the PSS at the end of the tasks where no peak was sampled).</p>\n";
    s += &cells(report);
    s += "</table>\n<h2>Charts</h2>\n";
    for (name, svg) in &report.charts {
        let svg = svg.trim_start_matches(|c| c != '<');
        let _ = writeln!(s, "<figure>{svg}<figcaption>{}</figcaption></figure>", escape(name));
    }
    s += &environment(report);
    s += &files(dir);
    s += "</body></html>\n";
    s
}

/// The answer per kind of machine: a column per kind, and where it changes between kinds.
fn by_kind(k: &crate::answer::kinds::ByKind) -> String {
    if k.rows.is_empty() {
        return "<p class=\"note\">No two pools ran the same work on one kind of machine: nothing is compared.</p>\n"
            .into();
    }
    let mut s = String::from(
        "<p class=\"note\">Each kind of machine answers from its own rows; no verdict pairs cells of two kinds.</p>\n\
         <table class=\"grid\" id=\"kinds\"><tr><th>comparison</th>",
    );
    for kind in &k.kinds {
        let hw = kind.hardware.as_deref().unwrap_or("hardware not recorded");
        let _ = write!(s, "<th title=\"{}\">{}</th>", escape(hw), escape(&kind.label));
    }
    s += "</tr>\n";
    for row in &k.rows {
        let _ = write!(s, "<tr><td>{}</td>", escape(&row.title));
        for v in &row.verdicts {
            let words = v.as_ref().map_or("-".into(), crate::answer::kinds::words);
            let _ = write!(s, "<td class=\"v\">{}</td>", escape(&words));
        }
        s += "</tr>\n";
    }
    s += "</table>\n<p>Where the answer changes between kinds of machine:</p>\n<ul class=\"answer\">\n";
    for c in k.change_lines() {
        let _ = writeln!(s, "<li>{}</li>", escape(&c));
    }
    s += "</ul>\n<ul class=\"note\">\n";
    for kind in &k.kinds {
        let hw = kind.hardware.as_deref().unwrap_or("hardware not recorded");
        let _ = writeln!(
            s,
            "<li>{}: {}; {} measured repetitions</li>",
            escape(&kind.label),
            escape(hw),
            kind.reps
        );
    }
    s += "</ul>\n";
    s
}

/// The per-cell tables, one per kind of machine when there are several (the last left open
/// for the caller to close).
fn cells(report: &Report) -> String {
    let mut s = String::from("<h2>Per cell</h2>\n");
    for (i, (heading, cells)) in report.cell_tables().into_iter().enumerate() {
        if i > 0 {
            s += "</table>\n";
        }
        if let Some(h) = heading {
            let _ = writeln!(s, "<h3>{}</h3>", escape(&h));
        }
        s += &cell_table(cells);
    }
    s
}

/// One per-cell table, left open.
fn cell_table(cells: &[crate::summary::CellSummary]) -> String {
    let mut s = String::new();
    s += "<table><tr><th>cell</th><th>whole reps</th><th>wall s (median)</th>\
          <th>median interval</th><th>tasks/s</th><th>speedup [interval] confidence</th><th>CPU %</th>\
          <th>peak RSS MiB</th><th>PSS peak MiB</th><th>notes</th></tr>\n";
    for c in cells {
        let note = escape(&notes(c).join("; "));
        match &c.stats {
            Some(st) => {
                let w = &st.wall_s;
                let _ = writeln!(
                    s,
                    "<tr><td>{}</td><td>{}</td><td>{:.4}</td><td>[{:.4}, {:.4}] {:.1} %</td><td>{:.2}</td><td>{}</td>\
                     <td>{:.1}</td><td>{:.1}</td><td>{}</td><td>{note}</td></tr>",
                    escape(&c.id),
                    c.reps,
                    w.median,
                    w.ci_low,
                    w.ci_high,
                    w.confidence * 100.0,
                    st.throughput_tps.median,
                    interval(&st.speedup, 2),
                    st.cpu_util_pct,
                    st.peak_rss_mib,
                    st.pss_peak_mib.map_or("-".into(), |v| format!("{v:.1}")),
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "<tr><td>{}</td><td>0</td><td colspan=\"7\">no whole repetition</td><td>{note}</td></tr>",
                    escape(&c.id)
                );
            }
        }
    }
    s
}

/// What the run ran on, from its env.json.
fn environment(report: &Report) -> String {
    let mut s = String::from("<h2>Environment</h2>\n<table>\n");
    // The typed env.json as its fields, for the table.
    let env = report
        .env
        .as_ref()
        .and_then(|e| serde_json::to_value(e).ok())
        .unwrap_or_default();
    for key in [
        "cpu_model",
        "cores",
        "memory_total_bytes",
        "os",
        "kernel",
        "runner_version",
        "git_commit",
        "ort_version",
        "models",
        "python",
        "model_preoptimize_s",
        "start_utc",
        "end_utc",
    ] {
        if let Some(v) = env.get(key).filter(|v| !v.is_null()) {
            let text = match (key, v.as_array()) {
                // One line per model: its file and hash.
                ("models", Some(models)) => models
                    .iter()
                    .map(|m| {
                        format!(
                            "{} {}",
                            m["file"].as_str().unwrap_or("?"),
                            m["sha256"].as_str().unwrap_or("?")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                _ => v.as_str().map_or_else(|| v.to_string(), str::to_string),
            };
            let _ = writeln!(s, "<tr><th>{key}</th><td>{}</td></tr>", escape(&text));
        }
    }
    s += "</table>\n";
    s
}

/// Links to the folder's other files.
fn files(dir: &std::path::Path) -> String {
    let mut s = String::from("<h2>Files</h2>\n<p>");
    // summary.md and results.json are written with this page; the rest where the run made them.
    for f in ResultsDir::LISTED {
        if [ResultsDir::SUMMARY, ResultsDir::RESULTS].contains(&f) || dir.join(f).exists() {
            let _ = write!(s, "<a href=\"{f}\">{f}</a> ");
        }
    }
    s += "</p>\n";
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
