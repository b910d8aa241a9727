"""The probe behind docs/performance.md's note on experiments/own/work.py:checksum: its bare
integer recurrence, with its large constants in the loop (as checksum has them) and in locals,
two calls one after the other against two at once on two plain threads (no pool). Run it on the free-threaded
build: .deps/venv313t/bin/python bench/ft_constants.py
"""
import threading, time, sys
def consts(seed):
    x = seed
    for _ in range(600_000):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x
def local(seed):
    a, c, m = 1103515245, 12345, 0x7FFFFFFF
    x = seed
    for _ in range(600_000):
        x = (x * a + c) & m
    return x
for f in (consts, local):
    t = time.perf_counter(); f(1); f(2); seq = time.perf_counter() - t
    th = [threading.Thread(target=f, args=(i,)) for i in range(2)]
    t = time.perf_counter(); [x.start() for x in th]; [x.join() for x in th]; par = time.perf_counter() - t
    print(f.__name__, f"2 calls one after the other {seq:.3f} s, on 2 threads {par:.3f} s: {seq/par:.2f}x")
