#!/usr/bin/env python3
"""Prints the side-by-side table of issue 6's ratios from one benchmark run: the runner's results
folders of experiments/bench.toml and of one or more runs of bench-dispatch.toml, each holding the runner's pools and
Python's (the py-* executors) on the same draws.

Python's throughput and per-task figures leave out the interpreter's start-up (`interpreter_s`):
both sides count pool start, tasks and shutdown, as a long-running Python program pays them.

Usage: compare.py BENCH_DIR DISPATCH_DIR...
"""
import csv
import os
import statistics as st
import sys


def rows(path):
    return [r for r in csv.DictReader(open(path)) if r["warmup"] == "false" and not r["error"]]


def med(rs, key):
    vals = [float(r[key]) for r in rs if r.get(key) not in ("", None)]
    return st.median(vals) if vals else float("nan")


def tps(r):
    """Tasks per second over pool start, tasks and shutdown (without the interpreter's start)."""
    return float(r["tasks_ok"]) / (float(r["wall_s"]) - float(r.get("interpreter_s") or 0))


def main():
    bench_dir, disp_dirs = sys.argv[1], sys.argv[2:]
    runs = rows(os.path.join(bench_dir, "runs.csv"))
    ours = [r for r in runs if not r["executor"].startswith("py-")]
    peer = [r for r in runs if r["executor"].startswith("py-")]
    cores = int(runs[0]["cores"])
    pick = lambda rs, **kw: [r for r in rs if all(r[k] == str(v) for k, v in kw.items())]
    mtps = lambda rs: st.median([tps(r) for r in rs]) if rs else float("nan")
    lines = []
    add = lambda name, ours_v, peer_v, ratio, target, ok: lines.append((name, ours_v, peer_v, ratio, target, ok))

    targets = {"resize": 3.3, "classify": 1.4, "mixed": 1.8}
    for wl, target in targets.items():
        best_ours = max(mtps(pick(ours, workload=wl, executor=e)) for e in ("thread", "process"))
        best_peer = max(mtps(pick(peer, workload=wl, executor=e)) for e in ("py-thread", "py-process"))
        r = best_ours / best_peer
        add(f"{wl} throughput, best pool, 2 workers (tasks/s)", f"{best_ours:.1f}", f"{best_peer:.1f}", f"{r:.2f}x",
            f">= {target}x", r >= target)

    # The encode stage (two JPEGs per resize task) against Pillow's on the same outputs, in the
    # sequential cells: libjpeg-turbo on both sides (issue 26).
    enc = lambda e: st.median([float(r["encode_ms"]) / float(r["tasks_ok"]) for r in pick(runs, workload="resize", executor=e)])
    o, p = enc("sequential"), enc("py-sequential")
    add("resize encode stage, per task (ms), sequential cells", f"{o:.2f}", f"{p:.2f}", f"{o / p:.2f}x", "<= 1.1x", o / p <= 1.1)

    # Classify against the machine's limit: cores / (decode + preprocess + inference), each stage
    # measured alone in the sequential cell, vs the task phase of the best pool at workers = cores.
    seq = pick(ours, workload="classify", executor="sequential")
    per_task_ms = st.median(
        [(float(r["decode_ms"]) + float(r["preprocess_ms"]) + float(r["inference_ms"])) / float(r["tasks_ok"]) for r in seq])
    limit = cores * 1000.0 / per_task_ms
    best_phase = max(st.median([float(r["tasks_ok"]) / float(r["task_phase_s"]) for r in pick(ours, workload="classify", executor=e)])
                     for e in ("thread", "process"))
    add(f"classify task phase vs limit {cores} / (decode+preprocess+inference = {per_task_ms:.1f} ms)",
        f"{best_phase:.1f}", f"limit {limit:.1f}", f"{best_phase / limit * 100:.1f} %", ">= 95 %", best_phase / limit >= 0.95)

    # Per-task overhead of the harness and the pool on no-op tasks (issue 10's targets; the
    # process pool's is issue 26's): each run's median, then min / median / max over the runs.
    runs_d = [rows(os.path.join(d, "runs.csv")) for d in disp_dirs]
    per_task = lambda rs: st.median([float(r["task_phase_s"]) / float(r["tasks"]) * 1e6 for r in rs])
    for e, target in (("sequential", 1.0), ("thread", 5.0), ("process", 3.0)):
        o = [per_task(pick(d, executor=e, task_counters="off")) for d in runs_d]
        p = [per_task(pick(d, executor="py-" + e)) for d in runs_d]
        spread = max(o) / min(o)
        ok = st.median(o) <= target and (e != "process" or spread <= 2.0)
        add(f"{e}: no-op task, per-task overhead (us/task; min/median/max of {len(o)} runs, max/min {spread:.2f})",
            f"{min(o):.2f} / {st.median(o):.2f} / {max(o):.2f}", f"{st.median(p):.1f}", f"{st.median(o) / st.median(p):.2f}x",
            f"<= {target:.0f} us" + (", max/min <= 2" if e == "process" else ""), ok)

    # What reading each task's thread counters (two getrusage(RUSAGE_THREAD)) adds per task.
    for e in ("sequential", "thread", "process"):
        cost = [per_task(pick(d, executor=e, task_counters="on")) - per_task(pick(d, executor=e, task_counters="off")) for d in runs_d]
        add(f"{e}: task_counters on, added per no-op task (us; median of {len(cost)} runs)", f"{st.median(cost):.2f}", "-", "-",
            "<= 1 us (else off by default)", st.median(cost) <= 1.0)

    o = med(pick(ours, workload="classify", executor="process"), "pool_start_s")
    p = med(pick(peer, workload="classify", executor="py-process"), "pool_start_s")
    add("process pool start, 2 ORT workers ready (s)", f"{o:.3f}", f"{p:.3f}", f"{o / p:.2f}x", "<= 0.6x", o / p <= 0.6)

    o = med(pick(ours, workload="classify", executor="process"), "worker_pss_mib")
    p = med(pick(peer, workload="classify", executor="py-process"), "worker_pss_mib")
    add("classify worker memory, PSS against PSS (MiB per worker)", f"{o:.0f}", f"{p:.0f}", f"{o / p:.2f}x",
        "<= 0.6x", o / p <= 0.6)

    print(f"| measure | runner | Python | ratio | target | met |\n|---|---:|---:|---:|---|---|")
    for name, a, b, r, t, ok in lines:
        print(f"| {name} | {a} | {b} | {r} | {t} | {'yes' if ok else 'NO'} |")
    interp = med(peer, "interpreter_s")
    print(f"\nPython's interpreter start-up (imports included), left out above: median {interp:.3f} s per repetition.")

    print("\nPer-task stage means (ms), sequential cells (sequential, py-sequential):")
    print("| workload | side | decode | resize | encode+save | preprocess | inference |\n|---|---|---:|---:|---:|---:|---:|")
    for wl in ("resize", "classify"):
        for side, e in (("runner", "sequential"), ("Python", "py-sequential")):
            s = pick(runs, workload=wl, executor=e)
            n = lambda k: st.median([float(r[k]) / float(r["tasks_ok"]) for r in s])
            print(f"| {wl} | {side} | {n('decode_ms'):.1f} | {n('resize_ms'):.1f} | {n('encode_ms') + n('save_ms'):.1f} | "
                  f"{n('preprocess_ms'):.1f} | {n('inference_ms'):.1f} |")


if __name__ == "__main__":
    main()
