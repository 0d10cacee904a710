"""Benchmark: very large designs in the app's window. Opens 1,000-, 4,000- and
10,000-layer convolution stacks (File > Open path: load, window, panels, first
paint) and edits one parameter (undo-command push to repainted canvas).
Targets at 10,000 layers: open < 3 s, edit -> repaint median < 100 ms. Prints
the figures and the growth ratio (time at the largest / time at the smallest
size; near the size ratio, 10, for linear work).

    python tests/benchmarks/large_designs.py [--sizes 1000 4000 10000] [--edits 9]
        [--profile open|edit --size N]
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("CNN_DESIGNER_STATE_DIR", tempfile.mkdtemp(prefix="cnn-bench-"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication  # noqa: E402

from designer.core.model import INPUT_ID, Design, InputSpec, Layer  # noqa: E402
from designer.gui.app import create_window  # noqa: E402
from designer.gui.commands import SetParamCommand  # noqa: E402
from designer.gui.training.background import pending_count  # noqa: E402
from designer.io import save  # noqa: E402


def conv_stack(n: int) -> Design:
    """n 3×3 convolutions (padding 1, 8 channels) in a chain on a 3×32×32 input."""
    design = Design(f"{n}-layer stack", InputSpec(3, 32, 32))
    design.set_layers([Layer(f"conv{i + 1}", "Conv2d",
                             {"out_channels": 8, "kernel_size": 3, "padding": 1},
                             [f"conv{i}" if i else INPUT_ID]) for i in range(n)])
    return design


def open_window(app: QApplication, path: str):
    start = time.perf_counter()
    window = create_window(path)
    window.show()
    app.processEvents()
    window.repaint()   # the first complete paint
    return window, time.perf_counter() - start


def settle(app: QApplication, limit_s: float = 90.0) -> None:
    """Let the panels' start-up jobs (device probe: imports torch) finish first:
    they hold the GIL and would be timed as edit latency."""
    until = time.perf_counter() + limit_s
    first = True
    while (first or pending_count()) and time.perf_counter() < until:
        first = False
        app.processEvents()
        time.sleep(0.05)
    app.processEvents()


def time_edits(app: QApplication, window, edits: int) -> list[float]:
    settle(app)
    design = window.context.design
    target = design.layers[len(design.layers) // 2].id
    window.context.select(target)
    window.canvas.ensureVisible(window.canvas.block_item(target))
    app.processEvents()
    viewport = window.canvas.viewport()
    times = []
    for n in range(edits):
        value = 8 + (n % 2 + 1) * 4
        start = time.perf_counter()
        window.undo_stack.push(SetParamCommand(design, target, "out_channels", value))
        app.processEvents()
        viewport.repaint()
        times.append((time.perf_counter() - start) * 1000)
    shape = window.canvas.block_item(target).text.shape
    assert shape.startswith(str(value)), shape
    return times


def close(app: QApplication, window) -> None:
    window.undo_stack.setClean()
    window.close()
    window.deleteLater()
    app.processEvents()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 10000])
    parser.add_argument("--edits", type=int, default=9)
    parser.add_argument("--profile", choices=["open", "edit"])
    parser.add_argument("--size", type=int, default=10000, help="with --profile")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="cnn-large-"))
    if args.profile:
        path = folder / "stack.json"
        save(conv_stack(args.size), str(path))
        prof = cProfile.Profile()
        if args.profile == "open":
            prof.enable()
        window, _ = open_window(app, str(path))
        if args.profile == "edit":
            prof.enable()
            time_edits(app, window, 3)
        prof.disable()
        pstats.Stats(prof).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(40)
        close(app, window)
        return 0
    rows = []
    for n in args.sizes:
        path = folder / f"stack{n}.json"
        save(conv_stack(n), str(path))
        window, opened = open_window(app, str(path))
        assert len(window.context.design.layers) == n
        times = time_edits(app, window, args.edits)
        rows.append((n, opened, statistics.median(times), max(times)))
        print(f"{n:>6} layers: open {opened:6.2f} s   edit -> repaint median "
              f"{statistics.median(times):7.1f} ms, max {max(times):7.1f} ms", flush=True)
        close(app, window)
    (n0, open0, edit0, _), (n1, open1, edit1, _) = rows[0], rows[-1]
    print(f"growth {n1 // n0}x layers: open x{open1 / open0:.1f}, edit x{edit1 / edit0:.1f} "
          f"(linear ≈ {n1 / n0:.0f})")
    ok = open1 < 3.0 and edit1 < 100.0
    print(f"targets at {n1} layers (open < 3 s, edit median < 100 ms): "
          f"{'OK' if ok else 'NOT MET'}  [platform {app.platformName()}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
