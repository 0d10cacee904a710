"""The app with hostile inputs (issue 13): File > Open of files that are not
files, checkpoints whose values are wrong, and the settings form's ranges."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pytest.importorskip("pyqtgraph")
import torch  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from conftest import ROOT  # noqa: E402
from designer.core.training_config import RANGES, TrainConfig  # noqa: E402
from designer.gui.context import DesignContext  # noqa: E402
from designer.gui.training import TrainingPanel  # noqa: E402
from designer.io import load  # noqa: E402
from designer.nn.build import build  # noqa: E402
from designer.nn.checkpoint import make_checkpoint  # noqa: E402

LENET = ROOT / "samples" / "lenet5.json"


@pytest.fixture
def panel(qtbot, tmp_path: Path) -> TrainingPanel:
    p = TrainingPanel(DesignContext(load(LENET)),
                      settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    qtbot.addWidget(p)
    p.show()
    yield p
    assert p.shutdown(20_000)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_file_open_refuses_a_fifo_and_a_device(app_window, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    errors: list[str] = []
    monkeypatch.setattr(app_window, "_show_error", lambda title, text: errors.append(text))
    before = app_window.context.design.name
    os.mkfifo(tmp_path / "pipe.json")
    for path in (str(tmp_path / "pipe.json"), "/dev/zero"):
        started = time.monotonic()
        assert app_window.open_file(path) is False
        assert time.monotonic() - started < 10
    assert len(errors) == 2 and "FIFO" in errors[0] and "device" in errors[1]
    assert app_window.context.design.name == before


@pytest.mark.parametrize("metrics", ["abc", {"per_class_acc": 5}])
def test_a_checkpoint_with_bad_metrics_leaves_the_model_as_it_was(
        qtbot, panel: TrainingPanel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        metrics: object) -> None:
    design = panel.context.design
    good = {k: v.clone() for k, v in build(design).state_dict().items()}
    panel.context.set_weights(good, design.copy())
    ckpt = make_checkpoint(design, {k: v + 1 for k, v in good.items()})
    ckpt["metrics"] = metrics
    torch.save(ckpt, tmp_path / "bad.pt")
    runs_before = len(panel.runs)
    monkeypatch.setattr(panel, "ask_open_path", lambda *a: str(tmp_path / "bad.pt"))
    with qtbot.waitSignal(panel.checkpoint_done, timeout=30_000) as done:
        panel.load_checkpoint()
    assert done.args == [False]
    assert "metrics" in panel.message_text()
    assert panel.context.weights is good and len(panel.runs) == runs_before


def test_the_settings_form_offers_exactly_the_allowed_ranges(panel: TrainingPanel) -> None:
    form = panel.form
    spins = {"epochs": form.epochs, "batch_size": form.batch_size, "lr": form.lr,
             "momentum": form.momentum, "weight_decay": form.weight_decay,
             "warmup_epochs": form.warmup, "label_smoothing": form.label_smoothing,
             "cutout": form.cutout, "val_split": form.val_split, "seed": form.seed}
    for name, spin in spins.items():
        assert (spin.minimum(), spin.maximum()) == pytest.approx(RANGES[name]), name
    for end in ("minimum", "maximum"):
        for spin in spins.values():
            spin.setValue(getattr(spin, end)())
        form.config().check()  # every value the form can hold is allowed
    TrainConfig.from_dict(form.design_dict()).check()


def test_dataset_status_names_the_missing_batch_file(qtbot, panel: TrainingPanel,
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from test_data_helpers import write_cifar
    folder = write_cifar(tmp_path / "data")
    (folder / "data_batch_4").unlink()
    box = panel.form.dataset
    box.set_dataset("cifar10")
    monkeypatch.setattr(box, "ask_folder", lambda: str(tmp_path / "data"))
    box.locate()
    qtbot.waitUntil(lambda: "data_batch_4" in box.status.text(), timeout=20_000)
    assert "incomplete" in box.status.text() and box.found is False
