//! Repetitions under a preloaded allocator (the `allocator` axis). `LD_PRELOAD` takes effect
//! only at an exec, and a repetition process is forked from the orchestrator; so for each
//! allocator in use the orchestrator starts, once, a zygote: this same binary exec'd with the
//! library preloaded as `runner zygote` (a hidden subcommand), which loads the experiment and prepares its
//! workloads as a run does, then runs the repetitions it is sent as the orchestrator would
//! (forking each from itself, single-threaded) and sends back their results and task records.
//! Everything the zygote forks or starts inherits the preload and the environment.
//!
//! The protocol is one JSON line each way per repetition, on the zygote's stdin and stdout
//! (its stdout is moved to another descriptor first, so nothing else can write into it).

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use serde::{Deserialize, Serialize};

use super::{Ended, Failure, Isolated, RepResult, RepRunner};
use crate::executor::allocator;
use crate::interrupt;
use crate::plan::{Cell, Rep};
use crate::proc;
use crate::tasks::Tasks;
use crate::workload::TaskRecord;

#[derive(Serialize, Deserialize)]
struct Request {
    cell: String,
    rep: Rep,
    tasks: Tasks,
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
    /// that shape preparation), the run's results folder and the experiment's SHA-256.
    pub args: Vec<String>,
    pub dir: PathBuf,
    pub sha256: String,
    zygotes: HashMap<&'static str, Zygote>,
}

struct Zygote {
    child: Child,
    to: ChildStdin,
    from: ChildStdout,
}

impl Preloading {
    pub fn new(inner: Isolated, args: Vec<String>, dir: PathBuf, sha256: String) -> Preloading {
        Preloading {
            inner,
            args,
            dir,
            sha256,
            zygotes: HashMap::new(),
        }
    }

    fn zygote(&mut self, name: &'static str, lib: &std::path::Path) -> Result<&mut Zygote, String> {
        if !self.zygotes.contains_key(name) {
            let exe = std::env::current_exe().map_err(|e| format!("cannot find the runner binary: {e}"))?;
            let mut child = proc::dies_with_parent(&mut Command::new(exe))
                .arg("zygote")
                .arg("--dir")
                .arg(&self.dir)
                .args(["--sha256", &self.sha256])
                .args(["--allocator", name])
                .args(&self.args)
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
            self.zygotes.insert(name, Zygote { child, to, from });
        }
        Ok(self.zygotes.get_mut(name).expect("inserted above"))
    }
}

impl RepRunner for Preloading {
    fn run(&mut self, cell: &Cell, rep: Rep, tasks: Tasks, on_task: &mut dyn FnMut(TaskRecord)) -> RepResult {
        let Some((name, lib)) = allocator::preload(&cell.values) else {
            return self.inner.run(cell, rep, tasks, on_task);
        };
        let asked = match self.zygote(name, &lib) {
            Ok(z) => z.ask(cell, rep, tasks),
            Err(e) => Err(Asked::Failed(e)),
        };
        match asked {
            Ok(res) => {
                res.records.into_iter().for_each(&mut *on_task);
                if res.result.is_cut() {
                    // The zygote was told to stop (a signal to every process of the run).
                    interrupt::stop_from_outside();
                }
                res.result
            }
            Err(Asked::Stopped) => {
                // Told to stop at once: the zygote, and with it its repetition, goes now.
                if let Some(mut z) = self.zygotes.remove(name) {
                    let _ = z.child.kill();
                    let _ = z.child.wait();
                }
                RepResult::of(Ended::Cut)
            }
            Err(Asked::Failed(e)) => {
                // A zygote that failed once is started afresh for the next repetition.
                if let Some(mut z) = self.zygotes.remove(name) {
                    let _ = z.child.kill();
                    let _ = z.child.wait();
                }
                RepResult::failed(Failure::Other(format!("the {name} zygote: {e}")))
            }
        }
    }
}

/// Why a zygote gave no answer.
enum Asked {
    /// The run was told to stop at once while it ran the repetition.
    Stopped,
    Failed(String),
}

impl From<String> for Asked {
    fn from(e: String) -> Asked {
        Asked::Failed(e)
    }
}

impl Zygote {
    fn ask(&mut self, cell: &Cell, rep: Rep, tasks: Tasks) -> Result<Response, Asked> {
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
        let answer = self.answer()?;
        serde_json::from_slice(&answer).map_err(|e| Asked::Failed(format!("garbled answer: {e}")))
    }

    /// Its answer line, looking every 100 ms whether the run was told to stop at once.
    fn answer(&mut self) -> Result<Vec<u8>, Asked> {
        let mut answer = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if interrupt::stop_now() {
                return Err(Asked::Stopped);
            }
            let mut fds = [PollFd::new(self.from.as_fd(), PollFlags::POLLIN)];
            if poll(&mut fds, PollTimeout::from(100u16)).unwrap_or(0) == 0 {
                continue;
            }
            match self.from.read(&mut buf) {
                Ok(0) => {
                    let status = self.child.wait().map_or_else(|e| e.to_string(), |s| s.to_string());
                    return Err(Asked::Failed(format!("it ended ({status})")));
                }
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.last() == Some(&b'\n') {
                        return Ok(answer);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Asked::Failed(format!("cannot read from it: {e}"))),
            }
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
    // The protocol keeps the real stdout (closed in what this process execs); anything else
    // printed goes to stderr.
    let out = nix::fcntl::fcntl(std::io::stdout(), nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3))?;
    nix::unistd::dup2_stdout(std::io::stderr())?;
    // SAFETY: `out` is a descriptor fcntl just made, owned by nothing else.
    let mut out = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(out) };
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
