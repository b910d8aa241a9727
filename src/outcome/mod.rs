//! Why a repetition is not whole, by kind ([`Failure`]): made typed where it happens, held
//! typed by its row, and written in runs.csv's `error` column as its sentence, from which
//! [`Failure::from_text`] reads the kind back. Why one task failed is a [`TaskFailure`], held
//! typed by its record and written as its sentence in tasks.csv and run.log. No meaning is searched for in a message: the
//! runner's own kinds are whole sentences matched exactly, so a work's message that merely
//! mentions "timed out" stays that work's message.

mod rep;

pub use rep::{Ended, PoolStats, PythonFacts, PythonPool, RepMeasure, RepResult};

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::proc::WaitStatus;

/// Why a repetition is not whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A task ran past `limits.task_timeout_s`, and the repetition was stopped.
    TaskTimedOut { task: usize, limit_ms: u64 },
    /// The repetition ran past `limits.repetition_timeout_s`.
    RepetitionTimedOut { limit_ms: u64 },
    /// It ended, but some of its tasks failed (tasks.csv says why, task by task).
    TasksFailed(usize),
    /// The repetition process ended before it sent its measure.
    Died(WaitStatus),
    /// Stopped by an interrupt.
    Interrupted,
    /// In the words of the work, its pool or the harness: a plugin's init, a pool that broke,
    /// a pipe that failed. Text from the user's work, escaped where its row is made.
    Other(String),
}

/// A failure's kind, as the summary counts them per cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Timeout,
    TasksFailed,
    Died(WaitStatus),
    Interrupted,
    /// Another failure, by its first clause.
    Other(String),
}

impl Failure {
    /// A limit, as a failure holds it: whole milliseconds, as its sentence shows them.
    pub fn limit_ms(limit: std::time::Duration) -> u64 {
        limit.as_millis().min(u128::from(u64::MAX)) as u64
    }

    pub fn kind(&self) -> Kind {
        match self {
            Failure::TaskTimedOut { .. } | Failure::RepetitionTimedOut { .. } => Kind::Timeout,
            Failure::TasksFailed(_) => Kind::TasksFailed,
            Failure::Died(status) => Kind::Died(*status),
            Failure::Interrupted => Kind::Interrupted,
            Failure::Other(s) => Kind::Other(s.split(';').next().unwrap_or(s).trim().to_string()),
        }
    }

    /// The failure a sentence written by [`Display`](fmt::Display) was, exactly; any other
    /// text is [`Failure::Other`].
    pub fn from_text(text: &str) -> Failure {
        Self::own(text).unwrap_or_else(|| Failure::Other(text.to_string()))
    }

    fn own(text: &str) -> Option<Failure> {
        if text == "interrupted" {
            return Some(Failure::Interrupted);
        }
        if let Some(n) = text.strip_suffix(" task(s) failed; see tasks.csv") {
            return n.parse().ok().map(Failure::TasksFailed);
        }
        if let Some(limit) = text
            .strip_prefix("the repetition timed out after ")
            .and_then(|r| r.strip_suffix(" s"))
        {
            return seconds_ms(limit).map(|limit_ms| Failure::RepetitionTimedOut { limit_ms });
        }
        if let Some(status) = text.strip_prefix("the repetition process ") {
            return WaitStatus::parse(status).map(Failure::Died);
        }
        let rest = text.strip_prefix("task ")?;
        let (task, rest) = rest.split_once(" timed out after ")?;
        let limit = rest.strip_suffix(" s (limits.task_timeout_s); the repetition was stopped")?;
        Some(Failure::TaskTimedOut {
            task: task.parse().ok()?,
            limit_ms: seconds_ms(limit)?,
        })
    }
}

/// "2.000" (seconds, as a failure's sentence writes them) in whole milliseconds.
fn seconds_ms(text: &str) -> Option<u64> {
    let (s, ms) = text.split_once('.')?;
    (ms.len() == 3).then_some(())?;
    Some(s.parse::<u64>().ok()? * 1000 + ms.parse::<u64>().ok()?)
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::TaskTimedOut { task, limit_ms } => write!(
                f,
                "task {task} timed out after {} s (limits.task_timeout_s); the repetition was stopped",
                seconds(*limit_ms)
            ),
            Failure::RepetitionTimedOut { limit_ms } => {
                write!(f, "the repetition timed out after {} s", seconds(*limit_ms))
            }
            Failure::TasksFailed(n) => write!(f, "{n} task(s) failed; see tasks.csv"),
            Failure::Died(status) => write!(f, "the repetition process {}", status.describe()),
            Failure::Interrupted => f.write_str("interrupted"),
            Failure::Other(s) => f.write_str(s),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Timeout => f.write_str("timeout"),
            Kind::TasksFailed => f.write_str("tasks failed"),
            Kind::Died(status) => write!(f, "the repetition process {}", status.describe()),
            Kind::Interrupted => f.write_str("interrupted"),
            Kind::Other(s) => f.write_str(s),
        }
    }
}

/// Flat on disk: the sentence.
impl Serialize for Failure {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Failure {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Failure, D::Error> {
        Ok(Failure::from_text(&String::deserialize(d)?))
    }
}

/// Why one task failed: typed where the runner knows, the work's own words where only it does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TaskFailure {
    /// The work failed, in its own words: an exception, a program's exit and stderr, an image
    /// that cannot be read. Text from the user's work, escaped where its row is written.
    Work(String),
    /// A Rust workload panicked: its message.
    Panicked(String),
    /// It ran past `limits.task_timeout_s`, and its worker process was killed.
    TimedOut { limit_s: f64 },
    /// Its worker process was killed because `task`, another task it ran, timed out.
    KilledWith { task: usize },
    /// Its repetition stopped (`failure`) while task `task` ran.
    Stopped { failure: Failure, task: usize },
    /// Its worker, interpreter or pool ended under it: how, in the runner's words.
    Died(String),
    /// It never started: why.
    NotRun(String),
}

impl TaskFailure {
    /// At most `max` bytes of the work's own words (a worker's message must fit its ring).
    pub fn truncated(self, max: usize) -> TaskFailure {
        let cut = |s| truncate(s, max);
        match self {
            TaskFailure::Work(s) => TaskFailure::Work(cut(s)),
            TaskFailure::Panicked(s) => TaskFailure::Panicked(cut(s)),
            other => other,
        }
    }
}

/// At most `max` bytes of `s` (cut at a character's boundary), with `…` when cut.
pub fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

impl fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskFailure::Work(s) | TaskFailure::Died(s) => f.write_str(s),
            TaskFailure::Panicked(s) => write!(f, "task panicked: {s}"),
            TaskFailure::TimedOut { limit_s } => write!(f, "timed out after {limit_s:.3} s; worker killed"),
            TaskFailure::KilledWith { task } => write!(f, "its worker process was killed: task {task} timed out"),
            TaskFailure::Stopped { failure, task } => {
                let why = failure.to_string();
                match why.contains(&format!("task {task} ")) {
                    true => f.write_str(&why),
                    false => write!(f, "{why} while task {task} ran"),
                }
            }
            TaskFailure::NotRun(why) => write!(f, "not run: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<Failure> {
        vec![
            Failure::TaskTimedOut {
                task: 3,
                limit_ms: 2000,
            },
            Failure::TaskTimedOut { task: 0, limit_ms: 1 },
            Failure::RepetitionTimedOut { limit_ms: 12_345 },
            Failure::TasksFailed(7),
            Failure::Died(WaitStatus(9)),
            Failure::Died(WaitStatus(3 << 8)),
            Failure::Interrupted,
            Failure::Other("the plugin's init returned -1".into()),
        ]
    }

    /// tasks.csv's `error` column and run.log keep the sentences they had when failures were text.
    #[test]
    fn a_task_failure_writes_the_sentence_it_always_had() {
        let timed_out = Failure::TaskTimedOut {
            task: 3,
            limit_ms: 2000,
        };
        let cases = [
            (TaskFailure::Work("exited with status 1".into()), "exited with status 1"),
            (TaskFailure::Panicked("boom".into()), "task panicked: boom"),
            (
                TaskFailure::TimedOut { limit_s: 1.5 },
                "timed out after 1.500 s; worker killed",
            ),
            (
                TaskFailure::TimedOut { limit_s: 1.0009 },
                "timed out after 1.001 s; worker killed",
            ),
            (
                TaskFailure::KilledWith { task: 4 },
                "its worker process was killed: task 4 timed out",
            ),
            (
                TaskFailure::Stopped {
                    failure: timed_out.clone(),
                    task: 3,
                },
                "task 3 timed out after 2.000 s (limits.task_timeout_s); the repetition was stopped",
            ),
            (
                TaskFailure::Stopped {
                    failure: timed_out,
                    task: 5,
                },
                "task 3 timed out after 2.000 s (limits.task_timeout_s); the repetition was stopped while task 5 ran",
            ),
            (TaskFailure::NotRun("no worker left".into()), "not run: no worker left"),
        ];
        for (failure, sentence) in cases {
            assert_eq!(failure.to_string(), sentence);
            let json = serde_json::to_string(&failure).unwrap();
            assert_eq!(serde_json::from_str::<TaskFailure>(&json).unwrap(), failure);
            let bytes = postcard::to_allocvec(&failure).unwrap();
            assert_eq!(postcard::from_bytes::<TaskFailure>(&bytes).unwrap(), failure);
        }
        let long = TaskFailure::Work("é".repeat(3000)).truncated(4001);
        assert!(matches!(&long, TaskFailure::Work(s) if s.len() <= 4004 && s.ends_with('…')));
    }

    #[test]
    fn every_failure_reads_back_from_its_sentence() {
        for f in every_kind() {
            assert_eq!(Failure::from_text(&f.to_string()), f, "{f}");
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(serde_json::from_str::<Failure>(&json).unwrap(), f);
        }
        assert_eq!(
            Failure::TaskTimedOut {
                task: 3,
                limit_ms: 2000
            }
            .to_string(),
            "task 3 timed out after 2.000 s (limits.task_timeout_s); the repetition was stopped"
        );
        assert_eq!(
            Failure::Died(WaitStatus(9)).to_string(),
            "the repetition process killed by signal 9 (SIGKILL)"
        );
    }

    /// The text-searching reading this replaced counted these as timeouts or failed tasks.
    #[test]
    fn a_works_message_that_mentions_a_kind_is_that_works_message() {
        for text in [
            "connecting to the database timed out",
            "init: 2 task(s) failed earlier",
            "task 1 timed out after 2 s",
            "the repetition process was slow",
            "interrupted by the user's code",
        ] {
            let f = Failure::from_text(text);
            assert_eq!(f, Failure::Other(text.into()));
            assert!(matches!(f.kind(), Kind::Other(_)), "{text}");
        }
    }

    #[test]
    fn kinds_group_the_two_timeouts_and_name_others_by_their_first_clause() {
        assert_eq!(Failure::RepetitionTimedOut { limit_ms: 5 }.kind(), Kind::Timeout);
        assert_eq!(Failure::TaskTimedOut { task: 1, limit_ms: 5 }.kind(), Kind::Timeout);
        assert_eq!(
            Failure::Other("the pool broke; worker 2 died".into())
                .kind()
                .to_string(),
            "the pool broke"
        );
    }
}
