#!/usr/bin/env python3
"""The Python peer: the original studies' pools (ThreadPoolExecutor / ProcessPoolExecutor with
fork, Pillow, onnxruntime), replaying exactly the tasks a runner results folder lists in its
tasks.csv (same images, same order; noise regenerated at the same size). Pool start and model
load are inside the measured wall time, as in the runner.

Usage: peer.py RESULTS_DIR OUT.csv   (run with the set-up's venv, see bench/run)
"""
import csv
import os
import sys
import time
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
import multiprocessing as mp

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FOLDERS = {"high-res": "assets/high-res", "low-res": "assets/low-res", "mixed-formats": "assets/mixed-formats"}
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
MODEL = os.path.join(ROOT, "models", "resnet18.onnx")

_session = None
_local = threading.local()
_ready_at = None


def make_session():
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(MODEL, so, providers=["CPUExecutionProvider"])


def init_process(needs_model):
    global _session, _ready_at
    if needs_model:
        _session = make_session()
    _ready_at = time.perf_counter()


def session():
    if _session is not None:
        return _session
    s = getattr(_local, "session", None)
    if s is None:
        s = _local.session = make_session()
    return s


def load(task):
    if task["source"] == "noise":
        seed = int(task["image"].rsplit("-", 1)[1], 16)
        w, h = (int(v) for v in task["image"].split("-")[1].split("x"))
        return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))
    img = Image.open(os.path.join(ROOT, FOLDERS[task["source"]], task["image"]))
    return img.convert("RGB")


def run_task(task, out_dir):
    t0 = time.perf_counter()
    stages = {}
    if task["kind"] == "sleep":  # the no-op of the dispatch benchmark
        return time.perf_counter() - t0, stages
    img = load(task)
    stages["decode"] = time.perf_counter() - t0
    if task["kind"] == "resize":
        for i, size in enumerate([(224, 224), (img.width // 2, img.height // 2)]):
            t = time.perf_counter()
            small = img.resize(size, Image.LANCZOS)
            stages["resize"] = stages.get("resize", 0) + time.perf_counter() - t
            t = time.perf_counter()
            small.save(os.path.join(out_dir, f"{task['task']}-{i}.jpg"), quality=90)
            stages["encode_save"] = stages.get("encode_save", 0) + time.perf_counter() - t
    elif task["kind"] == "classify":
        t = time.perf_counter()
        x = (np.asarray(img.resize((224, 224), Image.BILINEAR), dtype=np.float32) / np.float32(255) - MEAN) / STD
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)
        stages["preprocess"] = time.perf_counter() - t
        t = time.perf_counter()
        logits = session().run(None, {"input": x})[0][0]
        stages["inference"] = time.perf_counter() - t
        int(logits.argmax())
    return time.perf_counter() - t0, stages


# Process pools: barriers inherited through fork (they cannot be sent as task arguments).
_barriers = None


def ready_stamp():
    _barriers[0].wait(timeout=60)
    return _ready_at


def pss_kib():
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def mem_probe():
    _barriers[1].wait(timeout=60)
    return rss_kib(), pss_kib()


def one_rep(executor, workers, tasks, needs_model, out_dir):
    global _barriers
    ctx = mp.get_context("fork")
    _barriers = (ctx.Barrier(workers), ctx.Barrier(workers))
    start = time.perf_counter()
    probe = None
    if executor == "process":
        ex = ProcessPoolExecutor(workers, mp_context=ctx, initializer=init_process, initargs=(needs_model,))
        ready = max(f.result() for f in [ex.submit(ready_stamp) for _ in range(workers)])
    else:
        ex = ThreadPoolExecutor(workers)
        if needs_model:  # one session per thread, built before the tasks, as the runner does
            barrier = threading.Barrier(workers)
            list(ex.map(lambda _: (session(), barrier.wait(timeout=60)), range(workers)))
        ready = time.perf_counter()
    phase = time.perf_counter()
    results = [f.result() for f in [ex.submit(run_task, t, out_dir) for t in tasks]]
    phase_s = time.perf_counter() - phase
    if executor == "process":
        # The barrier makes every worker answer once: each worker's own RSS and PSS.
        probe = [f.result() for f in [ex.submit(mem_probe) for _ in range(workers)]]
    ex.shutdown(wait=True)
    wall = time.perf_counter() - start
    return wall, ready - start, phase_s, results, probe


def main():
    results_dir, out_csv = sys.argv[1], sys.argv[2]
    rows = list(csv.DictReader(open(os.path.join(results_dir, "tasks.csv"))))
    cells = {}
    for r in rows:
        cells.setdefault((r["cell"], r["warmup"], r["rep"]), []).append(r)
    out_dir = os.path.join(results_dir, "peer-images")
    os.makedirs(out_dir, exist_ok=True)
    w = csv.writer(open(out_csv, "w", newline=""))
    w.writerow(["cell", "workload", "executor", "workers", "rep", "warmup", "tasks", "wall_s", "pool_start_s",
                "task_phase_s", "throughput_tps", "task_ms_mean", "decode_ms", "resize_ms", "encode_save_ms",
                "preprocess_ms", "inference_ms", "worker_rss_mib", "worker_pss_mib"])
    for (cell, warmup, rep), tasks in cells.items():
        workload, executor, workers = cell.split("-")[0], cell.split("-")[1], int(cell.split("-")[2][1:])
        if executor == "sequential":
            executor, workers = "thread", 1  # the study's baseline: a one-thread pool
        tasks.sort(key=lambda t: int(t["task"]))
        needs_model = any(t["kind"] == "classify" for t in tasks)
        wall, start_s, phase_s, results, probe = one_rep(executor, workers, tasks, needs_model, out_dir)
        stage = lambda k: 1e3 * sum(s.get(k, 0) for _, s in results) / len(results)
        w.writerow([cell, workload, executor, workers, rep, warmup, len(tasks), f"{wall:.6f}", f"{start_s:.6f}",
                    f"{phase_s:.6f}", f"{len(tasks) / wall:.3f}", f"{1e3 * sum(t for t, _ in results) / len(results):.3f}",
                    f"{stage('decode'):.3f}", f"{stage('resize'):.3f}", f"{stage('encode_save'):.3f}",
                    f"{stage('preprocess'):.3f}", f"{stage('inference'):.3f}",
                    f"{np.mean([p[0] for p in probe]) / 1024:.1f}" if probe else "",
                    f"{np.mean([p[1] for p in probe]) / 1024:.1f}" if probe else ""])
        print(f"peer: {cell} {'warmup' if warmup == 'true' else 'rep'} {rep}: {len(tasks) / wall:.2f} tasks/s", file=sys.stderr)


if __name__ == "__main__":
    main()
