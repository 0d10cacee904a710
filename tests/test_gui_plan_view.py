"""The plan next to Start in Train mode: the one-line summary, the per-layer
bars of what backward keeps, the warning with the batch that fits, and the
question at Start (pytest-qt, real widgets)."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pyqtgraph")
from PySide6.QtCore import QSettings  # noqa: E402

from designer.core.plan_report import fmt_bytes  # noqa: E402
from designer.core.plan_time import Calibration  # noqa: E402
from designer.core.planner import PlanSettings, plan  # noqa: E402
from designer.gui.context import DesignContext  # noqa: E402
from designer.gui.training import TrainingPanel  # noqa: E402
from designer.gui.training.plan_view import TOP_LAYERS, bar_rows  # noqa: E402
from designer.io import load  # noqa: E402

from conftest import ROOT, tiny_config  # noqa: E402

FAKE_CAL = Calibration("test CPU", 1e10, 1e9, 1e10, 1e10, 1e-5)


@pytest.fixture
def panel(qtbot, tmp_path: Path, monkeypatch) -> TrainingPanel:
    monkeypatch.setenv("CNN_DESIGNER_STATE_DIR", str(tmp_path / "state"))
    context = DesignContext(load(ROOT / "samples" / "lenet5.json"))
    p = TrainingPanel(context, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    qtbot.addWidget(p)
    p.resize(1400, 600)
    p.show()
    yield p
    assert p.shutdown(20_000)


def _machine(free: int) -> dict:
    return {"free": {"cpu": free}, "fast_bf16": False, "cuda_bf16": False,
            "bf16_min_macs": 5_000_000, "cuda": False}


def test_summary_and_bars_follow_the_settings_and_the_design(panel: TrainingPanel) -> None:
    view = panel.plan_view
    panel.form.set_config(tiny_config(batch_size=128))
    panel.form.changed.emit()
    expected = plan(panel.context.design, PlanSettings(batch_size=128, momentum=0.9,
                                                       channels_last=False))
    assert view.plan is not None and view.plan.peak == expected.peak
    assert view.summary.text().startswith(f"Plan: {fmt_bytes(expected.peak)} at batch 128")
    # horizontal bars: the layers that keep most by name, largest first, then "others"
    kept = sorted((lp.saved_bytes / 1e6 for lp in expected.layers), reverse=True)
    widths = view.bars.opts["width"]
    assert list(widths) == pytest.approx(kept[:len(widths)]
                                         if len(kept) <= TOP_LAYERS + 1 else
                                         kept[:TOP_LAYERS] + [sum(kept[TOP_LAYERS:])])
    by_name = {lp.id: lp.saved_bytes / 1e6 for lp in expected.layers}
    assert all(by_name[label] == pytest.approx(mb) for label, mb in view.rows
               if label in by_name)
    ticks = [t for _, t in view.chart.getAxis("left")._tickLevels[0]]
    assert ticks == [label for label, _ in view.rows]
    panel.form.batch_size.setValue(256)     # a user edit re-plans at once
    assert view.plan.batch_size == 256 and "at batch 256" in view.summary.text()
    # an edit to the design re-plans too: a wider first convolution keeps more
    before = view.plan.peak
    panel.context.design.set_param("conv1", "out_channels", 16)
    assert view.plan.peak > before


def test_time_appears_once_the_device_is_calibrated(panel: TrainingPanel) -> None:
    view = panel.plan_view
    panel.form.set_config(tiny_config(batch_size=64))
    view.machine = _machine(1 << 40)
    view.calibrations[("cpu", "fp32", False, 1)] = FAKE_CAL
    view.refresh()
    assert view.time is not None and view.time.epoch_s > 0
    assert "per epoch here" in view.summary.text()
    assert not view.warning.isVisible()


def test_too_big_warns_with_the_batch_that_fits_and_asks_at_start(qtbot,
                                                                  panel: TrainingPanel) -> None:
    view = panel.plan_view
    panel.form.set_config(tiny_config(batch_size=4096))
    free = 30_000_000
    view.machine = _machine(free)
    view.refresh()
    fits = view.plan.max_batch_size(free)
    assert 1 <= fits < 4096
    assert view.warning.isVisible()
    assert f"a batch of {fits} would fit" in view.warning.text()
    asked: list[str] = []
    view.ask = lambda text: asked.append(text) or False
    assert panel.start() is None             # the user said no
    assert asked and "Start anyway?" in asked[0] and not panel.runs
    panel.form.batch_size.setValue(fits)     # the suggested batch fits: no question
    assert not view.warning.isVisible()
    asked.clear()
    with qtbot.waitSignal(panel.run_finished, timeout=60_000):
        assert panel.start() is not None
    assert not asked


def test_a_broken_design_shows_no_plan(panel: TrainingPanel) -> None:
    panel.context.design.set_param("conv1", "kernel_size", 99)
    assert not panel.context.analysis.ok
    assert panel.plan_view.plan is None
    assert "fix the design" in panel.plan_view.summary.text()
    assert not panel.plan_view.warning.isVisible()


def test_bars_name_the_largest_layers_and_sum_the_rest() -> None:
    kept = [(f"l{i}", float(i % 7)) for i in range(30)]
    rows = bar_rows(kept)
    assert len(rows) == TOP_LAYERS + 1
    assert [mb for _, mb in rows[:TOP_LAYERS]] == sorted((mb for _, mb in kept),
                                                         reverse=True)[:TOP_LAYERS]
    assert rows[-1][0] == f"{30 - TOP_LAYERS} others"
    assert sum(mb for _, mb in rows) == pytest.approx(sum(mb for _, mb in kept))
    few = kept[:TOP_LAYERS + 1]      # one more than the top: no "others" for one layer
    assert sorted(bar_rows(few)) == sorted(few)
