"""The main window renders the LeNet-5 sample with real content (offscreen)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage

from designer.gui.app import create_window


def read_rgb(path) -> np.ndarray:
    """A PNG as an H×W×3 float array, read with Qt (no Pillow dependency)."""
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    assert not image.isNull(), path
    h, w, stride = image.height(), image.width(), image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * h)
    return raw.reshape(h, stride)[:, : w * 3].reshape(h, w, 3).astype(float)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_DESIGNER_STATE_DIR", str(tmp_path / "state"))
    win = create_window()
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    qtbot.wait(50)
    return win


def test_window_screenshot_has_content(window, tmp_path):
    window.context.select("conv1")
    path = tmp_path / "window_lenet.png"
    assert window.grab().save(str(path))
    image = read_rgb(path)
    h, w, _ = image.shape
    assert w >= 700 and h >= 500
    assert image.std() > 20   # not a blank or single-colour window
    # every region holds something: palette (left), canvas (centre), properties (right)
    for x0, x1 in ((0, w // 6), (w // 3, 2 * w // 3), (5 * w // 6, w)):
        region = image[h // 10: 9 * h // 10, x0:x1]
        assert region.std() > 8, (x0, x1)
    # the canvas shows coloured blocks (category colours), not only greys
    canvas = image[h // 10: 2 * h // 3, w // 3: 2 * w // 3]
    saturation = canvas.max(axis=2) - canvas.min(axis=2)
    assert (saturation > 60).mean() > 0.002


def test_canvas_export_png_of_lenet(window, tmp_path):
    path = tmp_path / "canvas.png"
    window.canvas.export_png(str(path))
    image = read_rgb(path)
    assert image.shape[0] > 200 and image.std() > 10
