"""How a py-process record comes back costs the parent: as a dict (unpickled there, encoded
again) or as its JSON line (bytes), in ProcessPoolExecutor with 2 fork workers, chunks of 64
no-op tasks and at most 12 in flight, as python/pools.py runs them. Prints the parent's and
the workers' PSS after N tasks, for MODE=dict or MODE=bytes (`trace` adds tracemalloc's view).

    for m in dict bytes; do MODE=$m /usr/bin/time -f "%e s %U+%S CPU s" .deps/venv/bin/python bench/py_records.py 300000; done
"""
import sys, os, json, time, itertools, tracemalloc, gc
from concurrent.futures import ProcessPoolExecutor, wait, FIRST_COMPLETED
import multiprocessing as mp

def pss(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for l in f:
                if l.startswith("Pss:"):
                    return int(l.split()[1]) / 1024
    except FileNotFoundError:
        return 0.0

def run_task(task, phase):
    start = time.perf_counter()
    stages = {k: 0.0 for k in ("decode_ms", "resize_ms", "encode_ms", "save_ms", "preprocess_ms", "inference_ms")}
    end = time.perf_counter()
    return {"msg": "task", "task": task["index"], "worker": 0, "error": None, "ms": 1e3 * (end - start),
            "wait_ms": 1e3 * (start - phase), "stages": stages, "top1": None, "cpus": "0-1", "end": end,
            "result": None, "child_peak_kib": 0}

def run_batch(tasks, phase):
    if MODE == "dict":
        return [run_task(t, phase) for t in tasks]
    out = []
    for t in tasks:
        r = run_task(t, phase)
        end = r.pop("end")
        out.append((json.dumps(r)[:-1].encode(), end))
    return out

def ready():
    return os.getpid()

def main(n, trace):
    if trace:
        tracemalloc.start(10)
    out = os.open("/dev/null", os.O_WRONLY)
    ctx = mp.get_context("fork")
    pool = ProcessPoolExecutor(2, mp_context=ctx)
    pids = {pool.submit(ready).result() for _ in range(8)}
    tasks = ({"index": i, "seed": i, "kind": "sleep", "input": None} for i in range(n))
    chunks = iter(lambda: list(itertools.islice(tasks, 64)), [])
    futures = {}
    phase = time.perf_counter()
    snap0 = None
    done_n = 0
    while True:
        while len(futures) < 12:
            c = next(chunks, None)
            if c is None: break
            futures[pool.submit(run_batch, c, phase)] = c
        if not futures: break
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        for f in done:
            futures.pop(f)
            arrived = time.perf_counter()
            if MODE == "dict":
                for rec in f.result():
                    rec.pop("end"); rec["ipc_ms"] = 0.0
                    os.write(out, (json.dumps(rec) + "\n").encode())
                    done_n += 1
            else:
                for line, end in f.result():
                    os.write(out, line + b', "ipc_ms": %.6f}\n' % (1e3 * (arrived - end)))
                    done_n += 1
        if trace and snap0 is None and done_n >= 5000:
            gc.collect(); snap0 = tracemalloc.take_snapshot()
    me = pss(os.getpid()); ws = [pss(p) for p in pids]
    print(f"n={n} coordinator {me:.2f} MiB workers {' '.join(f'{w:.2f}' for w in ws)} total {me+sum(ws):.2f}")
    if trace:
        gc.collect()
        snap1 = tracemalloc.take_snapshot()
        cur, peak = tracemalloc.get_traced_memory()
        print(f"traced now {cur/1024:.0f} KiB peak {peak/1024:.0f} KiB")
        for st in snap1.compare_to(snap0, "traceback")[:6]:
            print(st)
            for line in st.traceback.format()[-6:]:
                print("   ", line)
    pool.shutdown()

MODE = os.environ.get("MODE", "dict")
if __name__ == "__main__":
    main(int(sys.argv[1]), len(sys.argv) > 2)
