"""Two functions for experiments/own/python.toml: the same question on work that holds the GIL
and on work that releases it.

checksum: pure interpreted Python, an integer recurrence seeded by the task: threads take turns
holding the GIL, so a thread pool cannot run two at once and a process pool can.
sines: numpy over a million floats per call; numpy's loops release the GIL, so threads run
them at once and a process pool has nothing to win.
"""
import numpy as np


def load(config):
    """Once per worker: the array the numpy function works on (config: its length)."""
    n = int(config or 1_000_000)
    return np.random.default_rng(0).random(n)


def checksum(state, task):
    x = task["seed"] & 0x7FFFFFFF
    for _ in range(600_000):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


def sines(state, task):
    total = 0.0
    for _ in range(12):
        total += float(np.sin(state).sum())
    return round(total, 3)
