"""Screenshots of the app's real window in each mode (run under Xvfb):

    xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/screenshot_modes.py OUT [WxH ...]

Train mode is shot after a short run on the synthetic dataset, so its curves,
run list and results (confusion matrix) have content. Writes OUT/<mode>-<W>x<H>.png.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication, QDialog

from designer.core.training_config import TrainConfig

RUN = dict(dataset="synthetic", epochs=3, batch_size=32, train_limit=512, test_limit=256,
           augment_crop=False, augment_flip=False, schedule="constant", lr=0.02,
           device="cpu", precision="fp32", channels_last="off", threads=1)


def pump(seconds: float) -> None:
    app = QApplication.instance()
    end = time.time() + seconds
    while time.time() < end:
        app.processEvents()
        time.sleep(0.01)


def shoot(window, path: Path) -> None:
    window.repaint()
    pump(0.3)
    screen = window.screen()
    geo = window.geometry()
    image = screen.grabWindow(0, geo.x(), geo.y(), geo.width(), geo.height())
    if image.isNull() or image.width() < 10:
        image = window.grab()
    image.save(str(path))
    print("wrote", path, image.width(), "x", image.height(), flush=True)


def main(out: str, sizes: list[str]) -> int:
    os.environ.setdefault("CNN_DESIGNER_STATE_DIR", tempfile.mkdtemp(prefix="cnn-shots-"))
    from designer.gui.app import create_window
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    window = create_window()
    window.setGeometry(0, 0, 1280, 720)
    window.show()
    pump(1.5)
    training = window.panels.training
    training.form.set_config(TrainConfig(**RUN))  # type: ignore[arg-type]
    finished = []
    training.run_finished.connect(finished.append)
    window.modes.switch("train")
    training.start()
    end = time.time() + 300
    while not finished and time.time() < end:
        pump(0.2)
    window.context.select("conv2")
    for size in sizes:
        width, height = map(int, size.split("x"))
        window.setGeometry(0, 0, width, height)
        window.modes.reset_layout()
        for mode in ("design", "train", "inspect"):
            window.modes.switch(mode)
            pump(2.5 if mode == "inspect" else 1.0)
            shoot(window, out_dir / f"{mode}-{width}x{height}.png")
    window.modes.switch("design")
    guide = window.show_user_guide() or window.findChild(QDialog, "userGuide")
    pump(0.5)
    shoot(guide, out_dir / "help-user-guide.png")
    guide.close()
    window.show_shortcuts()
    keys = window.findChild(QDialog, "keyboardShortcuts")
    pump(0.5)
    shoot(keys, out_dir / "help-shortcuts.png")
    keys.close()
    window.setGeometry(0, 0, 1280, 720)
    window._ask_save_changes = lambda: "discard"
    window.files.new()
    pump(0.5)
    shoot(window, out_dir / "design-empty-1280x720.png")
    window.panels.training.shutdown()
    window.panels.rf.shutdown(60_000)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "screens",
                  sys.argv[2:] or ["1280x720", "1920x1080"]))
