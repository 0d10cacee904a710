"""The training panel with 1-D and 3-D designs: the dataset box says what they
train on, a run (real engine, tiny sizes) trains on synthetic data of the
design's shape and says so, and its results show thumbnails of the samples."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyqtgraph")
from PySide6.QtCore import QSettings  # noqa: E402

from designer.core.model import Design, InputSpec  # noqa: E402
from designer.core.training_config import TrainConfig  # noqa: E402
from designer.gui.context import DesignContext  # noqa: E402
from designer.gui.training import TrainingPanel  # noqa: E402
from designer.gui.training.data_label import (nd_dataset_label, nd_dataset_text,  # noqa: E402
                                              thumbnail)
from designer.io import load  # noqa: E402
from designer.nn import train_setup  # noqa: E402
from designer.nn.data import synthetic_nd_label  # noqa: E402

from conftest import ROOT  # noqa: E402

RUN_TIMEOUT = 120_000


def signal_design() -> Design:
    d = Design("signal net", InputSpec(1, length=48))
    d.add_layer("Conv1d", {"out_channels": 6, "kernel_size": 5, "padding": 2})
    d.add_layer("ReLU")
    d.add_layer("AdaptiveAvgPool1d", {"output_size": 4})
    d.add_layer("Flatten")
    d.add_layer("Linear", {"out_features": 4})
    return d


def clip_design() -> Design:
    d = Design("clip net", InputSpec(3, 12, 12, depth=4))
    d.add_layer("Conv3d", {"out_channels": 4, "kernel_size": 3, "padding": 1})
    d.add_layer("ReLU")
    d.add_layer("MaxPool3d", {"kernel_size": [1, 2, 2]})
    d.add_layer("Flatten")
    d.add_layer("Linear", {"out_features": 6})
    return d


def tiny_config(**kw: object) -> TrainConfig:
    base = dict(dataset="cifar10", epochs=1, batch_size=16, train_limit=48, test_limit=16,
                schedule="constant", lr=0.01, device="cpu", precision="fp32", threads=1)
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


def make_panel(qtbot, design: Design, tmp_path: Path) -> TrainingPanel:
    p = TrainingPanel(DesignContext(design),
                      settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    qtbot.addWidget(p)
    p.resize(1400, 500)
    p.show()
    return p


def test_the_gui_label_is_the_engines() -> None:
    for shape, out in (((1, 48), (4,)), ((3, 4, 12, 12), (6,)), ((2, 30), (500,))):
        classes = train_setup.synthetic_nd_classes(out)
        assert nd_dataset_label(shape, out) == synthetic_nd_label(shape, classes)
    assert nd_dataset_label((3, 32, 32), (10,)) is None


def test_thumbnails_of_signals_and_clips() -> None:
    clip = np.zeros((3, 5, 8, 8), np.uint8)
    clip[:, 2] = 200
    assert thumbnail(clip).shape == (3, 8, 8) and thumbnail(clip).max() == 200
    sig = (np.sin(np.linspace(0, 6, 90)) * 100 + 128).astype(np.uint8)[None]
    img = thumbnail(sig)
    assert img.shape == (3, 32, 90)
    drawn = (img[0] == 31)
    assert drawn.any(axis=0).all()            # a line through every column
    assert drawn[:, 0].argmax() > drawn[:, 22].argmax()   # high values drawn near the top


@pytest.mark.parametrize("make", [signal_design, clip_design])
def test_a_run_trains_on_synthetic_data_of_the_design_shape(qtbot, tmp_path, make) -> None:
    design = make()
    panel = make_panel(qtbot, design, tmp_path)
    try:
        box = panel.form.dataset
        analysis = panel.context.analysis
        assert box.status.text() == nd_dataset_text(design.input.shape, analysis.output_shape)
        assert "CIFAR-10 is 2-D" in box.status.text()
        assert not box.combo.isEnabled() and not box.download_button.isEnabled()
        panel.form.set_config(tiny_config())
        with qtbot.waitSignal(panel.run_finished, timeout=RUN_TIMEOUT):
            run = panel.start()
            assert run is not None
        assert run.state == "finished", panel.message_text()
        rank = len(design.input.shape) - 1
        assert run.started.dataset_label.startswith(f"Synthetic {rank}-D")
        assert f"trains on synthetic {rank}-D" in panel.notice.text()
        assert "CIFAR-10 is 2-D" in panel.notice.text()
        assert run.samples is not None and len(run.samples.images)
        panel.results.show_run(run)
        assert panel.results.images_grid.count() == len(run.samples.images)
        assert run.started.dataset_label in panel.results.header.text()
    finally:
        assert panel.shutdown(20_000)


def test_a_2d_design_keeps_the_dataset_choice_and_a_rank_change_updates_it(qtbot, tmp_path):
    design = load(ROOT / "samples" / "lenet5.json")
    panel = make_panel(qtbot, design, tmp_path)
    try:
        box = panel.form.dataset
        assert box.nd_text is None and box.combo.isEnabled()
        panel.context.design.set_input_spec(InputSpec(1, length=64))
        qtbot.waitUntil(lambda: box.nd_text is not None, timeout=5000)
        assert "This 1-D design trains on synthetic 1-D signals" in box.status.text()
        panel.context.design.set_input_spec(InputSpec(3, 32, 32))
        qtbot.waitUntil(lambda: box.nd_text is None, timeout=5000)
        assert box.combo.isEnabled()
    finally:
        assert panel.shutdown(20_000)


def test_the_gui_counts_are_the_engines() -> None:
    from designer.gui.training.data_label import nd_counts
    for shape in ((1, 1024), (3, 16, 112, 112), (1, 32, 64, 64)):
        assert nd_counts(None, None, shape) == train_setup.synthetic_nd_sizes(TrainConfig(), shape)
    assert nd_counts(7, 3, (1, 50)) == (7, 3) and nd_counts(None, None, (3, 32, 32)) is None


SAMPLES = ("signal1d", "c3d_small", "volume_unet3d")


@pytest.mark.parametrize("name", SAMPLES)
def test_each_new_sample_trains_in_the_window_on_its_synthetic_data(qtbot, tmp_path, name):
    """The window's trainer path (panel -> worker thread -> engine) on the 1-D and
    3-D samples, with tiny limits (a C3D step costs billions of MACs)."""
    path = ROOT / "samples" / f"{name}.json"
    design = load(path)
    panel = make_panel(qtbot, design, tmp_path)
    try:
        panel.form.set_config(tiny_config(batch_size=2, train_limit=4, test_limit=2,
                                          epochs=1))
        with qtbot.waitSignal(panel.run_finished, timeout=600_000):
            run = panel.start()
            assert run is not None
        assert run.state == "finished", panel.message_text()
        rank = len(design.input.shape) - 1
        assert run.started.dataset_label.startswith(f"Synthetic {rank}-D")
        assert run.started.train_size == 4 and run.started.test_size == 2
        assert "CIFAR-10 is 2-D" in panel.notice.text()
        assert run.finished.metrics["epochs_done"] == 1
    finally:
        assert panel.shutdown(20_000)
