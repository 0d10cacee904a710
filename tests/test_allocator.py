"""Freed memory stays in the process while a run lasts (glibc only)."""
from __future__ import annotations

import ctypes
import resource
import threading
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from designer.nn import allocator  # noqa: E402

pytestmark = pytest.mark.skipif(allocator._glibc() is None, reason="needs glibc's malloc")


BLOCK = 2 ** 20


def _touch_and_free(blocks: int) -> None:
    """malloc blocks of 1 MiB, write them, free them last first (so they
    join the free space at the top of the heap), as a training step's
    tensors come and go."""
    libc = allocator._glibc()
    libc.malloc.restype = ctypes.c_void_p
    pointers = [libc.malloc(BLOCK) for _ in range(blocks)]
    for pointer in pointers:
        ctypes.memset(pointer, 1, BLOCK)
    for pointer in reversed(pointers):
        libc.free(ctypes.c_void_p(pointer))


def _faults_of_a_round(blocks: int = 48) -> int:
    """Minor page faults of a second round of _touch_and_free: what a step
    pays for the memory the step before gave back."""
    _touch_and_free(blocks)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    _touch_and_free(blocks)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def _resident_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize()


def test_a_run_keeps_the_memory_its_steps_free() -> None:
    pages = 48 * BLOCK // resource.getpagesize()
    libc = allocator._glibc()
    # glibc with its initial trim threshold: the memory goes back to the
    # system at every free and faults in again
    libc.mallopt(allocator.M_MMAP_THRESHOLD, allocator.MMAP_THRESHOLD)
    libc.mallopt(allocator.M_TRIM_THRESHOLD, 128 * 1024)
    assert _faults_of_a_round() > pages // 2
    with allocator.keep_freed_memory() as kept:
        assert kept and allocator.holding()
        assert _faults_of_a_round() < pages // 20
        assert _faults_of_a_round(96) < pages // 10      # beyond the released threshold
        held = _resident_bytes()
    assert not allocator.holding()
    # the end gives the free memory back; below glibc's largest trim
    # threshold, it is kept again from step to step
    assert held - _resident_bytes() > 48 * BLOCK
    assert _faults_of_a_round() < pages // 20


def test_the_memory_is_kept_until_the_last_of_overlapping_runs_ends() -> None:
    entered, leave = threading.Event(), threading.Event()

    def other_run() -> None:
        with allocator.keep_freed_memory():
            entered.set()
            leave.wait(10)
    with allocator.keep_freed_memory():
        worker = threading.Thread(target=other_run)
        worker.start()
        assert entered.wait(10)
    assert allocator.holding()         # the other run (a calibration) still holds
    leave.set()
    worker.join(10)
    assert not allocator.holding()


def test_training_holds_the_memory_while_it_runs() -> None:
    from designer.io import load
    from designer.nn.events import Step
    from designer.nn.trainer import Trainer
    from conftest import ROOT, one_epoch_config

    seen: list[bool] = []

    def callback(event: object) -> None:
        if isinstance(event, Step):
            seen.append(allocator.holding())
    trainer = Trainer(load(ROOT / "samples" / "lenet5.json"), one_epoch_config(), callback)
    trainer.run()
    assert trainer.failure is None and seen and all(seen)
    assert not allocator.holding()


def _faults_of_a_big_block(size: int) -> int:
    """Minor page faults of touching a freshly malloc'd block of size bytes
    the second time round (the first may grow the heap)."""
    libc = allocator._glibc()
    libc.malloc.restype = ctypes.c_void_p
    for _ in range(2):
        pointer = libc.malloc(size)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        ctypes.memset(pointer, 1, size)
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        libc.free(ctypes.c_void_p(pointer))
    return faults


def test_a_run_keeps_even_blocks_over_the_mmap_threshold() -> None:
    size = 2 * allocator.MMAP_THRESHOLD            # a 64 MiB gradient, say
    pages = size // resource.getpagesize()
    assert _faults_of_a_big_block(size) > pages // 2     # mapped afresh each time
    with allocator.keep_freed_memory():
        assert _faults_of_a_big_block(size) < pages // 20
    assert _faults_of_a_big_block(size) > pages // 2     # and again after the run


_THREAD_RUN = """
import ctypes, resource, sys, threading
sys.path.insert(0, {root!r})
from designer.nn import allocator
if {one_arena}:
    assert allocator.use_one_arena()
size = 96 * 2 ** 20      # over a thread arena's 64 MB heaps
libc = allocator._glibc()
libc.malloc.restype = ctypes.c_void_p
faults = []
def run():
    with allocator.keep_freed_memory():
        for _ in range(2):
            p = libc.malloc(size)
            before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
            ctypes.memset(p, 1, size)
            faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)
            libc.free(ctypes.c_void_p(p))
t = threading.Thread(target=run)
t.start()
t.join()
print(faults[-1] * resource.getpagesize() / size)
"""


@pytest.mark.parametrize("one_arena", [False, True])
def test_one_arena_lets_the_trainers_thread_keep_big_blocks(one_arena: bool) -> None:
    import subprocess
    import sys
    from conftest import ROOT
    out = subprocess.run([sys.executable, "-c", _THREAD_RUN.format(root=str(ROOT),
                                                                  one_arena=one_arena)],
                         capture_output=True, text=True, timeout=60, check=True)
    faulted = float(out.stdout.strip())        # the share of the block's pages
    if one_arena:
        assert faulted < 0.05       # the main heap's freed block, touched already
    else:
        assert faulted > 0.5        # a thread's arena maps it afresh
