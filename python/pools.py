#!/usr/bin/env python3
"""Python's pools as runner executors: one repetition's tasks on concurrent.futures'
ThreadPoolExecutor (py-thread), ProcessPoolExecutor (py-process, with a start method, a chunk
size and worker recycling), InterpreterPoolExecutor (py-interpreter: subinterpreters, each with
its own GIL, in one process; Python 3.14, or 3.13 with the interpreters-pep-734 backport) or a
plain loop (py-sequential), with Pillow, numpy and onnxruntime's Python API where a workload
needs them.

The runner starts this file once per repetition with the cell's interpreter and, as arguments,
the modules the job's workloads import (numpy, PIL: imported at the top, as a program would, so
fork inherits them; nothing else imports them, so a subinterpreter can import this file). The
protocol has descriptors of its own, open before any user code runs and closed across exec: the
runner writes the job (JSON: executor, workers, settings, the task count), then the tasks (a JSON
array a line: a chunk of `chunksize` for a pool that takes chunks, py-process and
py-interpreter, which hands the line to a worker unread, else up to 256; written as this file reads them, so that a million tasks are never held
here at once) and, at the end, a line to let the pool shut down on fd 4 (JOB_IN), and reads
JSON lines from fd 3 (TO_RUNNER). Standard input is
/dev/null; fd 1 and sys.stdout are the user's output (discarded, or kept with `[python] stdout =
"keep"`), so nothing a task prints, from Python, from C or from a program it starts, can reach
the channel the runner reads. A worker process started by spawn or forkserver, which does not
inherit fd 3, opens the same pipe again through /proc.
  {"msg": "hello"}                       imports done: the interpreter's start-up ends here
  {"msg": "ready", "session_s", ...}     every worker built its state (sessions): pool start ends
  {"msg": "started", "task": i, "pid"}   a worker took task i (written by the worker itself)
  {"msg": "task", "task": i, ...}        one record per task, as it ends: by the worker itself
                                         (threads, the loop) or as its result reaches the parent
  {"msg": "broken", "why", "pid", "tasks"}  py-process's pool broke (a worker died): these
                                         tasks have no result; the runner tells those that had
                                         started (they fail) from those that had not (not run)
  {"msg": "tasks_done"}                  the task phase is over
  {"msg": "records_done"}                the runner measures the pool's memory, then writes a
                                         line to fd 4, and the pool shuts down
Every message is tagged by "msg"; the runner reads them as a typed enum (FromPython in
src/executor/python.rs) and refuses any other shape. Records leave as tasks end, so an
interpreter that dies keeps what it had done, and the tasks it was running are known.
The runner measures the interpreter and its pool from outside (wall time, wait4, PSS, peak RSS);
this file reports only what happens inside it. It is the repository's only Python
implementation of the workloads (bench/ runs it through the runner).
"""
import importlib
import io
import itertools
import json
import os
import signal
import sys
import threading
import time
import types

# The protocol's descriptors, set up by the runner (src/executor/python.rs).
TO_RUNNER, JOB_IN = 3, 4

# ---- the same draws: ChaCha8 white noise, byte for byte as rand_chacha 0.9 -------------------

M32 = 0xFFFFFFFF


def _pcg32_seed(state):
    """rand_core's seed_from_u64: a 32-byte ChaCha key from PCG32 outputs."""
    mul, inc = 6364136223846793005, 11634580027462260723
    key = []
    for _ in range(8):
        state = (state * mul + inc) & 0xFFFFFFFFFFFFFFFF
        xorshifted = (((state >> 18) ^ state) >> 27) & M32
        rot = state >> 59
        key.append(((xorshifted >> rot) | (xorshifted << ((-rot) & 31))) & M32)
    return key


def noise_pixels(seed, width, height):
    """ChaCha8Rng::seed_from_u64(seed).fill_bytes over width x height x 3 bytes."""
    import numpy as np
    n = width * height * 3
    blocks = (n + 63) // 64
    key = _pcg32_seed(seed)
    consts = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    counter = np.arange(blocks, dtype=np.uint64)
    init = [np.full(blocks, c, dtype=np.uint32) for c in consts + key]
    init += [(counter & M32).astype(np.uint32), (counter >> 32).astype(np.uint32),
             np.zeros(blocks, np.uint32), np.zeros(blocks, np.uint32)]
    x = [v.copy() for v in init]

    def rotl(v, r):
        return (v << np.uint32(r)) | (v >> np.uint32(32 - r))

    def qr(a, b, c, d):
        x[a] += x[b]; x[d] ^= x[a]; x[d] = rotl(x[d], 16)
        x[c] += x[d]; x[b] ^= x[c]; x[b] = rotl(x[b], 12)
        x[a] += x[b]; x[d] ^= x[a]; x[d] = rotl(x[d], 8)
        x[c] += x[d]; x[b] ^= x[c]; x[b] = rotl(x[b], 7)

    for _ in range(4):  # 8 rounds: 4 double rounds
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    words = np.stack([x[i] + init[i] for i in range(16)], axis=1)
    return words.astype("<u4").tobytes()[:n]


# ---- the workloads -------------------------------------------------------------------------

FILTERS = {"nearest": "NEAREST", "box": "BOX", "bilinear": "BILINEAR", "hamming": "HAMMING",
           "catmullrom": "BICUBIC", "lanczos3": "LANCZOS"}


def pillow_filter(name):
    from PIL import Image
    if name not in FILTERS:
        raise ValueError(f"Pillow has no {name} filter")
    return getattr(Image, FILTERS[name])


def load(task, max_pixels):
    from PIL import Image
    inp = task["input"]
    if "noise" in inp:
        w, h = inp["width"], inp["height"]
        return Image.frombytes("RGB", (w, h), noise_pixels(inp["noise"], w, h))
    img = Image.open(inp["path"])
    if img.width * img.height > max_pixels:
        raise ValueError(f"{img.width}x{img.height} is more than max_pixels ({max_pixels})")
    img = img.convert("RGB")
    img.load()
    return img


def safe_stem(name):
    """As the runner's safe_stem (src/workload/image.rs): the file stem, characters other than
    ASCII letters, digits, '-', '_' and '.' as '_', at most 64, no leading dot."""
    base = name.rstrip("/").rsplit("/", 1)[-1]
    dot = base.rfind(".")
    stem = base if base in ("", ".", "..") or dot <= 0 else base[:dot]  # Rust's Path::file_stem
    stem = stem or name
    s = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in stem)[:64]
    if s.startswith("."):
        s = "_" + s[1:]
    return s or "image"


class Resize:
    def __init__(self, s, job):
        self.s, self.job = s, job
        self.filter = pillow_filter(s["filter"])

    def run(self, task, stages):
        s = self.s
        t = time.perf_counter()
        img = load(task, self.job["max_pixels"])
        stages["decode_ms"] += 1e3 * (time.perf_counter() - t)
        fmt = s["format"]
        if fmt == "same":
            ext = os.path.splitext(task["input"].get("path", ""))[1].lower()
            fmt = {".png": "png", ".webp": "webp"}.get(ext, "jpeg")
        for w, h, label in self.targets(img):
            t = time.perf_counter()
            small = img.resize((w, h), self.filter)
            stages["resize_ms"] += 1e3 * (time.perf_counter() - t)
            t = time.perf_counter()
            buf = io.BytesIO()
            if fmt == "png":
                small.save(buf, "PNG", compress_level=s["png_compression"])
            elif fmt == "webp":
                # method 0: the least effort, nearest the image crate's simple lossless encoder.
                small.save(buf, "WEBP", lossless=True, method=0)
            else:
                small.save(buf, "JPEG", quality=s["quality"], subsampling=2 if s["subsampling"] == "4:2:0" else 0)
            stages["encode_ms"] += 1e3 * (time.perf_counter() - t)
            if s["save"]:
                t = time.perf_counter()
                ext = {"png": "png", "webp": "webp"}.get(fmt, "jpg")
                name = f"{task['index']:04}-{safe_stem(task['image'])}-{label}.{ext}"
                with open(os.path.join(self.job["out_dir"], name), "wb") as f:
                    f.write(buf.getvalue())
                stages["save_ms"] += 1e3 * (time.perf_counter() - t)
        return None

    def targets(self, img):
        for t in self.s["targets"]:
            if "percent" in t:
                p = t["percent"]
                yield max(img.width * p // 100, 1), max(img.height * p // 100, 1), f"{p}pct"
            else:
                yield t["width"], t["height"], f"{t['width']}x{t['height']}"


class Classify:
    def __init__(self, s, job):
        import numpy as np
        import onnxruntime as ort
        self.s, self.job = s, job
        self.filter = pillow_filter(s["filter"])
        self.mean = np.array(s["mean"], dtype=np.float32)
        self.std = np.array(s["std"], dtype=np.float32)
        so = ort.SessionOptions()
        so.intra_op_num_threads = job["intra_op_threads"]
        so.inter_op_num_threads = 1
        # The model file as a Python program loads it: ORT optimises the graph in each session.
        self.session = ort.InferenceSession(s["model"], so, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.labels = None
        if s.get("labels"):
            with open(s["labels"]) as f:
                self.labels = [line.strip() for line in f]

    def run(self, task, stages):
        import numpy as np
        t = time.perf_counter()
        img = load(task, self.job["max_pixels"])
        stages["decode_ms"] += 1e3 * (time.perf_counter() - t)
        t = time.perf_counter()
        small = img.resize(tuple(self.s["input"]), self.filter)
        x = (np.asarray(small, dtype=np.float32) / np.float32(255) - self.mean) / self.std
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)
        stages["preprocess_ms"] += 1e3 * (time.perf_counter() - t)
        t = time.perf_counter()
        logits = self.session.run(None, {self.input_name: x})[0].reshape(-1)
        i = int(logits.argmax())
        e = np.exp(logits.astype(np.float64) - float(logits[i]))
        prob = float(1.0 / e.sum())
        stages["inference_ms"] += 1e3 * (time.perf_counter() - t)
        label = self.labels[i][:200] if self.labels and i < len(self.labels) else None
        return {"index": i, "label": label, "prob": prob}


class Spin:
    def __init__(self, s, job):
        self.n = s["iterations"]

    def run(self, task, stages):
        x, m = 0x9E3779B97F4A7C15, 0xFFFFFFFFFFFFFFFF
        for _ in range(self.n):
            x ^= (x << 13) & m
            x ^= x >> 7
            x ^= (x << 17) & m
        return None


class Sleep:
    def __init__(self, s, job):
        self.s = s["ms"] / 1e3

    def run(self, task, stages):
        if self.s > 0:  # as Rust's thread::sleep, which returns at once for zero
            time.sleep(self.s)


class Alloc:
    def __init__(self, s, job):
        self.bytes, self.hold, self.churn = s["mib"] << 20, s["hold_ms"] / 1e3, s.get("churn", 0)

    def run(self, task, stages):
        v = bytearray(self.bytes)  # calloc'd: its pages become resident only when written
        v[::4096] = b"\x01" * len(range(0, self.bytes, 4096))
        if self.churn:
            # As the runner's: sizes 16 B to 4 KiB from the task's seed, 64 blocks alive.
            import random
            rng, live = random.Random(task["seed"]), [None] * 64
            for i in range(self.churn):
                live[rng.randrange(64)] = bytearray(16 + rng.randrange(4081))
        time.sleep(self.hold)
        del v


# ---- a user's own work: a command, or a Python function -------------------------------------

class Result:
    """What a user's function returned, for the record's `result` (a str or number, 64 chars)."""
    def __init__(self, value):
        self.value = value


def user_task(task):
    """The task as a user's code gets it: its index, its seed and its input file (or None)."""
    return {"index": task["index"], "seed": task["seed"], "input": task["file"]}


class Command:
    """One program per task, run with subprocess; its status and stderr's last KiB on failure."""
    def __init__(self, s, job):
        self.s, self.job = s, job

    def run(self, task, stages):
        import shlex
        import subprocess
        s, t = self.s, user_task(task)
        q = shlex.quote if s["shell"] else (lambda x: x)
        fill = {"{input}": q(t["input"] or ""), "{index}": str(t["index"]), "{seed}": str(t["seed"]),
                "{out}": q(self.job["out_dir"])}
        argv = []
        for a in s["argv"]:
            for k, v in fill.items():
                a = a.replace(k, v)
            argv.append(a)
        if s["shell"]:
            argv = ["/bin/sh", "-c", argv[0]]
        out = subprocess.DEVNULL
        if s["keep_stdout"]:
            os.makedirs(os.path.join(self.job["out_dir"], "stdout"), exist_ok=True)
            out = open(os.path.join(self.job["out_dir"], "stdout", f"{t['index']:04}.out"), "wb")
        env = dict(os.environ, **s["env"])
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
                             cwd=s["dir"], env=env)
        err = p.stderr.read()
        p.stderr.close()
        _, status, usage = os.wait4(p.pid, 0)  # its peak RSS, as the runner's own pools read it
        p.returncode = os.waitstatus_to_exitcode(status)
        if out is not subprocess.DEVNULL:
            out.close()
        _state.child_peak_kib = usage.ru_maxrss
        if p.returncode != 0:
            how = (f"killed by signal {-p.returncode}" if p.returncode < 0
                   else f"exited with status {p.returncode}")
            tail = err[-1024:].decode(errors="replace").strip()
            raise RuntimeError(f"the command {how}" + (f": {tail}" if tail else ""))


class Function:
    """A user's function (`module:name`), with an optional setup(config) per worker."""
    def __init__(self, s, job):
        import importlib
        sys.path[:0] = [p for p in s["path"] if p not in sys.path]

        def find(entry):
            module, name = entry.split(":")
            return getattr(importlib.import_module(module), name)
        self.fn = find(s["function"])
        self.setup = s["setup"] is not None
        self.keep = os.path.join(job["out_dir"], "stdout") if s["keep_stdout"] else None
        if self.keep:
            os.makedirs(self.keep, exist_ok=True)
            if not isinstance(sys.stdout, TaskStdout):
                sys.stdout = TaskStdout(sys.stdout)
        self.state = find(s["setup"])(s["config"]) if self.setup else None

    def run(self, task, stages):
        t = user_task(task)
        if self.keep:
            _state.stdout = open(os.path.join(self.keep, f"{t['index']:04}.out"), "w")
        try:
            out = self.fn(self.state, t) if self.setup else self.fn(t)
        finally:
            if self.keep:
                _state.stdout.close()
                _state.stdout = None
        if isinstance(out, (str, int, float)) and not isinstance(out, bool):
            return Result(str(out)[:64])
        return None


class TaskStdout(io.TextIOBase):
    """sys.stdout with `[python] stdout = "keep"`: what a task prints goes to its own file
    (stdout/NNNN.out), as a command task's output does; anything else (the module's import,
    setup, a C extension or a program writing to fd 1) to fd 1, which the runner keeps as
    stdout/python.out."""
    def __init__(self, fallback):
        self.fallback = fallback

    def writable(self):
        return True

    def _to(self):
        return getattr(_state, "stdout", None) or self.fallback

    def write(self, text):
        return self._to().write(text)

    def flush(self):
        self._to().flush()


WORKLOADS = {"resize": Resize, "classify": Classify, "spin": Spin, "sleep": Sleep, "alloc": Alloc,
             "command": Command, "python": Function}

# ---- a worker: its state, built once, and each task's record ---------------------------------

_state = threading.local()  # threads: one per thread; processes: one per process (one thread)
_barrier = None  # inherited at the worker's start: multiprocessing's cannot be task arguments


def _cpus():
    cores = sorted(os.sched_getaffinity(0))
    out, i = [], 0
    while i < len(cores):
        j = i
        while j + 1 < len(cores) and cores[j + 1] == cores[j] + 1:
            j += 1
        out.append(str(cores[i]) if i == j else f"{cores[i]}-{cores[j]}")
        i = j + 1
    return ",".join(out)


def _python():
    """What this worker runs on, read after its workloads' imports: an extension module can turn
    a free-threaded build's GIL back on."""
    import sysconfig
    gil = getattr(sys, "_is_gil_enabled", None)
    return {"version": sys.version.split()[0], "implementation": sys.implementation.name,
            "gil": "enabled" if gil is None or gil() else "disabled",
            "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED"))}


def _gil_as_asked(job, index, facts):
    """The cell's `gil` ("off", "on"; None: as the build makes it) against what this worker
    reads: a worker whose GIL is not as asked fails its tasks, saying so."""
    want = {"off": "disabled", "on": "enabled"}.get(job.get("gil"))
    if want is None or facts["gil"] == want:
        return None
    return (f"the cell asked for gil = {job['gil']} (PYTHON_GIL={os.environ.get('PYTHON_GIL', '')}), "
            f"but the GIL is {facts['gil']} in worker {index} after its imports")


def protocol_fd(job):
    """Where this process writes its messages: fd 3 if it is the runner's pipe (the interpreter
    itself, its threads and subinterpreters, a forked worker), else the same pipe opened again
    through the interpreter's /proc entry (a worker started by spawn or forkserver)."""
    try:
        st = os.fstat(TO_RUNNER)
        if [st.st_dev, st.st_ino] == job["protocol"]:
            return TO_RUNNER
    except OSError:
        pass
    return os.open(f"/proc/{job['main_pid']}/fd/{TO_RUNNER}", os.O_WRONLY | os.O_CLOEXEC)


def build(job, index):
    """Builds this worker's state: one object per task kind (an ORT session for classify)."""
    global _out
    _out = protocol_fd(job)
    _state.pid = os.getpid()
    # Threads and the loop write each record as the task ends: if the interpreter dies, what
    # ended is kept. A worker process's or subinterpreter's record goes back with its result,
    # and the parent writes it (the way back is measured).
    _state.direct = job["executor"] in ("py-thread", "py-sequential")
    if job.get("pin"):
        os.sched_setaffinity(0, {job["pin"][index % len(job["pin"])]})
    t = time.perf_counter()
    _state.index = index
    _state.error = None
    try:
        lib = os.environ.get("RUNNER_ALLOCATOR_LIB")  # the allocator axis: preloaded, checked here
        if lib and not any(line.split()[5:] == [os.path.realpath(lib)] for line in open("/proc/self/maps")):
            raise RuntimeError(f"allocator {os.environ.get('RUNNER_ALLOCATOR')} did not take effect: "
                               f"{os.path.realpath(lib)} is not mapped in worker {index}")
        _state.kinds = {k: WORKLOADS[k](s, job) for k, s in job["settings"].items()}
    except Exception as e:  # every task of this worker fails with it
        _state.kinds, _state.error = {}, f"cannot build the worker's state: {e}"[:500]
    _state.session_s = time.perf_counter() - t
    _state.python = _python()
    _state.error = _state.error or _gil_as_asked(job, index, _state.python)


def init_worker(job, counter, lock, barrier):
    """A thread's or a process's initializer: its index from the shared counter."""
    global _barrier
    _barrier = barrier
    with lock:
        index = counter.value
        counter.value += 1
    build(job, index)


class QueueBarrier:
    """A barrier across subinterpreters: each worker says it arrived, then waits for the go
    that the main interpreter gives once all have."""
    def __init__(self, arrived, go):
        self.arrived, self.go = arrived, go

    def wait(self, timeout):
        self.arrived.put(1)
        self.go.get(timeout=timeout)


def init_interpreter():
    """A subinterpreter's initializer: the job, its index and the barrier come from the
    interpreter's __main__, where the pool put them (`shared`)."""
    global _state, _barrier
    import __main__
    # Every call into a subinterpreter runs on a thread state of its own, so thread-locals do
    # not last from one task to the next; this interpreter's module is its worker's alone.
    _state = types.SimpleNamespace()
    _barrier = QueueBarrier(__main__.runner_arrived, __main__.runner_go)
    build(json.loads(__main__.runner_job), __main__.runner_index.get(timeout=600))


def ready():
    """Run once by each worker: returns when every worker has built its state."""
    _barrier.wait(timeout=600)
    return _state.session_s, _state.error, os.getpid(), _state.python


def run_task(task, phase_start):
    start = time.perf_counter()
    os.write(_out, b'{"msg": "started", "task": %d, "pid": %d}\n' % (task["index"], _state.pid))
    stages = {k: 0.0 for k in ("decode_ms", "resize_ms", "encode_ms", "save_ms", "preprocess_ms", "inference_ms")}
    top1, result, error = None, None, _state.error
    _state.child_peak_kib = 0
    if error is None:
        try:
            out = _state.kinds[task["kind"]].run(task, stages)
            if isinstance(out, Result):
                result = out.value
            else:
                top1 = out
        except Exception as e:
            error = f"{type(e).__name__}: {e}"[:500]
    end = time.perf_counter()
    rec = {"msg": "task", "task": task["index"], "worker": _state.index, "error": error, "ms": 1e3 * (end - start),
           "wait_ms": 1e3 * (start - phase_start), "stages": stages, "top1": top1, "cpus": _cpus(),
           "result": result, "child_peak_kib": _state.child_peak_kib}
    if _state.direct:
        rec["ipc_ms"] = 0.0
        emit(rec, _out)
        return None
    # The line as the parent writes it, open for its ipc_ms: bytes cross the pool cheaper than a
    # dict (no unpickling of a dict per task, nor encoding it again), and leave the parent's
    # heap as flat at a million tasks as at a thousand.
    return encoded(rec)[:-1], end


def run_batch(tasks, phase_start):
    """A chunk of tasks, one message each way, as ProcessPoolExecutor.map(chunksize=n) sends
    them (a chunk pool's as the runner's line, read here): the records come back together
    when the last one ends, each as its line without the closing brace and the time it ended
    (none: written already)."""
    if isinstance(tasks, bytes):
        tasks = json.loads(tasks)
    return [r for r in (run_task(t, phase_start) for t in tasks) if r is not None]


def indices(chunk):
    """The task indices of a chunk, a list of tasks or a line of them."""
    return [t["index"] for t in (json.loads(chunk) if isinstance(chunk, bytes) else chunk)]


# ---- the parent: pool start, the task phase, shutdown ----------------------------------------

class Counter:
    """A thread pool's worker counter (a process pool uses multiprocessing.Value)."""
    value = 0


_out = TO_RUNNER  # this process's descriptor of the runner's pipe (see protocol_fd)


def encoded(obj):
    """`obj` as JSON in UTF-8. A lone surrogate (an exception's text about a file name that is
    not UTF-8) becomes `?` instead of failing the encoding, and with it the task's record."""
    return json.dumps(obj, ensure_ascii=False).encode(errors="replace")


def emit(obj, fd=TO_RUNNER):
    """One line to the runner, written whole: a worker's own records stay under PIPE_BUF
    (errors and labels are cut short), so one worker's line never lands inside another's."""
    emit_line(encoded(obj) + b"\n", fd)


def emit_line(data, fd=TO_RUNNER):
    """A line already encoded, written whole (the parent writes a chunk pool's records so,
    alone on the pipe)."""
    while data:
        data = data[os.write(fd, data):]


def interpreter_pool(job, workers):
    """InterpreterPoolExecutor (3.14's, or the 3.13 backport's) with `workers` subinterpreters.
    Its callables travel pickled, by module name, so they are this file imported as `pools`
    (each subinterpreter imports it again from its folder), not `__main__`'s."""
    import functools
    try:
        from concurrent.futures import InterpreterPoolExecutor
        from concurrent.interpreters import create_queue
    except ImportError:
        from interpreters_backport.concurrent.futures import InterpreterPoolExecutor
        from interpreters_backport.interpreters.queues import create as create_queue
    import pools
    index, arrived, go = create_queue(), create_queue(), create_queue()
    for i in range(workers):
        index.put(i)
    here = os.path.dirname(os.path.abspath(__file__))
    boot = f"import sys; sys.path.insert(0, {here!r}); import pools; pools.init_interpreter()"
    shared = {"runner_job": json.dumps(job), "runner_index": index, "runner_arrived": arrived, "runner_go": go}
    pool = InterpreterPoolExecutor(workers, initializer=functools.partial(exec, boot, {}), shared=shared)

    def release():  # the barrier: once every worker has arrived, all go
        for _ in range(workers):
            arrived.get(timeout=600)
        for _ in range(workers):
            go.put(1)
    return pool, pools, release, (lambda: workers)


def recycling_pool(base):
    """ProcessPoolExecutor with upstream's fix of gh-115634 (in 3.13 and 3.14 since July 2026):
    before it, a worker that exits at max_tasks_per_child with tasks still queued may not be
    replaced, and the pool hangs (3.11.7 and 3.13.0 here do). As the fix does, a worker is
    replaced whenever the pool has fewer than max_workers, whatever the idle semaphore says."""
    class Recycling(base):
        def _adjust_process_count(self):
            if len(self._processes) < self._max_workers:
                self._spawn_process()
    return Recycling


def start_pool(job, workers, kind):
    """The pool, the module whose functions it runs, what releases its ready barrier, and how
    many workers it has started so far."""
    me = sys.modules[__name__]
    if kind == "py-process":
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor
        # "auto": what this interpreter's multiprocessing uses by default (fork up to 3.13 on
        # Linux, forkserver from 3.14), as the user's own program would get it.
        method = job["start_method"]
        ctx = mp.get_context(None if method in (None, "auto") else method)
        job["start_method_ran"] = ctx.get_start_method()
        counter, lock, barrier = ctx.Value("i", 0, lock=False), ctx.Lock(), ctx.Barrier(workers)
        recycle = {"max_tasks_per_child": job["max_tasks_per_child"]} if job.get("max_tasks_per_child") else {}
        kind_of_pool = recycling_pool(ProcessPoolExecutor) if recycle else ProcessPoolExecutor
        pool = kind_of_pool(workers, mp_context=ctx, initializer=init_worker,
                            initargs=(job, counter, lock, barrier), **recycle)
        return pool, me, (lambda: None), (lambda: counter.value)
    if kind == "py-interpreter":
        return interpreter_pool(job, workers)
    from concurrent.futures import ThreadPoolExecutor
    counter, lock, barrier = Counter(), threading.Lock(), threading.Barrier(workers)
    pool = ThreadPoolExecutor(workers, initializer=init_worker, initargs=(job, counter, lock, barrier))
    return pool, me, (lambda: None), (lambda: counter.value)


def streamed(runner, count):
    """The job's tasks, read as they are taken: the runner writes them in lines of a batch each."""
    while count > 0:
        line = runner.readline()
        if not line:
            raise RuntimeError(f"the runner's task lines ended {count} tasks short")
        batch = json.loads(line)
        count -= len(batch)
        yield from batch


def lines(runner, count, size):
    """A chunk pool's chunks as the runner wrote them, a line of `size` tasks each (the last
    may hold fewer), unread: this process parses no task."""
    for _ in range(-(-count // size)):
        line = runner.readline()
        if not line:
            raise RuntimeError(f"the runner's task lines ended before {count} tasks")
        yield line


def in_flight(workers):
    """Chunks submitted and not yet done: enough to keep every worker fed while this thread is
    busy, few enough that the pool holds a bounded number of tasks (Python 3.14's
    `Executor.map(buffersize=)` bounds them the same way)."""
    return 4 * workers + 4


def task_phase(pool, mod, job, runner, kind):
    """Every task once, in chunks of `chunksize`, with at most `in_flight` chunks submitted; each
    record as its chunk's result arrives."""
    from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, wait
    phase = time.perf_counter()
    size = job.get("chunksize") or 1
    if job["chunk_lines"]:
        chunks = lines(runner, job["tasks"], size)
    else:
        tasks = streamed(runner, job["tasks"])
        chunks = iter(lambda: list(itertools.islice(tasks, size)), [])
    # A result that arrives while this thread reads and submits the next chunks waits for it: its
    # ipc_ms includes that, as it included emitting other chunks' records before.
    futures, broken, failed = {}, None, None
    while True:
        while broken is None and len(futures) < in_flight(job["workers"]):
            chunk = next(chunks, None)
            if chunk is None:
                break
            try:
                futures[pool.submit(mod.run_batch, chunk, phase)] = chunk
            except Exception as e:  # broken before a result said so
                broken = pool_broke(pool, e)
                emit(dict(broken, tasks=indices(chunk)))
        if broken is not None:  # the rest never run; all are read, so the runner's writer ends
            for chunk in chunks:
                emit(dict(broken, tasks=indices(chunk)))
        if not futures:
            return
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        for f in done:
            chunk, arrived = futures.pop(f), time.perf_counter()
            try:
                recs = f.result()
            except Exception as e:  # these tasks have no result; a broken pool runs no more
                failed = broken or failed or pool_broke(pool, e)
                if isinstance(e, BrokenExecutor):
                    broken = failed
                emit(dict(failed, tasks=indices(chunk)))
                continue
            for line, end in recs:
                # The result's way back: from the task's end in the worker to here.
                ipc_ms = 1e3 * (arrived - end) if kind != "py-thread" else 0.0
                emit_line(line + b', "ipc_ms": %r}\n' % ipc_ms)


def pool_broke(pool, error):
    """Why the pool broke, as a `broken` message: for py-process, the worker that died and its
    exit status (Python's BrokenProcessPool does not say; the pool ends its other workers with
    SIGTERM, so the one that died first is the one whose status is not that)."""
    why, pid = f"the pool failed: {type(error).__name__}: {error}"[:500], None
    procs = list((getattr(pool, "_processes", None) or {}).items())
    # The pool's manager thread ends the other workers and joins them all (reaping them: a
    # join here too could race it and read no status), then stops.
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is not None:
        manager.join(5)
    codes = []
    for p, proc in procs:
        proc.join(5)
        if proc.exitcode:
            codes.append((proc.exitcode == -signal.SIGTERM, p, proc.exitcode))
    if codes:
        _, pid, code = min(codes)
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        why = f"Python's process pool broke: its worker process {pid} {how}"
    return {"msg": "broken", "why": why, "pid": pid}


def main():
    os.set_inheritable(TO_RUNNER, False)  # a program a task starts gets neither (close on exec)
    os.set_inheritable(JOB_IN, False)
    for module in sys.argv[1:]:  # what the job's workloads import, as a program would at its top
        importlib.import_module(module)
    emit({"msg": "hello"})
    runner = open(JOB_IN, "rb", closefd=False)  # every read of the job's pipe goes through it
    job = json.loads(runner.readline())
    st = os.fstat(TO_RUNNER)
    job["protocol"], job["main_pid"] = [st.st_dev, st.st_ino], os.getpid()
    workers, kind = job["workers"], job["executor"]
    if kind == "py-sequential":  # the loop in this thread
        workers, pool, started = 1, None, (lambda: 1)
        build(job, 0)
        states = [(_state.session_s, _state.error, os.getpid(), _state.python)]
    else:
        pool, mod, release, started = start_pool(job, workers, kind)
        # Each worker takes one barrier task, so all of them are started and have built their state.
        futures = [pool.submit(mod.ready) for _ in range(workers)]
        release()
        states = [f.result() for f in futures]
    errors = [e for _, e, _, _ in states if e]
    # A state per worker, as the runner counts its own (one per thread or process, all kinds);
    # the workers' pids, so that the runner measures exactly them; what they run on.
    emit({"msg": "ready", "session_s": max(s[0] for s in states), "states": len(states) - len(errors),
          "workers": workers, "pids": sorted({s[2] for s in states}), "error": errors[0] if errors else None,
          "python": states[0][3], "start_method": job.get("start_method_ran")})
    if pool is None:
        phase = time.perf_counter()
        for t in streamed(runner, job["tasks"]):
            run_task(t, phase)
    else:
        task_phase(pool, mod, job, runner, kind)
    emit({"msg": "tasks_done"})
    # Recycled workers (max_tasks_per_child) are new processes: counted, and measured by pid.
    live = sorted(getattr(pool, "_processes", None) or {}) if kind == "py-process" else []
    emit({"msg": "records_done", "workers_started": started(), "pids": live})
    runner.readline()  # the runner has measured the pool's memory
    if pool is not None:
        pool.shutdown(wait=True)


if __name__ == "__main__":
    main()
