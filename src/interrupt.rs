//! Ctrl-C, SIGTERM and SIGHUP: the first Ctrl-C lets the current repetition finish and stops the
//! run; a second Ctrl-C, SIGTERM, or SIGHUP (a closed terminal, a lost ssh session) stops at
//! once. Handlers only count; the run loop acts.

use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static INTERRUPTS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // SIGTERM and SIGHUP mean "now": count them as two interrupts.
    let n = if sig == libc::SIGINT { 1 } else { 2 };
    INTERRUPTS.fetch_add(n, Ordering::SeqCst);
}

/// Installs the handlers (no `SA_RESTART`, so blocking calls return `EINTR` and the loop looks).
pub fn install() {
    let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::empty(), SigSet::empty());
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only touches an atomic.
        let _ = unsafe { sigaction(sig, &action) };
    }
}

/// Restores the default actions (in forked children, which the parent stops by itself).
pub fn reset_in_child() {
    let action = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: restoring the default disposition.
        let _ = unsafe { sigaction(sig, &action) };
    }
}

/// A signal stopped a repetition process from outside: the run stops now, as on SIGTERM.
pub fn stop_from_outside() {
    INTERRUPTS.fetch_add(2, Ordering::SeqCst);
}

/// Stop after the current repetition.
pub fn stop_requested() -> bool {
    INTERRUPTS.load(Ordering::SeqCst) >= 1
}

/// Stop now: kill the running repetition.
pub fn stop_now() -> bool {
    INTERRUPTS.load(Ordering::SeqCst) >= 2
}
