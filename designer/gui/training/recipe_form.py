"""The training form's fast-training part: a preset selector (Default, Fast
(airbench-style), Fast (CPU)) and one range-checked widget per technique.

A preset fills the settings, which stay visible and editable; the selector
then shows "Custom" as soon as they no longer match a preset. Choosing
"Default" goes back to the app's defaults. Patch whitening is applied when a
run starts (the design file holds no weights), fitted on that run's images.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QSpinBox, QWidget)

from designer.core.recipes import recipe
from designer.core.training_config import RANGES, TrainConfig
from designer.gui import wheel_guard

PRESETS = [("custom", "Custom"), ("default", "Default"), ("fast", "Fast (airbench-style, GPU)"),
           ("fast-cpu", "Fast (airbench-style, CPU)")]
TTA = [("off", "Off"), ("mirror", "Mirror"), ("mirror_translate", "Mirror + 1-px shifts")]
AVERAGING = [("off", "Off"), ("ema", "EMA of the weights"), ("lookahead", "Lookahead")]
FILLS = [("zero", "Zero padding"), ("reflect", "Reflect padding")]


def _combo(items: list[tuple[str, str]]) -> QComboBox:
    c = QComboBox()
    for key, label in items:
        c.addItem(label, key)
    return c


def _dspin(name: str, decimals: int, step: float, tip: str) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    lo, hi = RANGES[name]
    s.setRange(float(lo), float(hi))
    s.setDecimals(decimals)
    s.setSingleStep(step)
    s.setToolTip(tip)
    return s


def _ispin(name: str, tip: str) -> QSpinBox:
    s = QSpinBox()
    lo, hi = RANGES[name]
    s.setRange(int(lo), int(hi))
    s.setToolTip(tip)
    return s


def _check(text: str, tip: str) -> QCheckBox:
    b = QCheckBox(text)
    b.setToolTip(tip)
    return b


def matching_preset(cfg: TrainConfig) -> str:
    """The preset whose every setting cfg has (floats to 6 digits), else "custom"."""
    values = cfg.to_dict()
    for key, _ in PRESETS[1:]:
        if all(_same(values[k], v) for k, v in recipe(key).items()):
            return key
    return "custom"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) <= 1e-6 * max(
            1.0, abs(float(b)))
    return bool(a == b)


class PresetBox(QComboBox):
    """Choosing an entry asks the form to fill its recipe (preset_chosen)."""
    preset_chosen = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        for key, label in PRESETS:
            self.addItem(label, key)
        self.setToolTip("Fill the settings with a recipe; they stay editable. Fast: Keller "
                        "Jordan's airbench94 (CIFAR-10 to 94% in seconds on a GPU)")
        self.activated.connect(self._on_activated)

    def _on_activated(self, index: int) -> None:
        key = str(self.itemData(index))
        if key != "custom":
            self.preset_chosen.emit(key)

    def show_preset(self, key: str) -> None:
        self.blockSignals(True)
        self.setCurrentIndex(max(0, self.findData(key)))
        self.blockSignals(False)


class TechniquesBox(QGroupBox):
    """One widget per fast-training setting of TrainConfig."""
    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Fast-training techniques", parent)
        self.lr_start = _dspin("lr_start_factor", 3, 0.05,
                               "Triangular schedule: learning rate at the first step, as a "
                               "fraction of the peak (the peak is at the warm-up's end)")
        self.lr_end = _dspin("lr_end_factor", 3, 0.05,
                             "Triangular schedule: learning rate at the last step, as a "
                             "fraction of the peak")
        self.crop_pad = _ispin("crop_pad", "Random translation by up to this many pixels")
        self.crop_pad.setSuffix(" px")
        self.crop_fill = _combo(FILLS)
        self.crop_fill.setToolTip("What a translated image shows at its border")
        self.flip_alternate = _check("Alternate flips per image",
                                     "Each image is flipped on alternate epochs (at random on "
                                     "the first) instead of at random every time")
        self.tta = _combo(TTA)
        self.tta.setToolTip("Test-time augmentation of the final test: the mean of the "
                            "logits of the views")
        self.averaging = _combo(AVERAGING)
        self.averaging.setToolTip("EMA: evaluate a running average of the weights. Lookahead: "
                                  "also pull the weights to it at each update")
        self.average_decay = _dspin("average_decay", 5, 0.01,
                                    "Weight of the old average at each update")
        self.average_every = _ispin("average_every", "Optimizer steps between updates")
        self.average_start = _dspin("average_start_epoch", 2, 0.5,
                                    "Epochs before the first update (which copies the weights)")
        self.bias_lr = _dspin("norm_bias_lr_scale", 3, 1.0,
                              "Learning-rate multiplier of normalisation-layer biases "
                              "(airbench: 64)")
        self.freeze_norm = _check("Freeze norm-layer scales",
                                  "Normalisation layers keep their scale at 1 (not trained)")
        self.bn_momentum = QDoubleSpinBox()
        self.bn_momentum.setRange(0.0, float(RANGES["bn_momentum"][1]))
        self.bn_momentum.setDecimals(3)
        self.bn_momentum.setSingleStep(0.05)
        self.bn_momentum.setSpecialValueText("as in the design")
        self.bn_momentum.setToolTip("BatchNorm running-statistics rate for every BatchNorm "
                                    "layer (torch's convention; airbench's 0.6 is 0.4 here)")
        self.decay_all = _check("Weight decay on biases and norm parameters", "")
        self.decoupled = _check("Decoupled weight decay",
                                "Decay per step = weight decay x the schedule's factor, "
                                "whatever the learning rate")
        self.dirac = _check("Dirac init of convolutions",
                            "Each Conv2d's first filters start as identity maps on their centre")
        self.whiten = _check("Patch-whitening init of the first conv (at Start)",
                             "The first Conv2d (at least channels x kernel area filters) is "
                             "fitted to whiten its patches of 1000 training images when the "
                             "run starts; its weights stay frozen")
        self.whiten_epochs = _dspin("whiten_bias_epochs", 2, 1.0,
                                    "Epochs the whitened conv's bias trains")
        self.logit_scale = _dspin("logit_scale", 6, 0.1,
                                  "The loss sees the outputs times this (airbench: 1/9)")
        form = QFormLayout(self)
        for label, w in (("Triangular: start", self.lr_start), ("Triangular: end", self.lr_end),
                         ("Translation", self.crop_pad), ("Border", self.crop_fill),
                         ("", self.flip_alternate), ("Test-time augmentation", self.tta),
                         ("Weight averaging", self.averaging),
                         ("Averaging decay", self.average_decay),
                         ("Steps between updates", self.average_every),
                         ("Averaging from epoch", self.average_start),
                         ("Norm-bias lr x", self.bias_lr), ("", self.freeze_norm),
                         ("BatchNorm momentum", self.bn_momentum), ("", self.decay_all),
                         ("", self.decoupled), ("", self.dirac), ("", self.whiten),
                         ("Whitening bias epochs", self.whiten_epochs),
                         ("Logit scale", self.logit_scale)):
            form.addRow(label, w) if label else form.addRow(w)
        for s in (self.lr_start, self.lr_end, self.crop_pad, self.average_decay,
                  self.average_every, self.average_start, self.bias_lr, self.bn_momentum,
                  self.whiten_epochs, self.logit_scale):
            s.valueChanged.connect(self._edited)
        for c in (self.crop_fill, self.tta, self.averaging):
            c.currentIndexChanged.connect(self._edited)
        for b in (self.flip_alternate, self.freeze_norm, self.decay_all, self.decoupled,
                  self.dirac, self.whiten):
            b.toggled.connect(self._edited)
        wheel_guard.guard(self)
        self._loading = False

    def _edited(self) -> None:
        self.update_enabled()
        if not self._loading:
            self.edited.emit()

    def update_enabled(self, schedule: str | None = None) -> None:
        averaging = self.averaging.currentData() != "off"
        for w in (self.average_decay, self.average_every, self.average_start):
            w.setEnabled(averaging)
        self.whiten_epochs.setEnabled(self.whiten.isChecked())
        if schedule is not None:
            self.lr_start.setEnabled(schedule == "triangular")
            self.lr_end.setEnabled(schedule == "triangular")

    def apply(self, cfg: TrainConfig) -> TrainConfig:
        """cfg with this box's settings."""
        momentum = self.bn_momentum.value()
        return dataclasses.replace(
            cfg, lr_start_factor=self.lr_start.value(), lr_end_factor=self.lr_end.value(),
            crop_pad=self.crop_pad.value(), crop_fill=str(self.crop_fill.currentData()),
            flip_alternate=self.flip_alternate.isChecked(), tta=str(self.tta.currentData()),
            averaging=str(self.averaging.currentData()),
            average_decay=self.average_decay.value(), average_every=self.average_every.value(),
            average_start_epoch=self.average_start.value(),
            norm_bias_lr_scale=self.bias_lr.value(),
            freeze_norm_weights=self.freeze_norm.isChecked(),
            bn_momentum=momentum if momentum > 0 else None,
            decay_all=self.decay_all.isChecked(), decoupled_decay=self.decoupled.isChecked(),
            dirac_init=self.dirac.isChecked(), whiten_init=self.whiten.isChecked(),
            whiten_bias_epochs=self.whiten_epochs.value(), logit_scale=self.logit_scale.value())

    def load(self, cfg: TrainConfig) -> None:
        self._loading = True
        try:
            self.lr_start.setValue(cfg.lr_start_factor)
            self.lr_end.setValue(cfg.lr_end_factor)
            self.crop_pad.setValue(cfg.crop_pad)
            _set_combo(self.crop_fill, cfg.crop_fill)
            self.flip_alternate.setChecked(cfg.flip_alternate)
            _set_combo(self.tta, cfg.tta)
            _set_combo(self.averaging, cfg.averaging)
            self.average_decay.setValue(cfg.average_decay)
            self.average_every.setValue(cfg.average_every)
            self.average_start.setValue(cfg.average_start_epoch)
            self.bias_lr.setValue(cfg.norm_bias_lr_scale)
            self.freeze_norm.setChecked(cfg.freeze_norm_weights)
            self.bn_momentum.setValue(cfg.bn_momentum or 0.0)
            self.decay_all.setChecked(cfg.decay_all)
            self.decoupled.setChecked(cfg.decoupled_decay)
            self.dirac.setChecked(cfg.dirac_init)
            self.whiten.setChecked(cfg.whiten_init)
            self.whiten_epochs.setValue(cfg.whiten_bias_epochs)
            self.logit_scale.setValue(cfg.logit_scale)
        finally:
            self._loading = False
        self.update_enabled()


def _set_combo(c: QComboBox, key: Any) -> None:
    i = c.findData(key)
    if i >= 0:
        c.setCurrentIndex(i)
