"""The training settings form: TrainConfig <-> widgets."""
from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QSpinBox, QVBoxLayout, QWidget)

from designer.core.training_config import RANGES, TrainConfig
from designer.core.recipes import recipe
from designer.gui.training.download import DatasetBox
from designer.gui.training.recipe_form import PresetBox, TechniquesBox, matching_preset

OPTIMIZERS = [("sgd", "SGD (momentum)"), ("adam", "Adam"), ("adamw", "AdamW")]
SCHEDULES = [("onecycle", "One-cycle"), ("cosine", "Cosine"), ("step", "Step"),
             ("constant", "Constant"), ("triangular", "Triangular")]
PRECISIONS = [("auto", "Auto"), ("fp32", "fp32"), ("bf16", "bf16 (autocast)"),
              ("fp16", "fp16 (autocast, CUDA)")]
CHANNELS_LAST = [("auto", "Auto"), ("on", "On"), ("off", "Off")]
DEVICE_LABELS = {"auto": "Auto", "cpu": "CPU", "cuda": "CUDA GPU", "mps": "Apple GPU (MPS)"}

# Not written to the design file: they describe this machine, not the experiment.
MACHINE_FIELDS = ("data_dir", "out_dir", "threads", "download")


def _combo(items: list[tuple[str, str]]) -> QComboBox:
    c = QComboBox()
    for key, label in items:
        c.addItem(label, key)
    return c


def _set_combo(c: QComboBox, key: Any) -> None:
    i = c.findData(key)
    if i >= 0:
        c.setCurrentIndex(i)


def _dspin(lo: float, hi: float, decimals: int, step: float) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setDecimals(decimals)
    s.setSingleStep(step)
    return s


def _ispin(lo: int, hi: int, step: int = 1) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    return s


def _whole(name: str) -> tuple[int, int]:
    """A setting's allowed range (the same for files, flags and this form)."""
    lo, hi = RANGES[name]
    return int(lo), int(hi)


class SettingsForm(QWidget):
    changed = Signal()     # any setting edited by the user

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base = TrainConfig()     # keeps the fields the form does not show
        self._loading = False
        self._wanted_device = "auto"   # from the file; may appear once devices are probed
        self.dataset = DatasetBox(settings)

        self.epochs = _ispin(*_whole("epochs"))
        self.batch_size = _ispin(*_whole("batch_size"), 32)
        self.optimizer = _combo(OPTIMIZERS)
        self.lr = _dspin(*RANGES["lr"], 6, 0.01)
        self.momentum = _dspin(*RANGES["momentum"], 3, 0.05)
        self.nesterov = QCheckBox("Nesterov")
        self.weight_decay = _dspin(*RANGES["weight_decay"], 6, 1e-4)
        self.schedule = _combo(SCHEDULES)
        self.warmup = _dspin(*RANGES["warmup_epochs"], 2, 0.5)
        self.label_smoothing = _dspin(*RANGES["label_smoothing"], 2, 0.05)
        self.crop = QCheckBox("Random translation (crop)")
        self.flip = QCheckBox("Horizontal flip")
        self.cutout = _ispin(*_whole("cutout"))
        self.cutout.setSpecialValueText("off")
        self.cutout.setSuffix(" px")
        self.val_split = _ispin(*_whole("val_split"), 1000)
        self.val_split.setSpecialValueText("none (report test)")
        self.device = _combo([("auto", DEVICE_LABELS["auto"]), ("cpu", DEVICE_LABELS["cpu"])])
        self.precision = _combo(PRECISIONS)
        self.channels_last = _combo(CHANNELS_LAST)
        self.seed = _ispin(*_whole("seed"))
        self.preset = PresetBox()
        self.techniques = TechniquesBox()
        self.lr.setToolTip("Peak learning rate (one-cycle), or the starting rate")
        self.val_split.setToolTip("Training images held out to measure validation accuracy")

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        data = QGroupBox("Data")
        QVBoxLayout(data).addWidget(self.dataset)
        lay.addWidget(data)
        lay.addWidget(self._group("Recipe", [("Preset", self.preset)]))
        lay.addWidget(self._group("Optimisation", [
            ("Epochs", self.epochs), ("Batch size", self.batch_size),
            ("Optimizer", self.optimizer), ("Learning rate", self.lr),
            ("Momentum", self.momentum), ("", self.nesterov),
            ("Weight decay", self.weight_decay), ("Schedule", self.schedule),
            ("Warm-up epochs", self.warmup), ("Label smoothing", self.label_smoothing)]))
        lay.addWidget(self._group("Augmentation and validation", [
            ("", self.crop), ("", self.flip), ("Cutout", self.cutout),
            ("Validation images", self.val_split)]))
        lay.addWidget(self.techniques)
        lay.addWidget(self._group("Hardware", [
            ("Device", self.device), ("Precision", self.precision),
            ("Channels-last", self.channels_last), ("Seed", self.seed)]))
        lay.addStretch(1)

        self.set_config(TrainConfig())
        for w in (self.epochs, self.batch_size, self.lr, self.momentum, self.weight_decay,
                  self.warmup, self.label_smoothing, self.cutout, self.val_split, self.seed):
            w.valueChanged.connect(self._on_edit)
        for c in (self.optimizer, self.schedule, self.device, self.precision,
                  self.channels_last):
            c.currentIndexChanged.connect(self._on_edit)
        for b in (self.nesterov, self.crop, self.flip):
            b.toggled.connect(self._on_edit)
        self.dataset.changed.connect(self._on_edit)
        self.techniques.edited.connect(self._on_edit)
        self.preset.preset_chosen.connect(self.apply_preset)
        self.optimizer.currentIndexChanged.connect(self._update_enabled)
        self.schedule.currentIndexChanged.connect(self._update_enabled)

    def _group(self, title: str, rows: list[tuple[str, QWidget]]) -> QGroupBox:
        box = QGroupBox(title)
        form = QFormLayout(box)
        for label, w in rows:
            form.addRow(label, w) if label else form.addRow(w)
        return box

    def _on_edit(self) -> None:
        if not self._loading:
            self._wanted_device = str(self.device.currentData())
            self.preset.show_preset(matching_preset(self.config()))
            self.changed.emit()

    def apply_preset(self, key: str) -> None:
        """Fill the settings with a recipe (designer/core/recipes.py); "default"
        goes back to the app's defaults. Data, device and seed are kept."""
        self.set_config(dataclasses.replace(self.config(), **recipe(key)))
        self.changed.emit()

    def _update_enabled(self) -> None:
        sgd = self.optimizer.currentData() == "sgd"
        self.momentum.setEnabled(sgd)
        self.nesterov.setEnabled(sgd)
        schedule = str(self.schedule.currentData())
        self.warmup.setEnabled(schedule in ("onecycle", "cosine", "triangular"))
        self.techniques.update_enabled(schedule)

    # --- devices ------------------------------------------------------------
    def set_devices(self, devices: list[str]) -> None:
        """Offer only the devices this machine has (probed lazily by the panel)."""
        current = self.device.currentData()
        self._loading = True
        try:
            self.device.clear()
            for key in ["auto", *devices]:
                self.device.addItem(DEVICE_LABELS.get(key, key), key)
            _set_combo(self.device, self._wanted_device)
            if self.device.currentData() != self._wanted_device:
                _set_combo(self.device, current)
        finally:
            self._loading = False

    # --- config <-> widgets -------------------------------------------------
    def config(self) -> TrainConfig:
        return self.techniques.apply(dataclasses.replace(
            self._base,
            dataset=self.dataset.dataset, data_dir=self.dataset.data_dir,
            epochs=self.epochs.value(), batch_size=self.batch_size.value(),
            optimizer=str(self.optimizer.currentData()), lr=self.lr.value(),
            momentum=self.momentum.value(), nesterov=self.nesterov.isChecked(),
            weight_decay=self.weight_decay.value(), schedule=str(self.schedule.currentData()),
            warmup_epochs=self.warmup.value(), label_smoothing=self.label_smoothing.value(),
            augment_crop=self.crop.isChecked(), augment_flip=self.flip.isChecked(),
            cutout=self.cutout.value(), val_split=self.val_split.value(),
            device=str(self.device.currentData()), precision=str(self.precision.currentData()),
            channels_last=str(self.channels_last.currentData()), seed=self.seed.value()))

    def set_config(self, cfg: TrainConfig) -> None:
        self._loading = True
        try:
            self._base = dataclasses.replace(cfg, data_dir=None)
            self.dataset.set_dataset(cfg.dataset)
            if cfg.data_dir is not None and cfg.data_dir != self.dataset.data_dir:
                self.dataset.set_data_dir(cfg.data_dir, remember=False)
            self.epochs.setValue(cfg.epochs)
            self.batch_size.setValue(cfg.batch_size)
            _set_combo(self.optimizer, cfg.optimizer)
            self.lr.setValue(cfg.lr)
            self.momentum.setValue(cfg.momentum)
            self.nesterov.setChecked(cfg.nesterov)
            self.weight_decay.setValue(cfg.weight_decay)
            _set_combo(self.schedule, cfg.schedule)
            self.warmup.setValue(cfg.warmup_epochs)
            self.label_smoothing.setValue(cfg.label_smoothing)
            self.crop.setChecked(cfg.augment_crop)
            self.flip.setChecked(cfg.augment_flip)
            self.cutout.setValue(cfg.cutout)
            self.val_split.setValue(cfg.val_split)
            self._wanted_device = cfg.device
            _set_combo(self.device, cfg.device)
            if self.device.currentData() != cfg.device:
                _set_combo(self.device, "auto")
            _set_combo(self.precision, cfg.precision)
            _set_combo(self.channels_last, cfg.channels_last)
            self.seed.setValue(cfg.seed)
            self.techniques.load(cfg)
        finally:
            self._loading = False
        self._update_enabled()
        self.preset.show_preset(matching_preset(self.config()))

    def design_dict(self) -> dict[str, Any]:
        """The settings as the design file's "training" object (no machine paths)."""
        d = self.config().to_dict()
        for key in MACHINE_FIELDS:
            d.pop(key, None)
        return d
