//! The native workload: a user's shared library with the small C ABI of
//! `include/runner_plugin.h` (version 1), run under the runner's own pools. Each repetition
//! process opens the library before its pool starts (outside the measured time); every worker
//! thread or process calls `runner_init` while its pool starts, `runner_run` once per task and
//! `runner_fini` at shutdown. The library is checked in a throwaway process before anything runs.

use super::{Refused, WorkError};
use crate::tasks::Tasks;
use std::any::Any;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;
use toml::Spanned;

use super::own::{input_path, write_noise};
use super::{Context, Draws, Settings, TaskOutput, TaskState, Workload};
use crate::spec::{Section, SpecError};
use crate::task::Task;

/// The ABI version this runner speaks.
pub const ABI: u32 = 1;

pub struct Native;

/// `[native]` as the file spells it.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// The shared library (relative to this file) exporting include/runner_plugin.h's `runner_task`.
    #[schemars(with = "Option<String>")]
    library: Option<Spanned<String>>,
    /// Text handed to the library's `runner_setup`.
    config: Option<String>,
}

#[derive(Debug, Clone)]
struct NativeSettings {
    library: PathBuf,
    config: CString,
}

/// `runner_task`, as the header lays it out.
#[repr(C)]
struct RunnerTask {
    index: u64,
    seed: u64,
    input: *const c_char,
}

type AbiFn = unsafe extern "C" fn() -> u32;
type InitFn = unsafe extern "C" fn(*const c_char, u32, *mut c_char, usize) -> *mut c_void;
type RunFn = unsafe extern "C" fn(*mut c_void, *const RunnerTask, *mut c_char, usize) -> c_int;
type FiniFn = unsafe extern "C" fn(*mut c_void);

/// An opened plugin: its entry points.
struct Library {
    init: Option<InitFn>,
    run: RunFn,
    fini: Option<FiniFn>,
}

// SAFETY: function pointers into a library that stays loaded for the life of the process.
unsafe impl Send for Library {}
unsafe impl Sync for Library {}

/// Opens the library and finds its entry points; checks its ABI version.
fn open(path: &Path) -> Result<Library, WorkError> {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| "the path holds a NUL byte".to_string())?;
    // SAFETY: dlopen with a valid C string; the handle is kept for the life of the process.
    let handle = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(format!(
            "{} is not a shared object that loads here: {}",
            path.display(),
            dlerror()
        )
        .into());
    }
    let sym = |name: &str| -> *mut c_void {
        let n = CString::new(name).expect("a symbol name");
        // SAFETY: dlsym on a live handle with a valid C string.
        unsafe { libc::dlsym(handle, n.as_ptr()) }
    };
    let missing = |name: &str| {
        format!(
            "{} has no symbol `{name}` (see include/runner_plugin.h)",
            path.display()
        )
    };
    let abi = sym("runner_plugin_abi");
    if abi.is_null() {
        return Err(missing("runner_plugin_abi").into());
    }
    let run = sym("runner_run");
    if run.is_null() {
        return Err(missing("runner_run").into());
    }
    // SAFETY: the symbols have the types the header declares (the plugin's promise).
    let version = unsafe { std::mem::transmute::<*mut c_void, AbiFn>(abi)() };
    if version != ABI {
        return Err(format!(
            "{} speaks plugin ABI version {version}; this runner speaks version {ABI}",
            path.display()
        )
        .into());
    }
    let (init, fini) = (sym("runner_init"), sym("runner_fini"));
    // SAFETY: as above; a null optional symbol stays `None`.
    unsafe {
        Ok(Library {
            init: (!init.is_null()).then(|| std::mem::transmute::<*mut c_void, InitFn>(init)),
            run: std::mem::transmute::<*mut c_void, RunFn>(run),
            fini: (!fini.is_null()).then(|| std::mem::transmute::<*mut c_void, FiniFn>(fini)),
        })
    }
}

fn dlerror() -> String {
    // SAFETY: dlerror returns a thread-local message or null.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        return "unknown error".into();
    }
    // SAFETY: non-null: a NUL-terminated string owned by the loader.
    unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
}

/// The library this process opened (once, in the repetition process; its workers inherit it).
static OPENED: OnceLock<Result<Library, String>> = OnceLock::new();

fn library(s: &NativeSettings) -> Result<&'static Library, WorkError> {
    OPENED
        .get_or_init(|| open(&s.library).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| WorkError::Said(e.clone()))
}

/// An error buffer the plugin writes into, as text.
fn message(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).trim().to_string()
}

impl Workload for Native {
    fn section_schema(&self, generator: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(<Raw as schemars::JsonSchema>::json_schema(generator))
    }

    fn name(&self) -> &'static str {
        "native"
    }

    fn draws(&self) -> Draws {
        Draws::Inputs
    }

    fn runs_in(&self, python: bool) -> Result<(), Refused> {
        match python {
            false => Ok(()),
            true => Err("workload native runs under sequential, thread, process and hybrid".into()),
        }
    }

    fn settings(&self, section: &Section, used: bool) -> Result<Option<Box<dyn Any + Send + Sync>>, SpecError> {
        let raw: Raw = section.parse()?;
        let cx = section.fields;
        let library = match &raw.library {
            Some(v) if used => cx.existing("native.library", Some(v.span()), v.get_ref(), false)?,
            Some(v) => cx.resolve(v.get_ref()),
            None if used => return cx.err("native.library", None, "required: the shared library to run"),
            None => return Ok(None),
        };
        let config = CString::new(raw.config.unwrap_or_default())
            .or_else(|_| cx.err("native.config", None, "must not hold a NUL byte"))?;
        Ok(Some(Box::new(NativeSettings { library, config })))
    }

    /// Opens the library in a throwaway process: a file that is not a shared object, a missing
    /// symbol or another ABI version is refused before anything runs.
    fn check(&self, settings: &Settings, _python: Option<&Path>) -> Result<(), Refused> {
        let s: &NativeSettings = settings.get(self.name())?;
        crate::proc::in_child(|| open(&s.library).map(|_| String::new()))
            .map(|_| ())
            .map_err(|e| Refused::at("native.library", e.to_string()))
    }

    fn watched(&self, settings: &Settings) -> Vec<PathBuf> {
        settings
            .get::<NativeSettings>(self.name())
            .map_or_else(|_| Vec::new(), |s| vec![s.library.clone()])
    }

    fn enter(&self, ctx: &Context, _tasks: &Tasks) -> Result<(), WorkError> {
        library(ctx.settings.get(self.name())?).map(|_| ())
    }

    fn inputs(&self, ctx: &Context, tasks: &Tasks) -> Result<(), WorkError> {
        write_noise(ctx, tasks)
    }

    fn state(&self, ctx: &Context, worker: usize) -> Result<Box<dyn TaskState>, WorkError> {
        let s: &NativeSettings = ctx.settings.get(self.name())?;
        let lib = library(s)?;
        let mut err = vec![0u8; 1024];
        let state = match lib.init {
            // SAFETY: the ABI's init: a valid config string and an error buffer of its length.
            Some(init) => unsafe { init(s.config.as_ptr(), worker as u32, err.as_mut_ptr().cast(), err.len()) },
            None => std::ptr::null_mut(),
        };
        if state.is_null() && lib.init.is_some() {
            let why = message(&err);
            return Err(format!(
                "runner_init failed: {}",
                if why.is_empty() { "no reason given" } else { &why }
            )
            .into());
        }
        Ok(Box::new(NativeState { lib, state }))
    }
}

/// One worker's plugin state.
struct NativeState {
    lib: &'static Library,
    state: *mut c_void,
}

// SAFETY: each state is used by the one worker thread that built it.
unsafe impl Send for NativeState {}

impl TaskState for NativeState {
    fn run(&mut self, ctx: &Context, task: &Task, _out: &mut TaskOutput) -> Result<(), WorkError> {
        let input = input_path(ctx, task)
            .map(|p| CString::new(p.as_os_str().as_encoded_bytes()))
            .transpose()
            .map_err(|_| "the input path holds a NUL byte".to_string())?;
        let t = RunnerTask {
            index: task.index as u64,
            seed: task.seed,
            input: input.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
        };
        let mut err = vec![0u8; 1024];
        // SAFETY: the ABI's run: the worker's state, a task valid for the call, an error buffer.
        let code = unsafe { (self.lib.run)(self.state, &t, err.as_mut_ptr().cast(), err.len()) };
        match code {
            0 => Ok(()),
            c => {
                let why = message(&err);
                Err(format!(
                    "runner_run returned {c}{}",
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(": {why}")
                    }
                )
                .into())
            }
        }
    }
}

impl Drop for NativeState {
    fn drop(&mut self) {
        if let Some(fini) = self.lib.fini {
            // SAFETY: the state runner_init returned, finished once.
            unsafe { fini(self.state) }
        }
    }
}
