"""The training panel with the real engine on the synthetic dataset (tiny sizes)."""
from __future__ import annotations

import pytest

pytest.importorskip("pyqtgraph")
from PySide6.QtCore import QThread  # noqa: E402

from designer.core.training_config import TrainConfig  # noqa: E402
from designer.gui.training import TrainingPanel  # noqa: E402
from designer.io import load  # noqa: E402
from designer.nn.events import Step  # noqa: E402

from conftest import tiny_config  # noqa: E402
from training_panel_fixtures import LENET, lenet_context, training_panel  # noqa: E402,F401

RUN_TIMEOUT = 60_000


class StepCounter:
    def __init__(self, panel: TrainingPanel) -> None:
        self.steps: dict[int, int] = {}
        panel.controller.event.connect(self.on_event)

    def on_event(self, number: int, event: object) -> None:
        if isinstance(event, Step):
            self.steps[number] = self.steps.get(number, 0) + 1


def run_to_end(qtbot, panel: TrainingPanel, config: TrainConfig):
    panel.form.set_config(config)
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_TIMEOUT) as blocker:
        run = panel.start()
        assert run is not None
    assert blocker.args[0] is run
    return run


def assert_no_thread(panel: TrainingPanel) -> None:
    assert not panel.training
    assert panel.controller.thread is None


def test_short_run_draws_one_point_per_step_and_shows_results(qtbot, panel, context):
    counter = StepCounter(panel)
    weights = []
    context.weights_changed.connect(weights.append)
    run = run_to_end(qtbot, panel, tiny_config())
    assert run.state == "finished", panel.message_text()
    assert_no_thread(panel)
    n_steps = counter.steps[run.number]
    assert n_steps == run.started.epochs * run.started.steps_per_epoch == 2 * 6
    curves = panel.plots.curves[run.number]
    for key in ("raw", "ema", "lr"):
        x, y = curves.items[key].getData()
        assert len(x) == n_steps and len(y) == n_steps
        assert list(x) == list(range(1, n_steps + 1))
    ex, ey = curves.items["train_acc"].getData()
    assert list(ex) == [1.0, 2.0] and all(0 <= v <= 100 for v in ey)
    assert len(curves.items["eval_loss"].getData()[0]) == 2
    # results of the finished run: accuracy, per-class, confusion, test images
    assert run.final_accuracy is not None and 0.0 <= run.final_accuracy <= 1.0
    assert panel.results.confusion.rowCount() == 10 == panel.results.confusion.columnCount()
    total = sum(int(panel.results.confusion.item(i, j).text())
                for i in range(10) for j in range(10))
    assert total == run.started.test_size
    assert panel.results.per_class.rowCount() == 10
    assert run.samples is not None and len(run.samples.images) > 0
    assert panel.results.images_grid.count() == len(run.samples.images)
    assert "%" in panel.progress.format()
    # the trained weights reached the context with the snapshot they belong to
    assert weights and weights[-1] is context.weights
    assert context.weights_design is run.design and run.design is not context.design
    assert set(context.weights) == set(run.checkpoint["state_dict"])


def test_pause_resume_and_stop(qtbot, panel):
    counter = StepCounter(panel)
    panel.form.set_config(tiny_config(epochs=200, train_limit=512))
    run = panel.start()
    qtbot.waitUntil(lambda: counter.steps.get(run.number, 0) >= 3, timeout=RUN_TIMEOUT)
    panel.toggle_pause()
    qtbot.waitUntil(lambda: run.state == "paused", timeout=10_000)
    assert panel.pause_button.text() == "Resume"
    paused_at = counter.steps[run.number]
    qtbot.wait(400)
    assert counter.steps[run.number] == paused_at, "steps continued while paused"
    panel.toggle_pause()
    qtbot.waitUntil(lambda: counter.steps[run.number] > paused_at + 2, timeout=RUN_TIMEOUT)
    assert run.state == "running"
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_TIMEOUT):
        panel.stop()
    assert run.state == "stopped"
    assert_no_thread(panel)
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    # everything reported before the stop is kept
    assert len(panel.plots.curves[run.number].items["raw"].getData()[0]) == \
        counter.steps[run.number]


def test_two_runs_overlay_and_hide(qtbot, panel):
    first = run_to_end(qtbot, panel, tiny_config(epochs=1))
    second = run_to_end(qtbot, panel, tiny_config(epochs=1, lr=0.05, seed=1))
    assert first.colour != second.colour
    assert panel.run_list.count() == 2
    visible = panel.plots.visible_curve_items("ema")
    assert len(visible) == 2
    assert {c.opts["pen"].color().name() for c in visible} == {first.colour, second.colour}
    panel.set_run_visible(first, False)
    assert not first.visible
    assert panel.plots.visible_curve_items("ema") == [panel.plots.curves[second.number].items["ema"]]
    panel.set_run_visible(first, True)
    assert len(panel.plots.visible_curve_items("train_acc")) == 2


def test_nan_loss_ends_the_run_with_a_message(qtbot, panel):
    run = run_to_end(qtbot, panel, tiny_config(lr=1e6, optimizer="sgd", momentum=0.9,
                                               epochs=3))
    assert run.state == "failed"
    assert "nan" in panel.message_text().lower() or "diverge" in panel.message_text().lower()
    assert panel.message.isVisible()
    assert_no_thread(panel)
    assert panel.start_button.isEnabled()


def test_missing_dataset_gives_a_clear_message(qtbot, panel, tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    panel.form.dataset.set_data_dir(str(empty))
    qtbot.waitUntil(lambda: panel.form.dataset.found is False, timeout=20_000)
    assert "not found" in panel.form.dataset.status.text()
    run = run_to_end(qtbot, panel, tiny_config(dataset="cifar10", data_dir=str(empty)))
    assert run.state == "failed"
    assert "CIFAR-10" in panel.message_text()
    assert panel.message.isVisible()
    assert_no_thread(panel)


def test_design_with_errors_is_refused_before_any_thread_starts(qtbot, panel, context):
    context.design.set_param("conv1", "kernel_size", 99)
    assert panel.start() is None
    assert "error" in panel.message_text()
    assert not panel.runs and not panel.training


def test_editing_the_design_during_a_run_does_not_touch_the_run(qtbot, panel, context):
    counter = StepCounter(panel)
    panel.form.set_config(tiny_config(epochs=200))
    run = panel.start()
    qtbot.waitUntil(lambda: counter.steps.get(run.number, 0) >= 1, timeout=RUN_TIMEOUT)
    context.design.set_param("fc1", "out_features", 64)
    assert panel.notice.isVisible() and "changed since" in panel.notice.text()
    assert run.design.layer("fc1").params["out_features"] == 120
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_TIMEOUT):
        panel.stop()
    assert run.state == "stopped"


def test_close_guard_asks_then_joins_the_thread(qtbot, panel, monkeypatch):
    counter = StepCounter(panel)
    panel.form.set_config(tiny_config(epochs=200))
    run = panel.start()
    thread = panel.controller.thread
    assert isinstance(thread, QThread) and thread.isRunning()
    qtbot.waitUntil(lambda: counter.steps.get(run.number, 0) >= 1, timeout=RUN_TIMEOUT)
    asked: list[bool] = []
    monkeypatch.setattr(panel, "confirm_close", lambda: asked.append(False) or False)
    assert panel.close_guard() is False
    assert panel.training and thread.isRunning()
    monkeypatch.setattr(panel, "confirm_close", lambda: asked.append(True) or True)
    assert panel.close_guard() is True
    assert asked == [False, True]
    assert thread.isFinished() and not thread.isRunning()
    assert_no_thread(panel)
    assert panel.close_guard() is True   # nothing left to ask about


def test_settings_go_into_the_design_file_and_come_back_on_reset(qtbot, panel, context):
    panel.form.epochs.setValue(7)
    panel.form.optimizer.setCurrentIndex(panel.form.optimizer.findData("adamw"))
    panel.form.cutout.setValue(8)
    saved = context.design.training
    assert saved["epochs"] == 7 and saved["optimizer"] == "adamw" and saved["cutout"] == 8
    assert "data_dir" not in saved and "out_dir" not in saved
    assert TrainConfig.from_dict(saved).epochs == 7
    other = load(LENET)
    other.training = {"epochs": 3, "optimizer": "adam", "lr": 0.001, "augment_flip": False,
                      "dataset": "synthetic"}
    context.design.replace_with(other)
    cfg = panel.form.config()
    assert (cfg.epochs, cfg.optimizer, cfg.lr, cfg.augment_flip, cfg.dataset) == \
        (3, "adam", 0.001, False, "synthetic")
    assert context.design.training == other.training   # loading does not write back


def test_devices_offered_are_those_present(qtbot, panel):
    import torch
    qtbot.waitUntil(lambda: panel.form.device.findData("cpu") >= 0, timeout=20_000)
    keys = [panel.form.device.itemData(i) for i in range(panel.form.device.count())]
    assert keys[:2] == ["auto", "cpu"]
    assert ("cuda" in keys) == torch.cuda.is_available()
