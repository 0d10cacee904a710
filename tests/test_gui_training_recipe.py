"""The training panel's preset selector and fast-training widgets (real widgets)."""
from __future__ import annotations


import pytest

pytest.importorskip("pyqtgraph")
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from designer.core.recipes import recipe  # noqa: E402
from designer.core.training_config import RANGES, TrainConfig  # noqa: E402
from designer.gui.training import TrainingPanel  # noqa: E402
from designer.io import load  # noqa: E402
from designer.nn.events import Started  # noqa: E402

from conftest import ROOT  # noqa: E402
from test_gui_training import RUN_TIMEOUT, tiny_config  # noqa: E402
from training_panel_fixtures import lenet_context, training_panel  # noqa: E402,F401


def choose(panel: TrainingPanel, key: str) -> None:
    box = panel.form.preset
    box.setCurrentIndex(box.findData(key))
    box.activated.emit(box.currentIndex())     # as a user's choice does


def test_fast_preset_fills_visible_editable_settings_and_default_goes_back(panel, context):
    form = panel.form
    assert form.preset.currentData() == "default"
    choose(panel, "fast")
    cfg = form.config()
    for key, value in recipe("fast").items():
        assert getattr(cfg, key) == pytest.approx(value), key
    assert form.batch_size.value() == 1024 and form.techniques.whiten.isChecked()
    assert form.techniques.tta.currentData() == "mirror_translate"
    assert form.techniques.isVisible() and form.techniques.bias_lr.isEnabled()
    assert context.design.training["averaging"] == "lookahead"   # saved with the design
    # still editable: an edit makes it Custom and is kept
    form.techniques.bias_lr.setValue(32.0)
    assert form.preset.currentData() == "custom"
    assert form.config().norm_bias_lr_scale == 32.0 and form.config().dirac_init
    choose(panel, "default")
    defaults = TrainConfig()
    cfg = form.config()
    for key in recipe("fast"):
        assert getattr(cfg, key) == getattr(defaults, key), key
    assert form.preset.currentData() == "default"


def test_every_option_round_trips_through_the_form_and_the_design(panel, context):
    form = panel.form
    cfg = tiny_config(lr_start_factor=0.3, lr_end_factor=0.01, crop_pad=3, crop_fill="reflect",
                      flip_alternate=True, tta="mirror", averaging="ema", average_decay=0.95,
                      average_every=3, average_start_epoch=1.5, norm_bias_lr_scale=16.0,
                      freeze_norm_weights=True, bn_momentum=0.25, decay_all=True,
                      decoupled_decay=True, dirac_init=True, whiten_init=True,
                      whiten_bias_epochs=2.0, logit_scale=0.5, schedule="triangular")
    form.set_config(cfg)
    got = form.config()
    for key in recipe("fast"):
        if key not in ("epochs", "batch_size", "lr", "momentum", "nesterov", "weight_decay",
                       "optimizer", "label_smoothing", "warmup_epochs", "augment_crop",
                       "augment_flip", "cutout"):
            assert getattr(got, key) == getattr(cfg, key), key
    form.techniques.crop_pad.setValue(5)      # a user edit writes the design's settings
    saved = context.design.training
    assert saved["crop_pad"] == 5 and saved["bn_momentum"] == 0.25
    assert TrainConfig.from_dict(saved).whiten_init
    form.techniques.bn_momentum.setValue(0.0)    # "as in the design"
    assert form.config().bn_momentum is None and context.design.training["bn_momentum"] is None


def test_widgets_are_range_checked_and_wheel_guarded(panel):
    t = panel.form.techniques
    for spin, name in ((t.average_decay, "average_decay"), (t.crop_pad, "crop_pad"),
                       (t.bias_lr, "norm_bias_lr_scale"), (t.logit_scale, "logit_scale"),
                       (t.whiten_epochs, "whiten_bias_epochs")):
        lo, hi = RANGES[name]
        assert spin.minimum() == pytest.approx(lo) and spin.maximum() == pytest.approx(hi)
        spin.setValue(hi * 10 + 1)
        assert spin.value() == pytest.approx(hi)
    spin = t.average_every
    spin.clearFocus()
    before = spin.value()
    centre = QPointF(spin.rect().center())
    event = QWheelEvent(centre, QPointF(spin.mapToGlobal(QPoint(5, 5))), QPoint(0, 120),
                        QPoint(0, 120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(spin, event)
    assert spin.value() == before                # unfocused: the wheel scrolls the panel


def test_a_run_with_the_fast_cpu_preset_whitens_at_start(qtbot, panel, context):
    context.design.replace_with(load(ROOT / "samples" / "fast_cifar_cpu.json"))
    form = panel.form
    choose(panel, "fast-cpu")
    cfg = form.config()
    tiny = tiny_config(**{k: getattr(cfg, k) for k in recipe("fast-cpu")})
    tiny.epochs, tiny.batch_size, tiny.train_limit, tiny.test_limit = 1, 32, 64, 32
    form.set_config(tiny)
    notes: list[str] = []
    panel.controller.event.connect(
        lambda n, e: notes.extend(e.notes) if isinstance(e, Started) else None)
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_TIMEOUT * 3):
        assert panel.start() is not None
    assert any("patch whitening" in n for n in notes)
