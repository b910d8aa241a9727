#!/usr/bin/env python3
"""The scale step of bench/run (issue 36): no-op tasks (sleep 0 ms) at 10^3, 10^4, 10^5 and 10^6
per repetition for sequential, thread, process and py-process (2 workers; py-process with
py_chunksize 64, as a user would send a million tiny tasks), one run per size, then `runner
report` on each result. Prints, per size and pool:

- the measured PSS peak (what the answer reports as the pool's memory): flat when the harness
  weighs nothing, since a no-op task needs no memory;
- the measured tree's CPU per task (user + sys of the repetition's processes over the tasks:
  for a no-op task, all of it is the harness and the pool);
- the orchestrator's CPU per row (reading records and writing tasks.csv and run.log), as rows
  written per CPU second;
- `runner report`'s wall time and peak RSS on the result (its tasks.csv holds every row).

Usage: scale.py RUNNER [SIZE...]     (sizes default to 1000 10000 100000 1000000)
"""
import csv
import os
import subprocess
import sys
import tempfile

POOLS = ["sequential", "thread", "process", "py-process"]

EXPERIMENT = """name = "scale"
workload = "sleep"
executor = {pools}
workers = 2
py_chunksize = 64
sets = {sets}
repetitions = 1
warmup = 0
order = "cells"
seed = 36
[sleep]
ms = 0
[output]
dir = "{out}"
"""


def timed(cmd):
    """Wall seconds and peak RSS (MiB) of one command, measured in a child of its own."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
             "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], check=True, capture_output=True, text=True).stdout
    wall, kib = out.split()
    return float(wall), int(kib) / 1024


def one_size(runner, tmp, n):
    sets = n // 3  # sleep draws 3 tasks a set; 10^6 is the most a repetition may hold
    out = os.path.join(tmp, f"out-{n}")
    path = os.path.join(tmp, f"scale-{n}.toml")
    with open(path, "w") as f:
        f.write(EXPERIMENT.format(pools=POOLS, sets=sets, out=out))
    subprocess.run([runner, path, "--quiet", "--allow-large"], check=True, stdout=subprocess.DEVNULL)
    (run,) = os.listdir(os.path.join(out, "scale"))
    folder = os.path.join(out, "scale", run)
    rows = list(csv.DictReader(open(os.path.join(folder, "runs.csv"))))
    report_s, report_mib = timed([runner, "report", folder])
    for r in rows:
        tasks = int(r["tasks"])
        cpu_us = 1e6 * (float(r["user_s"]) + float(r["sys_s"])) / tasks
        orch = float(r["orchestrator_cpu_s"] or "nan")
        yield {
            "tasks": tasks,
            "pool": r["executor"],
            "ok": r["tasks_ok"] == r["tasks"] and not r["error"],
            "pss": float(r["pss_peak_mib"]),
            "cpu_us": cpu_us,
            "rows_per_s": tasks / orch if orch > 0 else float("nan"),
            "report_s": report_s,
            "report_mib": report_mib,
        }


def main():
    runner = sys.argv[1]
    sizes = [int(s) for s in sys.argv[2:]] or [1000, 10_000, 100_000, 1_000_000]
    results = []
    with tempfile.TemporaryDirectory(prefix="runner-scale-") as tmp:
        for n in sizes:
            results.extend(one_size(runner, tmp, n))
    print("| tasks per repetition | pool | PSS peak MiB | tree CPU per task µs | rows written per orchestrator CPU s | `runner report` s | `runner report` peak RSS MiB |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in results:
        flag = "" if r["ok"] else " (failed tasks)"
        print(f"| {r['tasks']:,} | {r['pool']}{flag} | {r['pss']:.1f} | {r['cpu_us']:.2f} | {r['rows_per_s']:,.0f} "
              f"| {r['report_s']:.2f} | {r['report_mib']:.0f} |")
    print()
    small, large = min(sizes), max(sizes)
    for pool in POOLS:
        at = {r["tasks"]: r for r in results if r["pool"] == pool}
        lo = min(at, key=lambda t: abs(t - small))
        hi = min(at, key=lambda t: abs(t - large))
        grew = at[hi]["pss"] - at[lo]["pss"]
        verdict = "within 5 MiB" if abs(grew) <= 5 else "NOT within 5 MiB"
        per_task = grew * 2**20 / (hi - lo) if hi > lo else float("nan")
        print(f"{pool}: PSS at {hi:,} tasks - PSS at {lo:,} = {grew:+.1f} MiB ({verdict}), "
              f"{per_task:+.1f} bytes a task; tree CPU per task at {hi:,}: {at[hi]['cpu_us']:.2f} µs")
    worst = max(r["report_s"] for r in results)
    print(f"runner report: slowest {worst:.2f} s, largest peak RSS {max(r['report_mib'] for r in results):.0f} MiB")


if __name__ == "__main__":
    main()
