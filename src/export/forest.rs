//! verdicts.svg, the answer as a picture: a forest plot with one row per verdict, its
//! throughput ratio and interval on a log axis, a line at 1, and the equivalence band shaded.

use plotters::prelude::*;

use crate::answer::{Form, Verdict};

/// The forest plot of `verdicts` (none without them): (file name, SVG text).
pub fn chart(verdicts: &[Verdict]) -> anyhow::Result<Option<(String, String)>> {
    let rows: Vec<&Verdict> = verdicts.iter().filter(|v| v.ratio.is_some()).collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let e = rows[0].equivalence;
    let (lo, hi) = range(&rows);
    let mut svg = String::new();
    {
        let height = 90 + 34 * rows.len() as u32;
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = rows.len();
        let labels: Vec<String> = rows
            .iter()
            .map(|v| format!("{}: {} / {}", v.setting, v.a_name, v.b_name))
            .collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "the answer: throughput ratio a / b, its interval, and ±{:.0} % shaded",
                    e * 100.0
                ),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(380)
            .build_cartesian_2d((lo..hi).log_scale(), -0.5f64..n as f64 - 0.5)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&|y| {
                let i = y.round() as usize;
                if (y - i as f64).abs() < 1e-6 && i < n {
                    labels[n - 1 - i].clone()
                } else {
                    String::new()
                }
            })
            .x_desc("throughput of a over b (log scale)")
            .draw()?;
        let band = RGBColor(200, 230, 200);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(1.0 - e, -0.5), (1.0 + e, n as f64 - 0.5)],
            band.filled(),
        )))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(1.0, -0.5), (1.0, n as f64 - 0.5)],
            BLACK.stroke_width(1),
        )))?;
        for (i, v) in rows.iter().enumerate() {
            let r = v.ratio.expect("rows with a ratio");
            let y = (n - 1 - i) as f64;
            let colour = match v.form() {
                Some(Form::Faster(_)) => RGBColor(31, 119, 180),
                Some(Form::Equal) => RGBColor(44, 160, 44),
                _ => RGBColor(150, 150, 150),
            };
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(r.ci_low, y), (r.ci_high, y)],
                colour.stroke_width(3),
            )))?;
            chart.draw_series(std::iter::once(Circle::new((r.value, y), 5, colour.filled())))?;
        }
        root.present()?;
    }
    Ok(Some((crate::results_dir::ResultsDir::VERDICTS_SVG.to_string(), svg)))
}

/// The ratios a forest's log axis spans: every interval and the equivalence band (of the first
/// verdict's bound), with 5 % of room each side. Shared by verdicts.svg and report.html's rows.
pub fn range(rows: &[&Verdict]) -> (f64, f64) {
    let e = rows.first().map_or(0.05, |v| v.equivalence);
    let (lo, hi) = rows
        .iter()
        .filter_map(|v| v.ratio)
        .fold((1.0 - e, 1.0 + e), |(lo, hi), r| (lo.min(r.ci_low), hi.max(r.ci_high)));
    (lo / 1.05, hi * 1.05)
}
