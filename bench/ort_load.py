"""The ONNX Runtime experiments behind docs/performance.md's session and inference figures:
session load of the optimised graph with weights inline vs in a mapped external file, the
`.ort` format, and a fixed batch dimension. Run with the project's venv:
    .deps/venv/bin/python bench/ort_load.py
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "models", "resnet18.onnx")
L = ort.GraphOptimizationLevel


def options(level=L.ORT_DISABLE_ALL, **config):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = level
    for k, v in config.items():
        so.add_session_config_entry(k, v)
    return so


def load_ms(path, so):
    t = time.perf_counter()
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return (time.perf_counter() - t) * 1000, s


def infer_ms(s, n=15):
    x = np.random.default_rng(0).random((1, 3, 224, 224), dtype=np.float32)
    name = s.get_inputs()[0].name
    s.run(None, {name: x})
    times = []
    for _ in range(n):
        t = time.perf_counter()
        s.run(None, {name: x})
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def measure(path):
    """In a fresh process: first session (ORT start-up included), second session, inference."""
    first, _ = load_ms(path, options())
    second, s = load_ms(path, options())
    print(f"{os.path.basename(path):24} first session {first:6.1f} ms  second {second:6.1f} ms  "
          f"inference {infer_ms(s):5.1f} ms")


def main():
    if len(sys.argv) > 1:
        return measure(sys.argv[1])
    d = tempfile.mkdtemp()
    inline, external = os.path.join(d, "inline.onnx"), os.path.join(d, "external.onnx")
    so = options(L.ORT_ENABLE_ALL)
    so.optimized_model_filepath = inline
    ort.InferenceSession(MODEL, so, providers=["CPUExecutionProvider"])
    so = options(L.ORT_ENABLE_ALL, **{
        "session.optimized_model_external_initializers_file_name": "external.onnx.data",
        "session.optimized_model_external_initializers_min_size_in_bytes": "1024"})
    so.optimized_model_filepath = external
    ort.InferenceSession(MODEL, so, providers=["CPUExecutionProvider"])
    subprocess.run([sys.executable, "-m", "onnxruntime.tools.convert_onnx_models_to_ort", inline,
                    "--optimization_style", "Fixed"], check=True, capture_output=True)
    for path in [inline, external, os.path.join(d, "inline.ort")]:
        subprocess.run([sys.executable, __file__, path], check=True)
    # Inference with the batch dimension free vs fixed to 1 (graph optimised in the session).
    free = ort.InferenceSession(MODEL, options(L.ORT_ENABLE_ALL), providers=["CPUExecutionProvider"])
    so = options(L.ORT_ENABLE_ALL)
    so.add_free_dimension_override_by_name("N", 1)
    fixed = ort.InferenceSession(MODEL, so, providers=["CPUExecutionProvider"])
    print(f"inference, batch dimension free {infer_ms(free):5.1f} ms, fixed to 1 {infer_ms(fixed):5.1f} ms")


main()
