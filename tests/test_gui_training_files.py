"""Training panel: checkpoints, exports, the dataset box, hover readout, run records."""
from __future__ import annotations

import csv
import pickle
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyqtgraph")
from PySide6.QtCore import QPointF  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

from designer.gui.training.runs import Series, export_csv  # noqa: E402

from conftest import tiny_config  # noqa: E402
from test_gui_training import run_to_end  # noqa: E402
from training_panel_fixtures import lenet_context, training_panel  # noqa: E402,F401


@pytest.fixture
def finished(qtbot, panel):
    return run_to_end(qtbot, panel, tiny_config(epochs=1))


def write_tiny_cifar(root: Path, per_batch: int = 20) -> Path:
    """The standard cifar-10-batches-py layout with a few random images."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
             "test_batch"]
    for name in names:
        batch = {b"batch_label": name.encode(), b"labels": rng.integers(0, 10, per_batch).tolist(),
                 b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 b"filenames": [f"{i}.png".encode() for i in range(per_batch)]}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    meta = {b"label_names": [n.encode() for n in ["airplane", "automobile", "bird", "cat",
                                                  "deer", "dog", "frog", "horse", "ship",
                                                  "truck"]],
            b"num_cases_per_batch": per_batch, b"num_vis": 3072}
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump(meta, f)
    return folder


def test_checkpoint_round_trip_and_mismatch(qtbot, panel, context, finished, tmp_path,
                                            monkeypatch):
    path = tmp_path / "lenet.pt"
    panel._select(finished)
    monkeypatch.setattr(panel, "ask_save_path", lambda *a: str(path))
    panel.save_checkpoint()
    assert path.is_file() and not panel.message_text()
    context.set_weights(None, None)
    monkeypatch.setattr(panel, "ask_open_path", lambda *a: str(path))
    with qtbot.waitSignal(panel.checkpoint_done, timeout=30_000) as ok:
        panel.load_checkpoint()
    assert ok.args == [True]
    loaded = panel.runs[-1]
    assert loaded.state == "loaded" and "lenet.pt" in loaded.title()
    # the checkpoint carries the run's final results, shown for the loaded entry
    assert loaded.finished.confusion == finished.finished.confusion
    assert loaded.final_accuracy == pytest.approx(finished.final_accuracy)
    assert panel.results.confusion.rowCount() == 10
    assert context.weights is not None
    for k, v in finished.checkpoint["state_dict"].items():
        assert (context.weights[k] == v).all()
    # a design the weights do not fit: a clear message, weights untouched
    before = context.weights
    context.design.set_param("fc1", "out_features", 50)
    with qtbot.waitSignal(panel.checkpoint_done, timeout=30_000) as ok:
        panel.load_checkpoint()
    assert ok.args == [False]
    assert "does not match" in panel.message_text() and "fc1" in panel.message_text()
    assert context.weights is before
    # not a checkpoint at all
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    monkeypatch.setattr(panel, "ask_open_path", lambda *a: str(junk))
    with qtbot.waitSignal(panel.checkpoint_done, timeout=30_000) as ok:
        panel.load_checkpoint()
    assert ok.args == [False] and "junk.pt" in panel.message_text()


def test_csv_and_png_exports(qtbot, panel, finished, tmp_path, monkeypatch):
    csv_path, png_path = tmp_path / "runs.csv", tmp_path / "curves.png"
    monkeypatch.setattr(panel, "ask_save_path", lambda title, *a: str(
        csv_path if "metrics" in title else png_path))
    panel.export_csv()
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    steps = [r for r in rows if r["global_step"]]
    epochs = [r for r in rows if not r["global_step"]]
    assert len(steps) == len(finished.step_x) and len(epochs) == len(finished.epochs) == 1
    assert float(steps[0]["loss"]) == pytest.approx(finished.step_loss.view()[0])
    assert float(epochs[0]["train_acc"]) == pytest.approx(finished.epochs[0].train_acc)
    panel.export_png()
    img = QImage(str(png_path))
    assert not img.isNull() and img.width() > 200 and img.height() > 100


def test_export_to_an_unwritable_place_says_so(qtbot, panel, finished, tmp_path,
                                               monkeypatch):
    monkeypatch.setattr(panel, "ask_save_path",
                        lambda *a: str(tmp_path / "missing-dir" / "x.csv"))
    assert panel.export_csv() is False
    assert "Could not write" in panel.message_text()


def test_dataset_status_finds_a_cifar_folder(qtbot, panel, tmp_path, monkeypatch):
    write_tiny_cifar(tmp_path / "data")
    box = panel.form.dataset
    box.set_dataset("cifar10")
    monkeypatch.setattr(box, "ask_folder", lambda: str(tmp_path / "data" / "cifar-10-batches-py"))
    box.locate()
    assert box.data_dir == str(tmp_path / "data")     # the inner folder picked: use its parent
    qtbot.waitUntil(lambda: box.found is True, timeout=20_000)
    assert "found" in box.status.text()
    assert panel.form.config().data_dir == str(tmp_path / "data")
    box.set_dataset("synthetic")
    assert "not real data" in box.status.text() and not box.locate_button.isEnabled()


def test_download_reports_progress_and_can_be_cancelled(qtbot, panel, tmp_path, monkeypatch):
    import threading

    import designer.nn.data as data

    started = threading.Event()

    def slow_download(data_dir, progress, should_stop, url=None):
        # the network part is replaced; the panel's thread and cancel path are real
        for i in range(2000):
            progress(i * 65536, 2000 * 65536)
            started.set()
            if should_stop():
                raise data.DatasetError("cancelled by the user")
            threading.Event().wait(0.005)
        return Path(data_dir) / "cifar-10-batches-py"

    monkeypatch.setattr(data, "download_cifar10", slow_download)
    box = panel.form.dataset
    box.set_dataset("cifar10")
    box.set_data_dir(str(tmp_path))
    box.start_download()
    assert box.downloading and box.cancel_button.isVisible()
    qtbot.waitUntil(lambda: box.progress.maximum() > 0 and box.progress.value() > 0,
                    timeout=20_000)
    box.cancel_download()
    qtbot.waitUntil(lambda: not box.downloading, timeout=20_000)
    assert "cancelled" in panel.message_text()
    assert not box.cancel_button.isVisible() and box.download_button.isEnabled()


def test_hover_readout_shows_values_under_the_mouse(qtbot, panel, finished):
    plots = panel.plots
    plot = plots.step_loss
    vb = plot.getViewBox()
    x = float(finished.step_x.view()[2])
    y = float(finished.step_ema.view()[2])
    plots._on_mouse_moved(vb.mapViewToScene(QPointF(x, y)))
    line, text = plots._readouts[plot]
    assert line.isVisible() and text.isVisible()
    assert f"run {finished.number} @ step {int(x)}" in text.toPlainText()
    assert f"{y:.4g}" in text.toPlainText()
    plots._on_mouse_moved(QPointF(-1000, -1000))
    assert not line.isVisible()


def test_series_grows_and_csv_keeps_every_point(tmp_path):
    s = Series(capacity=2)
    for i in range(1000):
        s.append(i)
    assert len(s) == 1000 and s.view()[-1] == 999 and s.view().sum() == sum(range(1000))
    rows = export_csv(tmp_path / "empty.csv", [])
    assert rows == 0 and (tmp_path / "empty.csv").read_text().startswith("run,design,epoch")


def test_panel_import_and_construction_keep_torch_off_the_start_up_path():
    import subprocess
    import sys

    from conftest import ROOT
    code = ("import sys\n"
            "from PySide6.QtWidgets import QApplication\n"
            "app = QApplication([])\n"
            "from designer.gui.training import TrainingPanel\n"
            "from designer.gui.context import DesignContext\n"
            "from designer.io import load\n"
            "p = TrainingPanel(DesignContext(load('samples/lenet5.json')))\n"
            "print('torch' in sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "False"
