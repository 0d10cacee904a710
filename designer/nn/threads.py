"""CPU thread settings that leave the GUI a core.

With torch on every core, one busy other thread slows training 3-10x because
OpenMP workers spin-wait (SETUP.md, DESIGN.md section 7). Two defences:
- prefer_passive_wait(): OMP_WAIT_POLICY=PASSIVE, read once when libgomp
  loads, so it only helps if called before torch is imported (the app and the
  CLI call it first thing; setting it later is harmless and does nothing);
- training_threads(): torch intra-op threads = cores - 1 (at least 1).
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
