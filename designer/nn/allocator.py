"""Keep freed memory in the process while training (Linux with glibc).

By default glibc's malloc returns memory to the system whenever more than a
moving threshold lies free at the top of its heap, and maps blocks above
another moving threshold fresh from the system. A training step frees most
of what it allocated, so the next step takes the same memory back from the
system page by page: measured here, 500 page faults per LeNet-5 step at
batch 32, 4,000 for resnet_small and 10,000 for MobileNet at batch 64, and
12-28% of the step's CPU time (one thread, median of 200 steps). With both
thresholds fixed while a run lasts, the faults stop (under 40 per step).

While a run lasts no block is mapped on its own either (M_MMAP_MAX 0):
glibc would map every block over its mmap threshold (at most 32 MiB) fresh
from the system each time, and VGG-11's 411 MB classifier gradient and
Adam's temporaries of that size faulted 1.2-2 GB a step in (1.35-2.0 s
steps at batch 4 against 1.04 s without). Such blocks now come from the
heap and stay there. A thread allocates from an arena of its own, though,
whose heaps hold at most 64 MB, so the trainer's thread maps larger blocks
regardless (2.0 s steps, 2 GB of faults), unless the process was put on one
arena at start-up (use_one_arena, which the command line's main does).

When the last run ends the free memory is handed back, blocks over
MMAP_THRESHOLD (glibc's largest mmap threshold) are mapped again, and the
trim threshold goes to twice MMAP_THRESHOLD, where glibc's own moving
threshold ends up: back at its initial 128 KiB, with the mmap threshold now
fixed, the same steps fault 700-1,000 times each. Elsewhere this does
nothing.
"""
from __future__ import annotations

import ctypes
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from designer.core.plan_time import MMAP_THRESHOLD

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -3, -4, -8
DEFAULT_MMAP_MAX = 65536         # glibc's
HOLD_TRIM = 2 ** 31 - 1          # mallopt takes an int: in effect, never trim
RELEASED_TRIM = 2 * MMAP_THRESHOLD   # glibc's largest moving trim threshold

_lock = threading.Lock()
_holders = 0
_libc: Any = None


def _glibc() -> Any:
    """glibc, or None on other systems and C libraries."""
    global _libc
    if _libc is None:
        _libc = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL("libc.so.6")
                if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt"):
                    _libc = libc
            except OSError:
                pass
    return _libc or None


@contextmanager
def keep_freed_memory() -> Iterator[bool]:
    """While inside (from any thread), freed memory stays in the process;
    yields whether that could be arranged."""
    global _holders
    libc = _glibc()
    with _lock:
        _holders += 1
        if libc is not None and _holders == 1:
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            libc.mallopt(M_TRIM_THRESHOLD, HOLD_TRIM)
            libc.mallopt(M_MMAP_MAX, 0)
    try:
        yield libc is not None
    finally:
        with _lock:
            _holders -= 1
            if libc is not None and _holders == 0:
                libc.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
                libc.mallopt(M_TRIM_THRESHOLD, RELEASED_TRIM)
                libc.malloc_trim(0)


def use_one_arena() -> bool:
    """Threads that first allocate from now on share the main thread's heap
    (glibc's M_ARENA_MAX 1): the trainer's thread then keeps its freed
    memory as a run in the main thread does (keep_freed_memory). Call it at
    start-up, before other threads exist; returns whether it could be set."""
    libc = _glibc()
    return libc is not None and libc.mallopt(M_ARENA_MAX, 1) == 1


def holding() -> bool:
    """Whether some run is keeping freed memory now."""
    return _holders > 0 and _glibc() is not None
