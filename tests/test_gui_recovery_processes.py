"""Crash recovery with two real app processes (offscreen), killed with SIGKILL
in both orders: no edit older than the debounce is lost, and no instance
offers, takes or deletes another's live recovery file."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from designer.gui.autosave import DEBOUNCE_MS

ROOT = Path(__file__).resolve().parent.parent
DRIVER = Path(__file__).with_name("recovery_driver.py")
MARGIN_S = 1.5   # timer lateness and the write itself, on a busy machine
pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


class Instance:
    def __init__(self, state: Path) -> None:
        env = dict(os.environ, CNN_DESIGNER_STATE_DIR=str(state), QT_QPA_PLATFORM="offscreen",
                   PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen([sys.executable, str(DRIVER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, text=True, cwd=ROOT)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.acks: list[tuple[int, float]] = []   # (value, time the edit was applied)
        self.path = Path(self.expect("ready")[1])

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, word: str, timeout: float = 60) -> list[str]:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {word!r} from the app within {timeout} s") from None
            words = line.split()
            if words and words[0] == "edited":
                self.acks.append((int(words[1]), float(words[2])))
            if words and words[0] == word:
                return words

    def edit(self, value: int) -> None:
        self.send(f"edit {value}")

    def offer(self) -> list[int]:
        self.send("offer")
        return [int(w) for w in self.expect("offered")[1:]]

    def kill(self) -> float:
        self.expect_edits()
        at = time.time()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        return at

    def expect_edits(self) -> None:
        self.send("offer")   # a round trip: every edit sent so far is acknowledged
        self.expect("offered")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


def saved_value(path: Path) -> int:
    data = json.loads(path.read_text(encoding="utf-8"))
    conv1 = next(lay for lay in data["file"]["design"]["layers"] if lay["id"] == "conv1")
    return int(conv1["params"]["out_channels"])


def assert_nothing_old_lost(inst: Instance, killed_at: float) -> None:
    old = [v for v, t in inst.acks if t < killed_at - DEBOUNCE_MS / 1000 - MARGIN_S]
    assert old, "the test made no edit long enough before the kill"
    value = saved_value(inst.path)
    assert value >= max(old), f"lost edits: saved {value}, edited {max(old)} before the debounce"
    assert value <= max(v for v, _ in inst.acks)


@pytest.mark.parametrize("first", ["a", "b"])
def test_two_instances_killed_in_either_order(tmp_path, first):
    state = tmp_path / "state"
    a = b = c = None
    try:
        a, b = Instance(state), Instance(state)
        assert a.path != b.path and a.path.parent == b.path.parent
        value = 0
        stop_at = time.time() + 4.0   # edits never pause: the debounce alone would never fire
        while time.time() < stop_at:
            value += 1
            a.edit(100 + value)
            b.edit(300 + value)
            time.sleep(0.15)
        assert a.offer() == [0] and b.offer() == [0]   # the other one is alive
        assert a.path.is_file() and b.path.is_file()

        dead, alive = (a, b) if first == "a" else (b, a)
        alive.edit(alive.acks[-1][0] + 1)   # just before the crash of the other
        killed_at = dead.kill()
        assert_nothing_old_lost(dead, killed_at)
        dead_value = saved_value(dead.path)

        for step in range(1, 10):   # the survivor goes on; it never deletes the dead one's file
            alive.edit(500 + step)
            time.sleep(0.15)
        assert alive.offer() == [1, dead_value]   # offered now that its owner is gone; kept
        assert dead.path.is_file()
        killed_at = alive.kill()
        assert_nothing_old_lost(alive, killed_at)

        c = Instance(state)   # a third start is offered both, and closes cleanly
        offered = c.offer()
        assert offered[0] == 2 and sorted(offered[1:]) == sorted(
            [saved_value(a.path), saved_value(b.path)])
        c.send("close")
        c.expect("closed")
        c.proc.wait(30)
        assert a.path.is_file() and b.path.is_file()   # its clean close deleted only its own
        assert not c.path.exists()
    finally:
        for inst in (a, b, c):
            if inst is not None:
                inst.stop()
