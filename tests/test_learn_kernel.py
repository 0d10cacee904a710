"""Learn-a-kernel demo: the 1×2 convolution learns [1, −1] from images and their
edge maps, quickly, in a worker thread while the window stays responsive."""
from __future__ import annotations

import threading
import time

import torch
import torch.nn.functional as F

from designer.nn.learn_kernel import TARGET, learn, make_data


def test_targets_are_the_images_convolved_with_the_edge_kernel() -> None:
    x, y = make_data(count=3, size=8)
    expected = x[..., :, :-1] - x[..., :, 1:]   # each pixel minus its right neighbour
    assert y.shape == (3, 1, 8, 7)
    assert torch.allclose(y, expected, atol=1e-6)


def test_reaches_the_edge_detector_within_0_01_in_under_10_s() -> None:
    seen = []
    t0 = time.perf_counter()
    last = learn(on_step=seen.append)
    elapsed = time.perf_counter() - t0
    assert abs(last.kernel[0] - TARGET[0]) < 0.01 and abs(last.kernel[1] - TARGET[1]) < 0.01
    assert elapsed < 10.0
    assert seen[0].error() > 0.2            # it did start away from the answer
    assert seen[-1].loss < seen[0].loss / 100
    assert [s.step for s in seen] == list(range(len(seen)))
    # the learned kernel really is the edge detector on fresh images
    x, y = make_data(count=2, seed=7)
    w = torch.tensor(last.kernel).view(1, 1, 1, 2)
    assert F.mse_loss(F.conv2d(x, w), y) < 1e-3


def test_returning_false_stops_learning() -> None:
    last = learn(on_step=lambda s: s.step < 3)
    assert last.step == 3 and last.error() > 0.01


def test_dialog_shows_the_values_converging_live_from_a_worker_thread(qtbot) -> None:
    from PySide6.QtCore import Qt, QTimer
    from designer.gui.learn_kernel import LearnKernelDialog
    dialog = LearnKernelDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    gui_thread = threading.get_ident()
    threads = set()
    with qtbot.waitSignal(dialog.finished_learning, timeout=20000) as blocker:
        dialog.start()
        dialog.job.signals.step.connect(lambda _s: threads.add(threading.get_ident()),
                                        Qt.DirectConnection)
    timer.stop()
    last = blocker.args[0]
    assert last.error() < 0.01
    assert threads and gui_thread not in threads        # steps computed off the GUI thread
    xs, ys = dialog.curves[0].getData()
    assert len(xs) == len(dialog.steps) > 5 and abs(ys[-1] - 1.0) < 0.01
    assert abs(dialog.curves[1].getData()[1][-1] + 1.0) < 0.01
    assert f"{last.kernel[0]:+.4f}" in dialog.values.text()
    assert "Reached [1, −1]" in dialog.status.text()
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) > 20 and max(gaps) < 1.0          # the GUI kept running its timers
    assert dialog.start_button.isEnabled()
