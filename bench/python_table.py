#!/usr/bin/env python3
"""Prints docs/performance.md's side-by-side table of Rust's and Python's pools from one run of
experiments/python.toml: per workload and worker count, the median throughput of each pool, the
speedup of each over its own language's sequential cell, Python's process pool against its
thread pool, and Rust's best pool against Python's best. Medians over whole repetitions, from
the run's summary statistics as runs.csv holds them (throughput_tps: tasks over wall_s, the
interpreter's start-up included for Python; interpreter_s is shown on its own).

Usage: python_table.py RESULTS_DIR
"""
import csv
import os
import statistics as st
import sys


def main():
    d = sys.argv[1]
    rows = [r for r in csv.DictReader(open(os.path.join(d, "runs.csv"))) if r["warmup"] == "false" and not r["error"]]
    med = lambda rs, k: st.median(float(r[k]) for r in rs) if rs else float("nan")
    pick = lambda **kw: [r for r in rows if all(r[k] == str(v) for k, v in kw.items())]
    pools = ["thread", "process", "py-thread", "py-process"]
    print("| workload | workers | " + " | ".join(f"{p} tasks/s (speedup)" for p in pools)
          + " | py-process / py-thread | Rust best / Python best |")
    print("|---|---:|" + "---:|" * (len(pools) + 2))
    for wl in dict.fromkeys(r["workload"] for r in rows):
        base = {lang: med(pick(workload=wl, executor=e), "wall_s") for lang, e in (("rust", "sequential"), ("py", "py-sequential"))}
        workers = sorted({int(r["workers"]) for r in rows if r["workload"] == wl and r["executor"] in pools})
        for w in workers:
            tps, cells = {}, []
            for p in pools:
                rs = pick(workload=wl, executor=p, workers=w)
                tps[p] = med(rs, "throughput_tps")
                speedup = base["py" if p.startswith("py-") else "rust"] / med(rs, "wall_s")
                cells.append(f"{tps[p]:.1f} ({speedup:.2f}x)")
            gil = tps["py-process"] / tps["py-thread"]
            lang = max(tps["thread"], tps["process"]) / max(tps["py-thread"], tps["py-process"])
            print(f"| {wl} | {w} | " + " | ".join(cells) + f" | {gil:.2f}x | {lang:.2f}x |")
    py = [r for r in rows if r["executor"].startswith("py-")]
    print(f"\nPython's interpreter start-up (imports included, inside every Python wall time): median "
          f"{med(py, 'interpreter_s'):.3f} s; Python pool start with 2 classify workers: thread "
          f"{med(pick(workload='classify', executor='py-thread', workers=2), 'pool_start_s'):.3f} s, process "
          f"{med(pick(workload='classify', executor='py-process', workers=2), 'pool_start_s'):.3f} s.")
    noisy = sum(r["noisy"] == "true" for r in rows)
    print(f"{len(rows)} whole measured repetitions, {noisy} flagged noisy.")


if __name__ == "__main__":
    main()
