#!/usr/bin/env python3
"""Prints docs/performance.md's free-threading table from one run of
experiments/free-threading.toml: per workload and worker count, the median throughput of each
Python pool on each runtime (CPython 3.13.5 with the GIL; 3.13.5t with the GIL off and on), as
runs.csv's whole measured repetitions hold it, and each row's GIL as the workers read it.

Usage: free_threading_table.py RESULTS_DIR
"""
import csv
import os
import statistics as st
import sys


def main():
    d = sys.argv[1]
    rows = [r for r in csv.DictReader(open(os.path.join(d, "runs.csv"))) if r["warmup"] == "false" and not r["error"]]
    runtime = lambda r: f"{r['python_version']}{'t' if r['free_threaded'] == 'true' else ''} " + (
        f"(GIL {'off' if r['gil'] == 'disabled' else 'on'})" if r["free_threaded"] == "true" else "(GIL)")
    runtimes = list(dict.fromkeys(runtime(r) for r in sorted(rows, key=lambda r: (r["python"], r["python_gil"] != "off"))))
    pools = ["py-sequential", "py-thread", "py-process"]
    print("| workload | workers | pool | " + " | ".join(f"{rt} tasks/s" for rt in runtimes) + " | rounds |")
    print("|---|---:|---|" + "---:|" * (len(runtimes) + 1))
    for wl in dict.fromkeys(r["workload"] for r in rows):
        for w in sorted({int(r["workers"]) for r in rows if r["workload"] == wl}):
            for p in pools:
                cells, n = [], []
                for rt in runtimes:
                    rs = [r for r in rows if r["workload"] == wl and r["executor"] == p and int(r["workers"]) == w
                          and runtime(r) == rt]
                    cells.append(f"{st.median(float(r['throughput_tps']) for r in rs):.1f}" if rs else "-")
                    n.append(len(rs))
                if any(n):
                    print(f"| {wl} | {w} | {p} | " + " | ".join(cells) + f" | {min(x for x in n if x)}-{max(n)} |")
    asked = {(r["python_gil"], r["gil"], r["free_threaded"]) for r in rows}
    print(f"\n(asked, read, free-threaded) over every row: {sorted(asked)}; {len(rows)} whole measured "
          f"repetitions, {sum(r['noisy'] == 'true' for r in rows)} flagged noisy.")


if __name__ == "__main__":
    main()
