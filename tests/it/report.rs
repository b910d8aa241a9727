//! `runner report` and `runner compare` on a committed results fixture.

use crate::common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;

fn fixture(name: &str) -> std::path::PathBuf {
    project().join("tests/fixtures/results").join(name)
}

#[test]
fn report_writes_the_markdown_summary_and_charts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("old/runs.csv"), dir.path().join("runs.csv")).unwrap();
    runner()
        .arg("report")
        .arg(dir.path())
        .assert()
        .success()
        .stdout(contains("summary.md"));
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    let title_free = md.split_once('\n').unwrap().1.to_string();
    insta::assert_snapshot!("report_summary_md", title_free);
    for chart in ["throughput-resize.svg", "cost-resize.svg"] {
        let svg = std::fs::read_to_string(dir.path().join(chart)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "{chart}");
        assert!(
            svg.contains("process") && svg.contains("thread"),
            "{chart} names the executors"
        );
    }
}

#[test]
fn compare_flags_regressions_and_noise_and_exits_4() {
    let a = runner()
        .arg("compare")
        .arg(fixture("old"))
        .arg(fixture("new"))
        .assert()
        .code(4);
    let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    insta::assert_snapshot!("compare_old_new", out);
    for line in out.lines().filter(|l| l.starts_with("| resize-")) {
        if line.contains("-process-") {
            assert!(
                line.contains("SLOWER (regression)") && line.contains("-30.0 %"),
                "{line}"
            );
        } else {
            assert!(line.contains("within noise") && line.contains("+0.0 %"), "{line}");
        }
    }
    runner()
        .arg("compare")
        .arg(fixture("old"))
        .arg(fixture("old"))
        .assert()
        .success();
    runner()
        .arg("compare")
        .arg(fixture("new"))
        .arg(fixture("old"))
        .assert()
        .success()
        .stdout(contains("faster"));
    // A threshold above the drop turns the regression into a plain "slower".
    runner()
        .arg("compare")
        .arg(fixture("old"))
        .arg(fixture("new"))
        .arg("--threshold")
        .arg("40")
        .assert()
        .success()
        .stdout(contains("slower").and(contains("regression").not()))
        .stderr(contains("regress").not());
}
