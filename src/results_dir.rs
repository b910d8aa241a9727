//! A results folder's layout: the name of every file a run writes there, in this one place
//! (scripts read these names; no file name is written as a literal elsewhere).

use std::path::{Path, PathBuf};

/// A results folder, by the files in it.
#[derive(Debug, Clone, Copy)]
pub struct ResultsDir<'a>(&'a Path);

impl<'a> ResultsDir<'a> {
    pub const RUNS: &'static str = "runs.csv";
    pub const TASKS: &'static str = "tasks.csv";
    pub const LOG: &'static str = "run.log";
    pub const SUMMARY: &'static str = "summary.md";
    pub const RESULTS: &'static str = "results.json";
    pub const REPORT: &'static str = "report.html";
    pub const ENV: &'static str = "env.json";
    pub const EXPERIMENT: &'static str = "experiment.toml";
    /// Each resumed session's environment: `env-resume-<time>.json`.
    pub const ENV_RESUME: &'static str = "env-resume";
    /// The answer as a picture (one of the charts).
    pub const VERDICTS_SVG: &'static str = "verdicts.svg";
    /// The folder of each cell's output files (`images/<cell id>/`).
    pub const OUTPUTS: &'static str = "images";

    /// The files report.html links to, in its order.
    pub const LISTED: [&'static str; 7] = [
        Self::RUNS,
        Self::TASKS,
        Self::LOG,
        Self::SUMMARY,
        Self::RESULTS,
        Self::ENV,
        Self::EXPERIMENT,
    ];

    pub fn at(dir: &'a Path) -> ResultsDir<'a> {
        ResultsDir(dir)
    }

    pub fn path(self) -> &'a Path {
        self.0
    }

    pub fn file(self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn runs(self) -> PathBuf {
        self.file(Self::RUNS)
    }
    pub fn tasks(self) -> PathBuf {
        self.file(Self::TASKS)
    }
    pub fn log(self) -> PathBuf {
        self.file(Self::LOG)
    }
    pub fn summary(self) -> PathBuf {
        self.file(Self::SUMMARY)
    }
    pub fn results(self) -> PathBuf {
        self.file(Self::RESULTS)
    }
    pub fn report(self) -> PathBuf {
        self.file(Self::REPORT)
    }
    pub fn env(self) -> PathBuf {
        self.file(Self::ENV)
    }
    pub fn experiment(self) -> PathBuf {
        self.file(Self::EXPERIMENT)
    }
    pub fn outputs(self) -> PathBuf {
        self.file(Self::OUTPUTS)
    }
    /// A merged run's copy of one shard's environment: `index` is `I`, or `PARTITION-I`.
    pub fn env_of_shard(self, index: &str) -> PathBuf {
        self.file(&format!("env-shard-{index}.json"))
    }
}

#[cfg(test)]
mod tests {
    use super::ResultsDir;

    /// Every file name of a results folder is written here and nowhere else in src/.
    #[test]
    fn no_other_source_file_spells_a_results_file_name() {
        let names = [
            ResultsDir::RUNS,
            ResultsDir::TASKS,
            ResultsDir::LOG,
            ResultsDir::SUMMARY,
            ResultsDir::RESULTS,
            ResultsDir::REPORT,
            ResultsDir::ENV,
            ResultsDir::EXPERIMENT,
            ResultsDir::VERDICTS_SVG,
        ];
        let mut offenders = Vec::new();
        for (path, text) in crate::layers::rust_sources("") {
            if path.ends_with("results_dir.rs") {
                continue;
            }
            for name in names {
                if text.contains(&format!("\"{name}\"")) {
                    offenders.push(format!("{}: {name}", path.display()));
                }
            }
        }
        assert!(offenders.is_empty(), "{offenders:#?}");
    }
}
