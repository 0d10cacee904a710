"""Screenshots of a 1-D or 3-D design in the app's real window (run under Xvfb):

    xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/screenshot_nd.py DESIGN OUT_PREFIX \
        [LAYER] [SLICE]

Writes OUT_PREFIX-canvas.png (Design mode, the whole design) and
OUT_PREFIX-rf.png (Inspect mode, LAYER selected, the volume's SLICE shown),
and OUT_PREFIX-maps.png (the Maps and filters dock on its feature maps).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget


def pump(seconds: float) -> None:
    app = QApplication.instance()
    end = time.time() + seconds
    while time.time() < end:
        app.processEvents()
        time.sleep(0.01)


def shoot(widget: QWidget, path: Path) -> None:
    widget.repaint()
    pump(0.3)
    screen = widget.screen()
    geo = widget.geometry()
    image = screen.grabWindow(0, geo.x(), geo.y(), geo.width(), geo.height())
    if image.isNull() or image.width() < 10:
        image = widget.grab()
    image.save(str(path))
    print("wrote", path, image.width(), "x", image.height(), flush=True)


def main(design_path: str, prefix: str, layer: str | None, slice_index: int | None) -> int:
    os.environ.setdefault("CNN_DESIGNER_STATE_DIR", tempfile.mkdtemp(prefix="cnn-shots-"))
    from designer.gui.app import create_window
    from designer.gui.rf.view import ReceptiveFieldView
    out = Path(prefix)
    out.parent.mkdir(parents=True, exist_ok=True)
    window = create_window(design_path)
    if window.startup_error:
        print("cannot open", design_path, window.startup_error, file=sys.stderr)
        return 2
    window.setGeometry(0, 0, 1600, 1000)
    window.show()
    pump(1.0)
    window.modes.reset_layout()
    window.modes.switch("design")
    window.context.select(layer)
    pump(1.5)
    window.show_whole_design()
    pump(0.5)
    shoot(window, Path(f"{prefix}-canvas.png"))
    window.modes.switch("inspect")
    rf = window.findChild(ReceptiveFieldView)
    pump(1.0)
    window.context.select(layer)
    pump(1.0)
    if slice_index is not None and rf is not None:
        rf.nd_view.set_slice(slice_index)
    if rf is not None:   # wait for the feature maps (torch runs in the background)
        end = time.time() + 120
        while time.time() < end and (rf.last_result is None
                                     or rf.last_result.request_id != rf._request):
            pump(0.2)
        rf.tabs.setCurrentIndex(1)
    pump(1.0)
    shoot(window, Path(f"{prefix}-rf.png"))
    window.panels.training.shutdown()
    window.panels.rf.shutdown(60_000)
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(args[0], args[1], args[2] if len(args) > 2 else None,
                  int(args[3]) if len(args) > 3 else None))
