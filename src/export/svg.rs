//! SVG charts of a run, drawn once into the report ([`charts`]) and written by [`Svg`]:
//! throughput against workers per executor, and CPU and memory per cell.

use std::io;
use std::path::PathBuf;

use plotters::prelude::*;

use super::{Exporter, Report};
use crate::pools::ExecutorKind;
use crate::summary::{CellStats, CellSummary};
use crate::workload::{WorkloadKind, INTRA_OP_THREADS};

/// Writes the charts into a results folder.
pub struct Svg(pub PathBuf);

impl Exporter for Svg {
    fn report(&mut self, report: &Report) -> io::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for (name, svg) in &report.charts {
            let path = self.0.join(name);
            std::fs::write(&path, svg)
                .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", path.display())))?;
            files.push(path);
        }
        Ok(files)
    }
}

/// The statistics of a cell the charts draw (they get only cells that have some).
fn st(c: &CellSummary) -> &CellStats {
    c.stats.as_ref().expect("charts draw only cells with whole repetitions")
}

fn color(executor: ExecutorKind) -> RGBColor {
    let (r, g, b) = executor.colour();
    RGBColor(r, g, b)
}

type Err = anyhow::Error;
/// A bar series: its name, colour, and value per cell.
type Metric<'a> = (&'a str, RGBColor, &'a dyn Fn(&CellSummary) -> f64);

/// One throughput chart and one cost chart per workload: (file name, SVG text).
pub fn charts(cells: &[CellSummary]) -> Result<Vec<(String, String)>, Err> {
    let mut workloads: Vec<WorkloadKind> = Vec::new();
    for c in cells {
        if !workloads.contains(&c.cell.workload) {
            workloads.push(c.cell.workload);
        }
    }
    let mut files = Vec::new();
    for w in workloads {
        // Cells without a whole repetition have nothing to draw (the tables list them).
        let mine: Vec<&CellSummary> = cells
            .iter()
            .filter(|c| c.cell.workload == w && c.stats.is_some())
            .collect();
        files.push((format!("throughput-{w}.svg"), throughput(w, &mine)?));
        files.push((format!("cost-{w}.svg"), cost(w, &mine)?));
    }
    Ok(files)
}

/// A series is one executor at one intra-op / sets setting.
fn series_key(c: &CellSummary) -> String {
    let mut k = c.executor_name();
    if let Some(t) = c.cell.text(&INTRA_OP_THREADS) {
        k += &format!(" (intra {t})");
    }
    k
}

fn throughput(workload: WorkloadKind, cells: &[&CellSummary]) -> Result<String, Err> {
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (760, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let max_workers = cells.iter().map(|c| c.cell.workers()).max().unwrap_or(1) as f64;
    let top = cells
        .iter()
        .map(|c| st(c).throughput_tps.ci_high.max(st(c).throughput_tps.median))
        .fold(0.0, f64::max)
        * 1.15;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{workload}: throughput vs workers (median and its interval)"),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.5f64..max_workers + 0.5, 0f64..top.max(1.0))?;
    chart
        .configure_mesh()
        .x_desc("workers")
        .y_desc("tasks / s")
        .x_labels(max_workers as usize + 1)
        .x_label_formatter(&|x| {
            if x.fract() == 0.0 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .draw()?;
    for key in series_keys(cells) {
        let mut pts: Vec<&&CellSummary> = cells.iter().filter(|c| series_key(c) == key).collect();
        pts.sort_by_key(|c| c.cell.workers());
        let col = color(pts[0].cell.executor);
        if pts[0].cell.executor.is_sequential() {
            let y = st(pts[0]).throughput_tps.median;
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.5, y), (max_workers + 0.5, y)],
                    6,
                    4,
                    col.stroke_width(2),
                ))?
                .label(format!("{key} (baseline)"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(2)));
        } else {
            let line: Vec<(f64, f64)> = pts
                .iter()
                .map(|c| (c.cell.workers() as f64, st(c).throughput_tps.median))
                .collect();
            chart
                .draw_series(LineSeries::new(line.clone(), col.stroke_width(2)))?
                .label(key.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(2)));
            chart.draw_series(line.iter().map(|&(x, y)| Circle::new((x, y), 4, col.filled())))?;
        }
        chart.draw_series(pts.iter().map(|c| {
            let t = &st(c).throughput_tps;
            ErrorBar::new_vertical(
                c.cell.workers() as f64,
                t.ci_low,
                t.median,
                t.ci_high,
                col.stroke_width(1),
                8,
            )
        }))?;
    }
    legend(&mut chart)?;
    root.present()?;
    drop(chart);
    drop(root);
    Ok(svg)
}

/// Each series' key once, in the cells' order.
fn series_keys(cells: &[&CellSummary]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for c in cells {
        if !keys.contains(&series_key(c)) {
            keys.push(series_key(c));
        }
    }
    keys
}

fn short(c: &CellSummary) -> String {
    let e = c.cell.executor;
    let mut s = if e.is_sequential() {
        e.name().replace("sequential", "seq")
    } else {
        format!("{e} {}", c.cell.workers())
    };
    if let Some(t) = c.cell.text(&INTRA_OP_THREADS).filter(|t| t != "1") {
        s += &format!(" i{t}");
    }
    s
}

fn bars(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    title: &str,
    y_desc: &str,
    cells: &[&CellSummary],
    values: &[Metric],
) -> Result<(), Err> {
    let top = cells
        .iter()
        .flat_map(|c| values.iter().map(|(_, _, f)| f(c)))
        .fold(0.0, f64::max)
        * 1.15;
    let n = cells.len();
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0f64..n as f64, 0f64..top.max(1.0))?;
    let labels: Vec<String> = cells.iter().map(|c| short(c)).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 1e-6 && i < labels.len() {
                labels[i].clone()
            } else {
                String::new()
            }
        })
        .y_desc(y_desc)
        .draw()?;
    let width = 0.8 / values.len() as f64;
    for (k, (name, col, f)) in values.iter().enumerate() {
        let col = *col;
        chart
            .draw_series(cells.iter().enumerate().map(|(i, c)| {
                let x0 = i as f64 + 0.1 + k as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width * 0.95, f(c))], col.filled())
            }))?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], col.filled()));
    }
    if values.len() > 1 {
        legend(&mut chart)?;
    }
    Ok(())
}

fn cost(workload: WorkloadKind, cells: &[&CellSummary]) -> Result<String, Err> {
    let width = (160 + 70 * cells.len() as u32).max(560);
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (width, 720)).into_drawing_area();
    root.fill(&WHITE)?;
    let (upper, lower) = root.split_vertically(360);
    bars(
        &upper,
        &format!("{workload}: CPU utilisation (share of all cores, median)"),
        "CPU %",
        cells,
        &[("CPU %", RGBColor(44, 160, 44), &|c| st(c).cpu_util_pct)],
    )?;
    bars(
        &lower,
        &format!("{workload}: memory (median)"),
        "MiB",
        cells,
        &[
            ("peak RSS, summed over processes", RGBColor(255, 127, 14), &|c| {
                st(c).peak_rss_mib
            }),
            ("PSS at end of tasks", RGBColor(148, 103, 189), &|c| st(c).pss_mib),
        ],
    )?;
    root.present()?;
    drop(upper);
    drop(lower);
    drop(root);
    Ok(svg)
}

/// The series legend, upper left, on a translucent box.
fn legend<'a, DB, CT>(chart: &mut ChartContext<'a, DB, CT>) -> Result<(), Err>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
