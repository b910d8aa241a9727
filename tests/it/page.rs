//! The results page in a real browser: headless Chromium loads report.html from the file system
//! (no network), its rendered text holds the answer and the tables, and a screenshot is kept as a
//! test artifact (`target/tmp/report.png`). Without Chromium the test says why and skips; under
//! CI it must be there (scripts/test installs Debian's `chromium`).

use crate::common;

use std::process::Command;

use common::*;

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"].into_iter().find(|b| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn the_results_page_renders_the_answer_tables_and_charts_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        project().join("tests/fixtures/results/old/runs.csv"),
        dir.path().join("runs.csv"),
    )
    .unwrap();
    runner().arg("report").arg(dir.path()).assert().success();
    let page = dir.path().join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing fetched from anywhere (SVG's xmlns is a name, not a fetch).
    for needle in ["<script", "<link", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(needle), "report.html fetches something: {needle}");
    }
    assert_eq!(
        html.matches("<figure>").count(),
        3,
        "the verdicts and both charts inline"
    );
    let forest_rows = html
        .split("<table class=\"forest\">")
        .nth(1)
        .map_or(0, |t| t.split("</table>").next().unwrap().matches("<svg").count());
    assert!(forest_rows >= 1, "the forest has a row per verdict");
    assert_eq!(html.matches("<svg").count(), 3 + forest_rows);

    let Some(browser) = chromium() else {
        skip("rendering needs Chromium (apt-get install chromium)");
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.display());
    let run = |extra: &[&str]| {
        Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--enable-logging=stderr",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(&url)
            .output()
            .unwrap()
    };
    let dom = run(&["--dump-dom"]);
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let text = String::from_utf8_lossy(&dom.stdout);
    for want in [
        "The answer",
        "resize, 2 workers: thread vs process: undecided within ±5 %",
        "unpaired",
        "best, resize: fastest resize-thread-w2-s16",
        "resize-process-w4-s16",
        "throughput vs workers",
    ] {
        assert!(text.contains(want), "the rendered page lacks {want:?}");
    }
    let log = String::from_utf8_lossy(&dom.stderr);
    for bad in ["Uncaught", "Failed to load resource", "net::ERR_"] {
        assert!(!log.contains(bad), "the page logged an error: {log}");
    }
    for want in ["At a glance", "work: a vs b", "2 workers", "undecided"] {
        assert!(text.contains(want), "the rendered page lacks {want:?}");
    }
    // The labels of the grid and the forest are as large as the page's body text: measured by
    // the browser, on a copy of the page with a script that writes what it computed.
    let probe = dir.path().join("probe.html");
    let script = "<script>const px=e=>parseFloat(getComputedStyle(e).fontSize);\
        const l=[...document.querySelectorAll('table.grid td, table.forest td')].map(px);\
        document.body.setAttribute('data-label-px', Math.min(...l)+' '+px(document.body)+' '+l.length);</script>";
    std::fs::write(&probe, html.replace("</body>", &format!("{script}</body>"))).unwrap();
    let measured = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", probe.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&measured.stdout);
    let sizes: Vec<f64> = dom
        .split("data-label-px=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .unwrap_or_else(|| panic!("the probe wrote nothing: {dom}"))
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    let [label, body, count] = sizes[..] else {
        panic!("{sizes:?}")
    };
    assert!(count >= 2.0, "labels measured: {count}");
    assert!(
        label >= body,
        "the smallest label is {label} px, the body text {body} px"
    );
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    let _ = std::fs::remove_file(&shot);
    let out = run(&["--window-size=1280,1600", &format!("--screenshot={}", shot.display())]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a real screenshot: {} bytes",
        png.len()
    );
    println!("screenshot: {}", shot.display());
}
