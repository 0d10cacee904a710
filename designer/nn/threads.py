"""CPU thread settings that leave the GUI a core.

With torch on every core, one busy other thread slows training 3-10x because
OpenMP workers spin-wait (SETUP.md, DESIGN.md section 7). The engine
therefore trains with cores - 1 threads (at least 1) unless told otherwise;
the CLI, which has no window, uses every core.

Measured here (2 cores, LeNet-5, batch 256, a GUI-like thread ticking every
10 ms with 2 ms of Python work; p99 of its tick gaps; idle p99 10.3 ms):
  1 thread:  7 950 img/s, p99 12.4 ms;  with OMP_WAIT_POLICY=PASSIVE  8 240, 12.4 ms
  2 threads: 12 190 img/s, p99 16.9 ms; with OMP_WAIT_POLICY=PASSIVE  9 870, 15.0 ms
PASSIVE makes no difference at cores - 1 threads and costs ~20% at full core
count, so nothing sets it by default; prefer_passive_wait() is there for an
app that wants every core while its window stays responsive (it only works
before torch is imported, because libgomp reads it once when it loads).
This module must not import torch at module level.
"""
from __future__ import annotations

import os
import sys


def prefer_passive_wait() -> bool:
    """Ask OpenMP to sleep rather than spin when idle; True if it can still
    take effect (torch not yet imported) and the user did not choose."""
    if "torch" in sys.modules or "OMP_WAIT_POLICY" in os.environ:
        return False
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def training_threads(requested: int | None = None) -> int:
    """Threads for training: the requested count, else every core but one."""
    if requested is not None and requested > 0:
        return int(requested)
    return max(1, cpu_count() - 1)


def configure(requested: int | None = None) -> int:
    """Apply training_threads() to torch; returns the count in use.

    torch's thread count is process-wide; the trainer sets it when a run
    starts (a GUI process has nothing else using torch threads meanwhile).
    """
    import torch
    n = training_threads(requested)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
