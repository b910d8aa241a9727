//! The command workload: a user's program, run once per task (`[command] argv`, with `{input}`,
//! `{index}`, `{seed}` and `{out}` filled in), under every pool. Its CPU counts as the
//! worker's children's (`wait4`), its peak RSS goes into `child_peak_rss_mib`, and a non-zero
//! exit or a signal fails the task with the status and the last KiB of its stderr.

use super::{Refused, WorkError};
use crate::tasks::Tasks;
use std::any::Any;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command as Cmd, Stdio};

use serde::Deserialize;
use toml::Spanned;

use super::own::{input_path, tail, write_noise};
use super::{Context, Draws, Settings, TaskOutput, TaskState, Workload};
use crate::proc::WaitStatus;
use crate::spec::{OneOrMany, Section, SpecError};
use crate::task::Task;

pub struct Command;

/// `argv`'s schema: one string, or a list whose words may repeat (unlike an axis's values).
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum Argv {
    One(String),
    Words(#[schemars(length(min = 1))] Vec<String>),
}

/// `[command]` as the file spells it.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// The program and its arguments (with `shell`, one string for /bin/sh -c); `{input}`,
    /// `{index}`, `{seed}` and `{out}` are filled in per task.
    #[schemars(with = "Option<Argv>")]
    argv: Option<Spanned<OneOrMany<String>>>,
    /// Run `argv` (one string) by /bin/sh.
    #[schemars(extend("default" = false))]
    shell: Option<bool>,
    /// What becomes of each task's standard output: `discard`, or `keep` (a file per task).
    #[schemars(with = "Option<Stdout>", extend("default" = "discard"))]
    stdout: Option<Spanned<String>>,
    /// Environment variables set for the program.
    #[serde(default)]
    env: BTreeMap<String, String>,
}

/// The words of `[command] stdout` and `[python] stdout`.
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum Stdout {
    Discard,
    Keep,
}

#[derive(Debug, Clone)]
pub struct CommandSettings {
    /// The program and its arguments; with `shell`, one string for `/bin/sh -c`.
    argv: Vec<String>,
    shell: bool,
    /// Keep each task's standard output as a file in the cell's folder.
    keep_stdout: bool,
    env: Vec<(String, String)>,
    /// The experiment file's folder: commands run there, and a relative program is found there.
    dir: PathBuf,
}

/// `stdout = "discard" | "keep"` (`key` names it in an error): whether output is kept.
pub(super) fn keep_stdout(cx: &crate::spec::Fields, key: &str, v: Option<&Spanned<String>>) -> Result<bool, SpecError> {
    match v.map(|v| v.get_ref().as_str()) {
        None | Some("discard") => Ok(false),
        Some("keep") => Ok(true),
        Some(other) => cx.err(
            key,
            v.map(|v| v.span()),
            format!("unknown value `{other}`; expected \"discard\" or \"keep\""),
        ),
    }
}

impl Workload for Command {
    fn section_schema(&self, generator: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(<Raw as schemars::JsonSchema>::json_schema(generator))
    }

    fn name(&self) -> &'static str {
        "command"
    }

    fn draws(&self) -> Draws {
        Draws::Inputs
    }

    fn settings(&self, section: &Section, used: bool) -> Result<Option<Box<dyn Any + Send + Sync>>, SpecError> {
        let raw: Raw = section.parse()?;
        let cx = section.fields;
        let (argv, span) = match &raw.argv {
            Some(v) => (v.get_ref().0.clone(), Some(v.span())),
            None if used => {
                return cx.err(
                    "command.argv",
                    None,
                    "the program to run is required, e.g. argv = [\"gzip\", \"-c\", \"{input}\"]",
                )
            }
            None => return Ok(None),
        };
        let shell = raw.shell.unwrap_or(false);
        if argv.is_empty() || argv[0].trim().is_empty() {
            return cx.err("command.argv", span, "must name a program");
        }
        if shell && argv.len() != 1 {
            return cx.err(
                "command.argv",
                span,
                "with shell = true, argv is one string for /bin/sh -c",
            );
        }
        let keep_stdout = keep_stdout(cx, "command.stdout", raw.stdout.as_ref())?;
        Ok(Some(Box::new(CommandSettings {
            argv,
            shell,
            keep_stdout,
            env: raw.env.into_iter().collect(),
            dir: cx.file.parent().unwrap_or(Path::new(".")).to_path_buf(),
        })))
    }

    fn check(&self, settings: &Settings, _python: Option<&Path>) -> Result<(), Refused> {
        let s: &CommandSettings = settings.get(self.name())?;
        let program = if s.shell { "/bin/sh" } else { &s.argv[0] };
        find_program(program, &s.dir)
            .map(|_| ())
            .ok_or_else(|| Refused::at("command.argv", format!("the program `{program}` was not found on PATH")))
    }

    fn inputs(&self, ctx: &Context, tasks: &Tasks) -> Result<(), WorkError> {
        write_noise(ctx, tasks)
    }

    fn python(&self, ctx: &Context) -> Result<Option<serde_json::Value>, WorkError> {
        let s: &CommandSettings = ctx.settings.get(self.name())?;
        std::fs::create_dir_all(&ctx.out_dir).map_err(|e| format!("cannot create {}: {e}", ctx.out_dir.display()))?;
        Ok(Some(serde_json::json!({
            "argv": s.argv,
            "shell": s.shell,
            "keep_stdout": s.keep_stdout,
            "env": s.env.iter().cloned().collect::<BTreeMap<_, _>>(),
            "dir": s.dir,
        })))
    }

    fn state(&self, ctx: &Context, _worker: usize) -> Result<Box<dyn TaskState>, WorkError> {
        let s: &CommandSettings = ctx.settings.get(self.name())?;
        let out = ctx.out_dir.join("stdout");
        std::fs::create_dir_all(if s.keep_stdout { &out } else { &ctx.out_dir })
            .map_err(|e| format!("cannot create {}: {e}", out.display()))?;
        Ok(Box::new(s.clone()))
    }
}

/// The program as the system would run it: a path (relative to `dir`), or a name on PATH.
fn find_program(program: &str, dir: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if program.contains('/') {
        let p = dir.join(program);
        return runnable(&p).then_some(p);
    }
    std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(program))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .find(|p| runnable(p))
}

/// `'text'`, for `/bin/sh`.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl CommandSettings {
    /// The argument list with the task's placeholders filled in (quoted for the shell).
    fn args(&self, ctx: &Context, task: &Task) -> Vec<String> {
        let input = input_path(ctx, task)
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let out = ctx.out_dir.display().to_string();
        let q = |s: &str| if self.shell { quoted(s) } else { s.to_string() };
        self.argv
            .iter()
            .map(|a| {
                a.replace("{input}", &q(&input))
                    .replace("{index}", &task.index.to_string())
                    .replace("{seed}", &task.seed.to_string())
                    .replace("{out}", &q(&out))
            })
            .collect()
    }
}

impl TaskState for CommandSettings {
    fn run(&mut self, ctx: &Context, task: &Task, out: &mut TaskOutput) -> Result<(), WorkError> {
        let args = self.args(ctx, task);
        let mut cmd = if self.shell {
            let mut c = Cmd::new("/bin/sh");
            c.arg("-c").arg(&args[0]);
            c
        } else {
            let mut c = Cmd::new(&args[0]);
            c.args(&args[1..]);
            c
        };
        let stdout = if self.keep_stdout {
            let path = ctx.out_dir.join("stdout").join(format!("{:04}.out", task.index));
            Stdio::from(std::fs::File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?)
        } else {
            Stdio::null()
        };
        // Marks the program and everything it starts, so what it leaves running is found.
        let marker = format!("{}:{}", std::process::id(), task.index);
        let mut child = crate::proc::dies_with_parent(&mut cmd)
            .envs(self.env.iter().cloned())
            .env(crate::proc::TASK_MARKER, &marker)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run `{}`: {e}", args[0]))?;
        // stderr is read beside the wait: a process the program left running may hold it open
        // until it is found and killed below.
        let (done, read) = std::sync::mpsc::channel();
        let reader = child.stderr.take().map(|mut e| {
            std::thread::spawn(move || {
                let mut stderr = Vec::new();
                let _ = e.read_to_end(&mut stderr);
                let _ = done.send(());
                stderr
            })
        });
        let (status, usage) = crate::proc::wait(nix::unistd::Pid::from_raw(child.id() as i32))?;
        out.child_peak_kib = usage.maxrss_kib;
        out.leaked = crate::proc::kill_leftovers(&marker);
        // stderr still open once the program ended: something it started holds it, which a
        // first look missed (it was mid-exec, or not yet handed to the reaper): look again.
        for _ in 0..100 {
            if reader.is_none() || read.recv_timeout(std::time::Duration::from_millis(20)).is_ok() {
                break;
            }
            for found in crate::proc::kill_leftovers(&marker) {
                if !out.leaked.contains(&found) {
                    out.leaked.push(found);
                }
            }
        }
        let stderr = reader.and_then(|r| r.join().ok()).unwrap_or_default();
        if status.success() {
            return Ok(());
        }
        Err(failure(status, &stderr).into())
    }
}

/// `exited with status 3: <the last KiB of stderr>`.
fn failure(status: WaitStatus, stderr: &[u8]) -> String {
    let err = tail(stderr, 1024);
    if err.is_empty() {
        format!("the command {}", status.describe())
    } else {
        format!("the command {}: {err}", status.describe())
    }
}
