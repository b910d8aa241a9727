//! Repetitions under a preloaded allocator (the `allocator` axis). `LD_PRELOAD` takes effect
//! only at an exec, and a repetition process is forked from the orchestrator; so for each
//! allocator in use the orchestrator starts, once, a zygote: this same binary exec'd with the
//! library preloaded and `RUNNER_ZYGOTE` set, which loads the experiment and prepares its
//! workloads as a run does, then runs the repetitions it is sent as the orchestrator would
//! (forking each from itself, single-threaded) and sends back their results and task records.
//! Everything the zygote forks or starts inherits the preload and the environment.
//!
//! The protocol is one JSON line each way per repetition, on the zygote's stdin and stdout
//! (its stdout is moved to another descriptor first, so nothing else can write into it).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde::{Deserialize, Serialize};

use super::{Isolated, RepResult, RepRunner};
use crate::executor::allocator;
use crate::plan::{Cell, Rep, Task};
use crate::proc;
use crate::workload::TaskRecord;

/// The environment variable that makes `runner <file>` a zygote.
pub const ZYGOTE: &str = "RUNNER_ZYGOTE";

#[derive(Serialize, Deserialize)]
struct Request {
    cell: String,
    rep: Rep,
    tasks: Vec<Task>,
}

#[derive(Serialize, Deserialize)]
struct Response {
    result: RepResult,
    records: Vec<TaskRecord>,
}

/// The orchestrator's runner: glibc's cells in its own forked processes, the others through
/// the zygote of their allocator.
pub struct Preloading {
    pub inner: Isolated,
    /// How to start a zygote: the program's arguments (the experiment file and the options
    /// that shape preparation) and the run's results folder.
    pub args: Vec<String>,
    pub dir: PathBuf,
    zygotes: HashMap<&'static str, Zygote>,
}

struct Zygote {
    child: Child,
    to: ChildStdin,
    from: BufReader<ChildStdout>,
}

impl Preloading {
    pub fn new(inner: Isolated, args: Vec<String>, dir: PathBuf) -> Preloading {
        Preloading {
            inner,
            args,
            dir,
            zygotes: HashMap::new(),
        }
    }

    fn zygote(&mut self, name: &'static str, lib: &std::path::Path) -> Result<&mut Zygote, String> {
        if !self.zygotes.contains_key(name) {
            let exe = std::env::current_exe().map_err(|e| format!("cannot find the runner binary: {e}"))?;
            let mut child = proc::dies_with_parent(&mut Command::new(exe))
                .args(&self.args)
                .env(ZYGOTE, &self.dir)
                .env("LD_PRELOAD", lib)
                .env("RUNNER_ALLOCATOR", name)
                .env("RUNNER_ALLOCATOR_LIB", lib)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot start the {name} zygote: {e}"))?;
            let (to, from) = (
                child.stdin.take().ok_or("no stdin")?,
                child.stdout.take().ok_or("no stdout")?,
            );
            self.zygotes.insert(
                name,
                Zygote {
                    child,
                    to,
                    from: BufReader::new(from),
                },
            );
        }
        Ok(self.zygotes.get_mut(name).expect("inserted above"))
    }
}

impl RepRunner for Preloading {
    fn run(&mut self, cell: &Cell, rep: Rep, tasks: Vec<Task>, on_task: &mut dyn FnMut(TaskRecord)) -> RepResult {
        let Some((name, lib)) = allocator::preload(&cell.values) else {
            return self.inner.run(cell, rep, tasks, on_task);
        };
        let asked = self.zygote(name, &lib).and_then(|z| z.ask(cell, rep, tasks));
        match asked {
            Ok(res) => {
                res.records.into_iter().for_each(&mut *on_task);
                res.result
            }
            Err(e) => {
                // A zygote that failed once is started afresh for the next repetition.
                if let Some(mut z) = self.zygotes.remove(name) {
                    let _ = z.child.kill();
                    let _ = z.child.wait();
                }
                RepResult {
                    error: Some(format!("the {name} zygote: {e}")),
                    ..RepResult::default()
                }
            }
        }
    }
}

impl Zygote {
    fn ask(&mut self, cell: &Cell, rep: Rep, tasks: Vec<Task>) -> Result<Response, String> {
        let req = Request {
            cell: cell.id(),
            rep,
            tasks,
        };
        let mut line = serde_json::to_vec(&req).map_err(|e| e.to_string())?;
        line.push(b'\n');
        self.to
            .write_all(&line)
            .and_then(|_| self.to.flush())
            .map_err(|e| format!("cannot write to it: {e}"))?;
        let mut answer = String::new();
        match self.from.read_line(&mut answer) {
            Ok(0) => Err(format!(
                "it ended ({})",
                self.child.wait().map_or_else(|e| e.to_string(), |s| s.to_string())
            )),
            Ok(_) => serde_json::from_str(&answer).map_err(|e| format!("garbled answer: {e}")),
            Err(e) => Err(format!("cannot read from it: {e}")),
        }
    }
}

impl Drop for Preloading {
    fn drop(&mut self) {
        for (_, mut z) in self.zygotes.drain() {
            drop(z.to); // end of its input: it leaves
            let _ = z.child.wait();
        }
    }
}

/// The zygote's side: answers each request on stdin by running that repetition of one of
/// `cells` with `reps`, until stdin ends.
pub fn serve(cells: &[Cell], reps: &mut Isolated) -> anyhow::Result<()> {
    // The protocol keeps the real stdout; anything else printed goes to stderr.
    let out = nix::unistd::dup(std::io::stdout())?;
    nix::unistd::dup2_stdout(std::io::stderr())?;
    let mut out = std::fs::File::from(out);
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let req: Request = serde_json::from_str(&line?)?;
        let cell = cells
            .iter()
            .find(|c| c.id() == req.cell)
            .ok_or_else(|| anyhow::anyhow!("no cell {} in the plan", req.cell))?;
        let mut records = Vec::new();
        let result = reps.run(cell, req.rep, req.tasks, &mut |r| records.push(r));
        let mut answer = serde_json::to_vec(&Response { result, records })?;
        answer.push(b'\n');
        out.write_all(&answer)?;
        out.flush()?;
    }
    Ok(())
}
