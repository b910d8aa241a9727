//! CPU affinity: the cores this process may run on, pinning a thread to one, and whether the
//! machine allows it (the `pinning` axis and tasks.csv's `cpus`).

use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

use super::ProcError;

/// The cores this process may run on (its affinity mask), in order.
pub fn allowed_cores() -> Vec<usize> {
    match sched_getaffinity(Pid::from_raw(0)) {
        Ok(set) => (0..CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap_or(false))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Pins the calling thread to one core.
pub fn pin_to(core: usize) -> Result<(), ProcError> {
    let mut set = CpuSet::new();
    set.set(core).map_err(|_| ProcError::NoCore(core))?;
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|errno| ProcError::Pin { core, errno })
}

/// The calling thread's affinity mask as a list of cores: `0`, `0-1`, `0,2-3`.
pub fn affinity() -> String {
    let cores = allowed_cores();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cores.len() {
        let mut j = i;
        while j + 1 < cores.len() && cores[j + 1] == cores[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            cores[i].to_string()
        } else {
            format!("{}-{}", cores[i], cores[j])
        });
        i = j + 1;
    }
    out.join(",")
}

/// Whether threads can be pinned here: reads the mask and pins a throwaway thread to its first
/// core (containers and some schedulers forbid it).
pub fn can_pin() -> Result<(), ProcError> {
    let cores = allowed_cores();
    let Some(&first) = cores.first() else {
        return Err(ProcError::NoMask);
    };
    std::thread::spawn(move || pin_to(first))
        .join()
        .map_err(|_| ProcError::PinPanicked)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_thread_runs_on_exactly_its_core() {
        let cores = allowed_cores();
        assert!(!cores.is_empty());
        let last = *cores.last().unwrap();
        let mask = std::thread::spawn(move || {
            pin_to(last).unwrap();
            affinity()
        })
        .join()
        .unwrap();
        assert_eq!(mask, last.to_string());
        assert!(can_pin().is_ok());
    }
}
