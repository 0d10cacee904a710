"""GUI responsiveness while the training panel trains, and the panel's training
throughput against the headless engine on the same design, in the same process.

    python tests/benchmarks/gui_training_latency.py [--images 12000] [--epochs 1]
        [--dataset synthetic|cifar10 --data-dir DIR] [--screenshot PNG]

Prints: the machine load, headless images/s (before and after the GUI run),
GUI-run images/s and their ratio (target >= 90%), and the event-loop latency
of a 10 ms QTimer during the GUI run: p50 / p99 / max (target p99 < 50 ms).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("CNN_DESIGNER_STATE_DIR", "/tmp/cnn-bench-state")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from designer.core.training_config import TrainConfig  # noqa: E402
from designer.io import load  # noqa: E402
from designer.nn.events import Failed, Step  # noqa: E402

WARMUP_STEPS = 10


def throughput(steps: list[tuple[float, Step]], batch: int) -> float:
    """Images per second between the end of warm-up and the last step, per epoch
    (evaluation time between epochs excluded)."""
    images, seconds = 0, 0.0
    by_epoch: dict[int, list[tuple[float, Step]]] = {}
    for t, s in steps:
        by_epoch.setdefault(s.epoch, []).append((t, s))
    for epoch, rows in by_epoch.items():
        rows = rows[WARMUP_STEPS:] if epoch == min(by_epoch) else rows
        if len(rows) < 2:
            continue
        images += (len(rows) - 1) * batch
        seconds += rows[-1][0] - rows[0][0]
    return images / seconds if seconds > 0 else float("nan")


def headless(design, config: TrainConfig) -> float:
    from designer.nn.trainer import Trainer
    steps: list[tuple[float, Step]] = []
    failed: list[str] = []

    def on_event(ev: object) -> None:
        if isinstance(ev, Step):
            steps.append((time.perf_counter(), ev))
        elif isinstance(ev, Failed):
            failed.append(ev.message)

    Trainer(design.copy(), config, on_event).run()
    if failed:
        raise SystemExit(f"headless run failed: {failed[0]}")
    return throughput(steps, config.batch_size)


def gui_run(app: QApplication, design_path: Path, config: TrainConfig,
            screenshot: str | None) -> tuple[float, list[float]]:
    from designer.gui.app import create_window
    win = create_window(str(design_path))   # the app's window, with every panel
    panel = win.panels.training
    print(f"window: {type(win).__name__} with panels")
    win.resize(1600, 1000)
    win.show()
    win.modes.switch("train")   # the curves on screen, as a user watching the run sees them
    for _ in range(5):
        app.processEvents()
    panel.form.set_config(config)

    # the engine's Step events, timed in the worker thread as they are emitted
    steps: list[tuple[float, Step]] = []
    gaps: list[float] = []
    last = [0.0]
    measuring = [False]

    def tick() -> None:
        now = time.perf_counter()
        if measuring[0] and last[0]:
            gaps.append((now - last[0]) * 1000)
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()

    def on_event(number: int, ev: object) -> None:
        if isinstance(ev, Step):
            measuring[0] = True

    panel.controller.event.connect(on_event)
    run = None

    from designer.gui.training import worker as worker_mod
    original = worker_mod.TrainWorker._on_event

    def timed(self, ev):  # stamp in the worker thread: queue delays do not count
        if isinstance(ev, Step):
            steps.append((time.perf_counter(), ev))
        original(self, ev)

    worker_mod.TrainWorker._on_event = timed
    shot = {"at": None, "taken": False}

    def maybe_screenshot() -> None:
        # mid-run: one second after the first epoch has been drawn
        if not screenshot or shot["taken"] or run is None:
            return
        if shot["at"] is None and run.epochs:
            shot["at"] = time.perf_counter() + 1.0
        if shot["at"] is not None and time.perf_counter() >= shot["at"]:
            win.grab().save(screenshot)
            shot["taken"] = True
            print(f"screenshot (mid-run): {screenshot}")

    poll = QTimer()
    poll.setInterval(200)
    poll.timeout.connect(maybe_screenshot)
    poll.start()
    panel.run_finished.connect(lambda _run: app.quit())
    try:
        run = panel.start()
        if run is None:
            raise SystemExit(f"the panel refused to start: {panel.message_text()}")
        app.exec()
        measuring[0] = False
    finally:
        worker_mod.TrainWorker._on_event = original
        poll.stop()
        timer.stop()
    if run.state != "finished":
        raise SystemExit(f"GUI run ended as {run.state}: {run.message}")
    if screenshot and not shot["taken"]:
        win.grab().save(screenshot)
        print(f"screenshot (after the run): {screenshot}")
    panel.shutdown()
    win.close_guards = [] if hasattr(win, "close_guards") else None
    win.hide()
    return throughput(steps, config.batch_size), gaps


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--design", default=str(ROOT / "samples" / "lenet5.json"))
    ap.add_argument("--images", type=int, default=12000, help="training images")
    ap.add_argument("--test-images", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--dataset", default="synthetic", choices=["synthetic", "cifar10"])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--screenshot", default=None, help="save the window mid-run here")
    ap.add_argument("--skip-headless", action="store_true")
    args = ap.parse_args()

    app = QApplication.instance() or QApplication(sys.argv)
    config = TrainConfig(dataset=args.dataset, data_dir=args.data_dir, epochs=args.epochs,
                         batch_size=args.batch, train_limit=args.images,
                         test_limit=args.test_images, lr=0.05)
    design = load(args.design)
    load_before = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.2f} "
          f"{load_before[1]:.2f} {load_before[2]:.2f} (1/5/15 min)")
    print(f"design {design.name}, {args.dataset}, {args.images} training images, "
          f"{args.epochs} epoch(s), batch {args.batch}")
    base = []
    if not args.skip_headless:
        base.append(headless(design, config))
        print(f"headless engine: {base[-1]:,.0f} images/s")
    gui_ips, gaps = gui_run(app, Path(args.design), config, args.screenshot)
    print(f"in the panel:    {gui_ips:,.0f} images/s")
    if not args.skip_headless:
        base.append(headless(design, config))
        print(f"headless again:  {base[-1]:,.0f} images/s")
        ref = statistics.mean(base)
        print(f"panel / headless throughput: {100 * gui_ips / ref:.1f}% (target >= 90%)")
    if gaps:
        print(f"GUI event loop, 10 ms timer, {len(gaps)} intervals while training: "
              f"p50 {pct(gaps, 50):.1f} ms, p99 {pct(gaps, 99):.1f} ms, "
              f"max {max(gaps):.1f} ms (target p99 < 50 ms)")
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
