//! Process plumbing, in one place for everything that forks: the single-thread guard, fork with
//! `_exit`, `wait4` with its usage (retried on `EINTR`), exit-status descriptions, killing a
//! process group, reaping orphans we adopted as subreaper, and memory a parent shares with the
//! children it forks (with a message ring in it, ring.rs); CPU affinity (pinning) in affinity.rs.

use std::io::Write;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::{fork, ForkResult, Pid};

use crate::measure::{thread_count, Usage};

mod affinity;
mod error;
pub mod ring;
mod status;
pub use affinity::{affinity, allowed_cores, can_pin, pin_to};
pub use error::{ChildFailure, ProcError};
pub use status::WaitStatus;

/// Refuses to fork from a process with more than one thread: the child of a threaded parent can
/// inherit a lock some other thread held, and hang on it.
pub fn ensure_single_threaded() -> Result<(), ProcError> {
    match thread_count() {
        n if n > 1 => Err(ProcError::Threaded(n)),
        _ => Ok(()),
    }
}

/// Gives the memory this process has freed back to the system (glibc keeps it in its heap), so
/// that a child forked next does not count it: a measured process inherits its parent's resident
/// pages, and the orchestrator has just freed the records of a million-task repetition.
pub fn trim_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Forks a child that runs `child` and leaves with its return value as exit code, through
/// `_exit`: no destructor or buffered writer of the parent runs twice. Returns the child's pid.
/// The child dies with its parent ([`die_with_parent`]).
pub fn spawn(child: impl FnOnce() -> i32) -> Result<Pid, ProcError> {
    ensure_single_threaded()?;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    let parent = nix::unistd::getpid();
    // SAFETY: this process is single-threaded (checked above), so the child may run any code.
    match unsafe { fork() }.map_err(|errno| ProcError::Sys { what: "fork", errno })? {
        ForkResult::Child => {
            die_with_parent(parent);
            exit_now(child())
        }
        ForkResult::Parent { child } => Ok(child),
    }
}

/// Zeroed memory shared with every child forked after it is made (`MAP_SHARED | MAP_ANONYMOUS`);
/// unmapped when dropped (in each process that holds it).
pub struct SharedMap {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; what is written in it, and how it is
// ordered, is up to its users (the fork pool's rings order it with atomics).
unsafe impl Send for SharedMap {}
unsafe impl Sync for SharedMap {}

impl SharedMap {
    pub fn new(len: usize) -> Result<SharedMap, ProcError> {
        // SAFETY: a fresh anonymous mapping, no address hint; checked for failure below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(ProcError::Map {
                len,
                errno: Errno::last(),
            });
        }
        Ok(SharedMap { ptr: ptr.cast(), len })
    }

    pub fn ptr(&self) -> *mut u8 {
        self.ptr
    }

    pub fn size(&self) -> usize {
        self.len
    }
}

impl Drop for SharedMap {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `new` made; nothing refers to it after the drop.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// In a fresh child (after fork, or before exec): be killed as soon as the parent dies, so no
/// repetition or worker outlives a runner killed with SIGKILL or hung up. The parent may have
/// died already, between the fork and this call: then leave at once, writing nothing.
pub fn die_with_parent(parent: Pid) {
    // SAFETY: prctl(PR_SET_PDEATHSIG) only sets this process's death signal.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) };
    if nix::unistd::getppid() != parent {
        exit_now(1);
    }
}

/// For a program the runner starts (an interpreter, a command task's program): the same
/// death with its parent, set between its fork and its exec.
pub fn dies_with_parent(cmd: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    let parent = nix::unistd::getpid();
    // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            if libc::getppid() != parent.as_raw() {
                libc::_exit(1);
            }
            Ok(())
        })
    }
}

/// For a program the runner starts: `fds[i].0` becomes its descriptor `fds[i].1` (open across
/// the exec; every other descriptor of the runner's stays closed on exec as Rust opens them).
/// Each is first moved above the targets, so no target is overwritten before it is read.
pub fn pass_fds<'a>(cmd: &'a mut std::process::Command, fds: &[(RawFd, RawFd)]) -> &'a mut std::process::Command {
    use std::os::unix::process::CommandExt;
    let fds = fds.to_vec();
    // SAFETY: only async-signal-safe calls (fcntl, dup2) between fork and exec, on descriptors
    // the parent keeps open until the spawn returns.
    unsafe {
        cmd.pre_exec(move || {
            let mut moved = Vec::with_capacity(fds.len());
            for &(from, _) in &fds {
                let high = libc::fcntl(from, libc::F_DUPFD_CLOEXEC, 64);
                if high < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                moved.push(high);
            }
            for (&high, &(_, to)) in moved.iter().zip(&fds) {
                if libc::dup2(high, to) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        })
    }
}

/// Waits up to `limit` for `pid` (which is ending: its pipes closed), then kills it and
/// waits; its status and usage as [`wait`] gives them.
pub fn wait_within(pid: Pid, limit: Duration) -> Result<(WaitStatus, Usage), ProcError> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match nix::sys::wait::waitid(
            nix::sys::wait::Id::Pid(pid),
            nix::sys::wait::WaitPidFlag::WEXITED
                | nix::sys::wait::WaitPidFlag::WNOHANG
                | nix::sys::wait::WaitPidFlag::WNOWAIT,
        ) {
            Ok(nix::sys::wait::WaitStatus::StillAlive) => std::thread::sleep(Duration::from_millis(5)),
            _ => return wait(pid),
        }
    }
    kill_and_wait(pid)
}

/// Runs `check` in a throwaway child (so that what it loads or breaks stays out of this process)
/// and returns its text: `Ok` with what it returned, or `Err` with its error's words (they
/// cross the process boundary as text), or how the child died (a library that crashes as it
/// loads).
pub fn in_child<E: std::fmt::Display>(check: impl FnOnce() -> Result<String, E>) -> Result<String, ChildFailure> {
    let (rd, wr) = nix::unistd::pipe().map_err(|errno| ProcError::Sys { what: "pipe", errno })?;
    let child = spawn(|| {
        let (code, text) = match check() {
            Ok(t) => (0, t),
            Err(e) => (1, e.to_string()),
        };
        let mut rest = text.as_bytes();
        while let Ok(n) = nix::unistd::write(&wr, rest) {
            if n == 0 || n == rest.len() {
                break;
            }
            rest = &rest[n..];
        }
        code
    })?;
    drop(wr);
    let mut text = String::new();
    let _ = std::io::Read::read_to_string(&mut std::fs::File::from(rd), &mut text);
    let (status, _) = wait(child)?;
    match (status.success(), text.is_empty()) {
        (true, _) => Ok(text),
        (false, false) if libc::WIFEXITED(status.0) => Err(ChildFailure::Refused(text)),
        _ => Err(ChildFailure::Died(status)),
    }
}

/// Leaves the process at once, without running destructors or flushing buffers.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit ends the process; nothing of the parent's state is touched.
    unsafe { libc::_exit(code) }
}

/// Waits for `pid` to end; returns its status and the CPU time and peak RSS of it and every
/// descendant it waited for.
pub fn wait(pid: Pid) -> Result<(WaitStatus, Usage), ProcError> {
    let mut status = 0;
    // SAFETY: wait4 writes only into the two out-parameters.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe { libc::wait4(pid.as_raw(), &mut status, 0, &mut ru) };
        if r == pid.as_raw() {
            return Ok((WaitStatus(status), Usage::from_rusage(&ru)));
        }
        let errno = Errno::last();
        if errno != Errno::EINTR {
            return Err(ProcError::Unreaped(errno));
        }
    }
}

/// Kills `pid` and reaps it.
pub fn kill_and_wait(pid: Pid) -> Result<(WaitStatus, Usage), ProcError> {
    let _ = kill(pid, Signal::SIGKILL);
    wait(pid)
}

/// Kills every descendant of this process (an interpreter and its pool, wherever they are in
/// the process groups) and reaps what it can within `limit`; returns their usage.
pub fn kill_descendants(limit: Duration) -> Usage {
    let me = std::process::id() as i32;
    for pid in crate::measure::tree_pids(me).into_iter().skip(1) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    reap_all(limit)
}

/// Kills the whole process group led by `leader` (a repetition and all its workers).
pub fn kill_group(leader: Pid) {
    let _ = killpg(leader, Signal::SIGKILL);
}

/// Puts the child in its own process group, from both sides of the fork (whichever runs first).
pub fn own_group(pid: Pid) {
    let _ = nix::unistd::setpgid(pid, pid);
}

/// Makes this process the reaper of its orphaned descendants (Linux child subreaper), so a
/// worker outliving its repetition process comes back here to be reaped.
pub fn become_subreaper() {
    let _ = nix::sys::prctl::set_child_subreaper(true);
    SUBREAPER.store(std::process::id() as i32, std::sync::atomic::Ordering::Relaxed);
}

/// The nearest subreaper this process made itself or inherited the knowledge of (a fork keeps
/// it): where a program's orphans go. 0: none (init's, or the orchestrator's).
static SUBREAPER: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// The environment entry that marks every process a command task starts, for [`kill_leftovers`].
pub const TASK_MARKER: &str = "RUNNER_COMMAND_TASK";

/// The processes a command task left running once its program ended, killed: they are the
/// orphans (the nearest subreaper's children, or theirs, found again after each kill) whose
/// environment carries `TASK_MARKER=marker`. Each as `pid 123 (sleep 30)`. A leftover that
/// cleared its environment or moved to another session's reaper is not found.
pub fn kill_leftovers(marker: &str) -> Vec<String> {
    let reaper = SUBREAPER.load(std::sync::atomic::Ordering::Relaxed);
    if reaper == 0 {
        return Vec::new();
    }
    let entry = format!("{TASK_MARKER}={marker}");
    let (mut found, mut killed) = (Vec::new(), Vec::new());
    // Killing a leftover orphans its own children, which come to the reaper in turn; one that
    // is killed but not yet gone (or a zombie the reaper has yet to reap) counts once. A child
    // whose environment reads empty while it lives is in the middle of an exec: looked at again.
    for _ in 0..64 {
        let (mut mine, mut pending) = (Vec::new(), false);
        for pid in children_of(reaper).into_iter().filter(|pid| !killed.contains(pid)) {
            let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            if env.split(|&b| b == 0).any(|v| v == entry.as_bytes()) {
                mine.push(pid);
            } else if env.is_empty() && !is_zombie(pid) {
                pending = true;
            }
        }
        if mine.is_empty() && !pending {
            break;
        }
        if mine.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
        }
        for pid in mine {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ").trim().to_string();
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            killed.push(pid);
            if reaper == std::process::id() as i32 {
                // Ours to reap (the thread pool and the loop run in the reaper itself).
                let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
            }
            found.push(format!("pid {pid} ({})", crate::spec::printable(&cmd)));
        }
    }
    found
}

/// Whether `pid` has exited and waits to be reaped (or is gone).
fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with(['Z', 'X'])))
        .unwrap_or(true)
}

/// The children of `pid`: every process whose parent it is, from a walk of `/proc`. Not the
/// threads' `children` files, which skip a child when another is reaped during the read (as a
/// thread pool's other task does with its own leftover); a walk of `/proc` by pid misses no
/// process that lives throughout it.
fn children_of(pid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut stat = Vec::with_capacity(512);
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&child| parent_of(child, &mut stat) == Some(pid))
        .collect()
}

/// The parent of `pid`, from `/proc/<pid>/stat` (read into `buf`), or None once it is gone.
fn parent_of(pid: i32, buf: &mut Vec<u8>) -> Option<i32> {
    use std::io::Read;
    buf.clear();
    std::fs::File::open(format!("/proc/{pid}/stat"))
        .ok()?
        .read_to_end(buf)
        .ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so from the last ')'.
    let at = buf.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&buf[at + 1..]).ok()?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// In a fresh child: closes every descriptor but standard input, output, error and `keep`, so a
/// descendant holds only what it uses (an inherited pipe end would hide its reader's end of file).
pub fn close_other_fds(keep: &[RawFd]) {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<RawFd> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2 && !keep.contains(fd))
        .collect();
    for fd in fds {
        // SAFETY: the child never uses these descriptors again (it leaves through `_exit`); the
        // one `read_dir` had open is closed already, and closing it twice only fails.
        unsafe { libc::close(fd) };
    }
}

/// After a kill: waits up to `limit` until every child (adopted orphans included) is reaped, so
/// nothing of ours is left in the process table; returns their usage.
pub fn reap_all(limit: Duration) -> Usage {
    let start = Instant::now();
    let mut total = Usage::default();
    loop {
        let mut status = 0;
        // SAFETY: wait4 writes only into the two out-parameters.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(-1, &mut status, libc::WNOHANG, &mut ru) };
        if r > 0 {
            total = total.plus(Usage::from_rusage(&ru));
            continue;
        }
        let e = std::io::Error::last_os_error();
        let none_left = r < 0 && e.raw_os_error() == Some(libc::ECHILD);
        if none_left || (r < 0 && e.kind() != std::io::ErrorKind::Interrupted) || start.elapsed() > limit {
            return total;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Forking is tested through the executors (tests/it/faults.rs): the test harness is threaded.
    #[test]
    fn statuses_are_described() {
        assert_eq!(WaitStatus(3 << 8).describe(), "exited with status 3");
        assert!(WaitStatus(0).success() && !WaitStatus(3 << 8).success());
        assert_eq!(WaitStatus(9).describe(), "killed by signal 9 (SIGKILL)");
        for s in [
            WaitStatus(0),
            WaitStatus(3 << 8),
            WaitStatus(255 << 8),
            WaitStatus(9),
            WaitStatus(15),
            WaitStatus(0x137f),
        ] {
            assert_eq!(WaitStatus::parse(&s.describe()), Some(s), "{}", s.describe());
        }
        assert_eq!(WaitStatus::parse("exited with status 3 and more"), None);
        assert!(!WaitStatus(9).success());
        assert!(WaitStatus(libc::SIGTERM).stopped_from_outside() && !WaitStatus(9).stopped_from_outside());
        assert!(!WaitStatus(0).stopped_from_outside());
    }

    #[test]
    fn a_threaded_process_refuses_to_fork() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || rx.recv());
        let e = spawn(|| 0).unwrap_err();
        assert!(matches!(e, ProcError::Threaded(n) if n > 1), "{e}");
        assert!(e.to_string().starts_with("refusing to fork: this process has"), "{e}");
        drop(tx);
        let _ = t.join();
    }
}
