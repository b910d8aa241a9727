#!/usr/bin/env python3
"""Prints the side-by-side table of issue 6's ratios from one benchmark run: the runner's
results folders (bench and bench-dispatch) and the Python peer's CSVs for the same tasks.

Usage: compare.py RUNNER_BENCH_DIR PEER_BENCH_CSV RUNNER_DISPATCH_DIR PEER_DISPATCH_CSV
"""
import csv
import os
import statistics as st
import sys


def rows(path):
    return [r for r in csv.DictReader(open(path)) if r["warmup"] == "false"]


def med(rs, key):
    vals = [float(r[key]) for r in rs if r.get(key) not in ("", None)]
    return st.median(vals) if vals else float("nan")


def main():
    bench_dir, peer_csv, disp_dir, peer_disp_csv = sys.argv[1:5]
    ours = rows(os.path.join(bench_dir, "runs.csv"))
    peer = rows(peer_csv)
    cores = int(ours[0]["cores"])
    pick = lambda rs, **kw: [r for r in rs if all(r[k] == str(v) for k, v in kw.items())]
    lines = []
    add = lambda name, ours_v, peer_v, ratio, target, ok: lines.append((name, ours_v, peer_v, ratio, target, ok))

    targets = {"resize": 3.0, "classify": 1.4, "mixed": 1.8}
    for wl, target in targets.items():
        best_ours = max(med(pick(ours, workload=wl, executor=e), "throughput_tps") for e in ("thread", "process"))
        best_peer = max(med(pick(peer, workload=wl, executor=e, workers=2), "throughput_tps") for e in ("thread", "process"))
        r = best_ours / best_peer
        add(f"{wl} throughput, best pool, 2 workers (tasks/s)", f"{best_ours:.1f}", f"{best_peer:.1f}", f"{r:.2f}x",
            f">= {target}x", r >= target)

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

    d_ours = rows(os.path.join(disp_dir, "runs.csv"))
    d_peer = rows(peer_disp_csv)
    # Per-task overhead of the harness and the pool on no-op tasks (issue 10's targets). The peer
    # replays the sequential cell as a one-thread pool, its own baseline.
    for e, target in (("sequential", 1.0), ("thread", 5.0), ("process", 20.0)):
        per_task = lambda rs: st.median([float(r["task_phase_s"]) / float(r["tasks"]) * 1e6 for r in rs])
        o = per_task(pick(d_ours, executor=e))
        p = per_task([r for r in d_peer if r["cell"].split("-")[1] == e])
        add(f"{e}: no-op task, per-task overhead (us/task)", f"{o:.2f}", f"{p:.1f}", f"{o / p:.2f}x", f"<= {target:.0f} us", o <= target)

    o = med(pick(ours, workload="classify", executor="process"), "pool_start_s")
    p = med(pick(peer, workload="classify", executor="process", workers=2), "pool_start_s")
    add("process pool start, 2 ORT workers ready (s)", f"{o:.3f}", f"{p:.3f}", f"{o / p:.2f}x", "<= 0.6x", o / p <= 0.6)

    o = med(pick(ours, workload="classify", executor="process"), "worker_pss_mib")
    p = med(pick(peer, workload="classify", executor="process", workers=2), "worker_pss_mib")
    add("classify worker memory, PSS against PSS (MiB per worker)", f"{o:.0f}", f"{p:.0f}", f"{o / p:.2f}x",
        "<= 0.6x", o / p <= 0.6)

    print(f"| measure | runner | Python peer | ratio | target | met |\n|---|---:|---:|---:|---|---|")
    for name, a, b, r, t, ok in lines:
        print(f"| {name} | {a} | {b} | {r} | {t} | {'yes' if ok else 'NO'} |")

    print("\nPer-task stage means (ms), sequential runner cell vs one-thread Python pool:")
    print("| workload | side | decode | resize | encode+save | preprocess | inference |\n|---|---|---:|---:|---:|---:|---:|")
    for wl in ("resize", "classify"):
        s = pick(ours, workload=wl, executor="sequential")
        n = lambda k: st.median([float(r[k]) / float(r["tasks_ok"]) for r in s])
        print(f"| {wl} | runner | {n('decode_ms'):.1f} | {n('resize_ms'):.1f} | {n('encode_ms') + n('save_ms'):.1f} | "
              f"{n('preprocess_ms'):.1f} | {n('inference_ms'):.1f} |")
        q = pick(peer, workload=wl, executor="thread", workers=1)
        print(f"| {wl} | Python | {med(q, 'decode_ms'):.1f} | {med(q, 'resize_ms'):.1f} | {med(q, 'encode_save_ms'):.1f} | "
              f"{med(q, 'preprocess_ms'):.1f} | {med(q, 'inference_ms'):.1f} |")


if __name__ == "__main__":
    main()
