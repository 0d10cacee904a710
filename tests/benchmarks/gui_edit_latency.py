"""Benchmark: a parameter edit in a 100-block design, from the undo-command push
to the repainted canvas (analysis, canvas, property editor, summary table and
formula view all update). Target: median < 16 ms (issue 12). Printed beside a
baseline of the same run (a repaint without an edit), interleaved with the
edits, so that a loaded machine shows in both.

    python tests/benchmarks/gui_edit_latency.py [--blocks 100] [--edits 60]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("CNN_DESIGNER_STATE_DIR", tempfile.mkdtemp(prefix="cnn-bench-"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication  # noqa: E402

from designer.core.model import Design  # noqa: E402
from designer.gui.app import create_window  # noqa: E402
from designer.gui.commands import SetParamCommand  # noqa: E402


def big_design(blocks: int) -> Design:
    """Conv-BN-ReLU stages with a residual Add after every third stage, then global
    pooling and Flatten: exactly `blocks` layers."""
    design = Design(f"{blocks}-block benchmark")
    previous, stage_input, n = "input", "input", 0
    while len(design.layers) < blocks - 2:
        free = blocks - 2 - len(design.layers)
        if free >= 4 and n % 3 == 2 and stage_input != "input":
            design.add_layer("Add", {}, [previous, stage_input], f"add{n}")
            previous = stage_input = design.layers[-1].id
        if blocks - 2 - len(design.layers) >= 3:
            n += 1
            design.add_layer("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1},
                             [previous], f"conv{n}")
            design.add_layer("BatchNorm2d", {}, [f"conv{n}"], f"bn{n}")
            design.add_layer("ReLU", {}, [f"bn{n}"], f"relu{n}")
            previous = f"relu{n}"
            if stage_input == "input":
                stage_input = previous
        else:
            design.add_layer("Identity", {}, [previous])
            previous = design.layers[-1].id
    design.add_layer("AdaptiveAvgPool2d", {"output_size": 1}, [previous], "gap")
    design.add_layer("Flatten", {}, ["gap"], "flat")
    return design


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=100)
    parser.add_argument("--edits", type=int, default=60)
    parser.add_argument("--no-panels", action="store_true",
                        help="without the Training and Receptive-field panels")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds to let the panels start (torch import) before timing")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    window = create_window(with_panels=not args.no_panels)
    window.set_design(big_design(args.blocks), None)
    window.resize(1400, 900)
    window.show()
    settle_until = time.perf_counter() + args.settle
    while time.perf_counter() < settle_until:
        app.processEvents()
        time.sleep(0.01)
    design = window.context.design
    assert len(design.layers) == args.blocks, len(design.layers)
    assert window.context.analysis.ok, window.context.analysis.all_errors[:1]
    target = "conv10" if "conv10" in design else design.layers[len(design.layers) // 2].id
    window.context.select(target)   # the property editor and formula view follow edits
    window.canvas.ensureVisible(window.canvas.block_item(target))
    app.processEvents()
    viewport = window.canvas.viewport()
    times, baseline = [], []
    for n in range(args.edits):
        # the baseline, interleaved so that both see the same load: the same
        # repaint of the canvas without an edit
        start = time.perf_counter()
        app.processEvents()
        viewport.repaint()
        baseline.append((time.perf_counter() - start) * 1000)
        value = 16 + (n % 2) * 8
        start = time.perf_counter()
        window.undo_stack.push(SetParamCommand(design, target, "out_channels", value))
        app.processEvents()
        viewport.repaint()
        times.append((time.perf_counter() - start) * 1000)
    shape = window.canvas.block_item(target).text.shape
    assert shape.startswith(str(16 + ((args.edits - 1) % 2) * 8)), shape
    times.sort()
    median, base = statistics.median(times), statistics.median(baseline)
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(f"blocks={args.blocks} edits={args.edits} platform={app.platformName()} "
          f"panels={not args.no_panels}")
    print(f"baseline (repaint, no edit): median {base:.2f} ms")
    print(f"edit -> repaint: median {median:.2f} ms ({median / base:.1f}x the baseline), "
          f"p95 {p95:.2f} ms, max {times[-1]:.2f} ms "
          f"(target median < 16 ms: {'OK' if median < 16 else 'SLOW'})")
    window.undo_stack.setClean()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
