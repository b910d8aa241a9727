//! The plugin ABI of `include/runner_plugin.h` (version 1) in Rust: each task runs `rounds`
//! steps of a xorshift recurrence seeded by the task (config `rounds=N`, default 1000000).

use std::ffi::{c_char, c_int, c_void, CStr};

#[repr(C)]
pub struct RunnerTask {
    pub index: u64,
    pub seed: u64,
    /// The task's input file, or null.
    pub input: *const c_char,
}

struct State {
    rounds: u64,
}

/// Writes `msg` into the runner's error buffer, NUL-terminated and cut to fit.
unsafe fn set_err(err: *mut c_char, len: usize, msg: &str) {
    if err.is_null() || len == 0 {
        return;
    }
    let n = msg.len().min(len - 1);
    std::ptr::copy_nonoverlapping(msg.as_ptr(), err.cast::<u8>(), n);
    *err.add(n) = 0;
}

#[no_mangle]
pub extern "C" fn runner_plugin_abi() -> u32 {
    1
}

/// # Safety
/// `config` is a NUL-terminated string, `err` a buffer of `err_len` bytes (the ABI).
#[no_mangle]
pub unsafe extern "C" fn runner_init(config: *const c_char, _worker: u32, err: *mut c_char, err_len: usize) -> *mut c_void {
    let config = if config.is_null() { "" } else { CStr::from_ptr(config).to_str().unwrap_or("") };
    let mut rounds = 1_000_000;
    for part in config.split_whitespace() {
        match part.strip_prefix("rounds=").map(str::parse::<u64>) {
            Some(Ok(n)) => rounds = n,
            _ => {
                set_err(err, err_len, &format!("unknown config `{part}`; expected rounds=N"));
                return std::ptr::null_mut();
            }
        }
    }
    Box::into_raw(Box::new(State { rounds })).cast()
}

/// # Safety
/// `state` came from `runner_init`, `task` is valid for the call (the ABI).
#[no_mangle]
pub unsafe extern "C" fn runner_run(state: *mut c_void, task: *const RunnerTask, _err: *mut c_char, _err_len: usize) -> c_int {
    let s = &*state.cast::<State>();
    let mut x = (*task).seed | 1;
    for _ in 0..s.rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x);
    0
}

/// # Safety
/// `state` came from `runner_init` and is finished once.
#[no_mangle]
pub unsafe extern "C" fn runner_fini(state: *mut c_void) {
    if !state.is_null() {
        drop(Box::from_raw(state.cast::<State>()));
    }
}
