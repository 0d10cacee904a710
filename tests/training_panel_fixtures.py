"""The training panel on the LeNet-5 sample, shared by the training-panel test
modules: importing `lenet_context` and `training_panel` into a module gives its
tests the fixtures `context` and `panel`."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from designer.gui.context import DesignContext
from designer.gui.training import TrainingPanel
from designer.io import load

from conftest import ROOT

LENET = ROOT / "samples" / "lenet5.json"


@pytest.fixture(name="context")
def lenet_context() -> DesignContext:
    return DesignContext(load(LENET))


@pytest.fixture(name="panel")
def training_panel(qtbot, context: DesignContext, tmp_path: Path) -> TrainingPanel:
    p = TrainingPanel(context, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    qtbot.addWidget(p)
    p.resize(1400, 500)
    p.show()
    yield p
    assert p.shutdown(20_000)
