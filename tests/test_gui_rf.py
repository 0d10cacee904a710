"""The receptive-field panel (pytest-qt): selection, unit clicks, labels,
growth chart, background worker, weights and images."""
from __future__ import annotations

import pickle
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtTest import QTest

from conftest import SAMPLES
from designer.core import Design, InputSpec
from designer.core.rf_report import growth_rows
from designer.gui.context import DesignContext
from designer.gui.deferred import flush_scheduled
from designer.gui.rf.overlay_model import rf_label
from designer.gui.rf.view import ReceptiveFieldView
from designer.io.design_file import load


# 2-D inputs; the 1-D and 3-D samples' fields: tests/test_gui_rf_nd.py
IMAGE_SAMPLES = [p for p in SAMPLES if len(load(p).input.shape) == 3]


def sample(name: str) -> Design:
    return load(next(p for p in SAMPLES if p.stem == name))


@pytest.fixture
def make_view(qtbot):
    views = []

    def make(name: str = "lenet5", **kwargs) -> ReceptiveFieldView:
        ctx = DesignContext(sample(name) if isinstance(name, str) else name)
        kwargs.setdefault("use_dataset", False)
        view = ReceptiveFieldView(ctx, **kwargs)
        qtbot.addWidget(view)
        view.resize(560, 800)
        view.show()
        views.append(view)
        return view

    yield make
    for v in views:
        assert v.shutdown(10000)


def wait_result(qtbot, view, timeout=20000):
    """Wait until the worker has answered the latest request."""
    qtbot.waitUntil(lambda: view.last_result is not None
                    and view.last_result.request_id == view._request, timeout=timeout)
    return view.last_result


def click_unit(qtbot, view, i, j):
    r = view.grid.cell_rect(i, j)
    QTest.mouseClick(view.grid, Qt.LeftButton, Qt.NoModifier, r.center().toPoint())


def test_selecting_a_block_and_clicking_a_unit_updates_box_and_labels(qtbot, make_view):
    view = make_view("lenet5")
    a = view.context.analysis
    view.context.select("conv2")
    assert view.layer_id == "conv2"
    assert view.grid.map_size == (10, 10)
    assert rf_label(a.layers["conv2"].rf) in view.header.text()
    assert "RF 14×14, jump 2, start 6.5" in view.header.text()
    click_unit(qtbot, view, 3, 7)
    assert view.grid.unit == (3, 7)
    rf = a.layers["conv2"].rf
    ch, cw = rf.start[0] + 3 * rf.jump[0], rf.start[1] + 7 * rf.jump[1]
    assert view.overlay.centre == (ch, cw)
    assert view.overlay.box == (ch - 6.5, cw - 6.5, ch + 6.5, cw + 6.5)
    assert view.input_view.overlay is view.overlay
    assert "Unit (3, 7)" in view.unit_label.text()
    assert "rows 6…19, columns 14…27" in view.unit_label.text()
    click_unit(qtbot, view, 0, 0)
    assert view.overlay.unit == (0, 0) and "Unit (0, 0)" in view.unit_label.text()
    res = wait_result(qtbot, view)
    assert res.heat is not None and res.unit == (0, 0)
    assert "inside the theoretical field" in view.erf_label.text()
    assert "untrained weights" in view.erf_label.text()


def test_padding_is_reported_for_border_units(qtbot, make_view):
    view = make_view("dilated")
    view.context.select("conv4")
    view.select_unit(0, 0)
    assert view.overlay.padding, "a 31×31 field at the corner reaches into padding"
    assert "lies in padding" in view.unit_label.text()
    view.select_unit(16, 16)
    assert view.overlay.padding == [] and "padding" not in view.unit_label.text()


def test_whole_input_layers_say_so(qtbot, make_view):
    view = make_view("lenet5")
    view.context.select("fc1")
    assert "this layer sees the whole input" in view.header.text()
    assert view.overlay.whole and not view.grid.isVisible() and not view.map_panel.isVisible()
    res = wait_result(qtbot, view)
    assert res.heat is None and res.activations.shape == (120,)
    assert view.maps.tile_count == 1
    view.context.select("conv1")
    assert view.grid.isVisible() and "RF 5×5" in view.header.text()


def test_branches_show_the_union(qtbot, make_view):
    view = make_view("resnet_small")
    adds = [lid for lid in view.context.analysis.order if lid.endswith("add")]
    view.context.select(adds[-1])
    rf = view.context.analysis.layers[adds[-1]].rf
    assert view.header.text().endswith(rf_label(rf))
    view.select_unit(2, 2)
    assert view.overlay.box[2] - view.overlay.box[0] + 1 == rf.size[0]
    res = wait_result(qtbot, view)
    assert res.error is None and res.heat is not None


def test_growth_chart_has_one_point_per_layer(qtbot, make_view):
    view = make_view("fast_cifar")
    rows = growth_rows(view.context.analysis)
    assert view.chart.point_count() == len(rows) == len(view.context.analysis.order)
    design = view.context.design
    design.add_layer("Linear", {"out_features": 5}, layer_id="extra")
    assert view.chart.point_count() == len(rows)   # redrawn once per turn of the loop,
    flush_scheduled()                               # before it paints
    assert view.chart.point_count() == len(rows) + 1
    view.context.select("extra")
    assert view.chart.selected_line.value() == len(rows)


def test_growth_chart_shows_warnings(qtbot, make_view):
    view = make_view("shufflenet")
    assert not view.chart.warnings.isHidden()
    assert "cannot see whole objects" in view.chart.warnings.text()
    quiet = make_view("dilated")
    assert quiet.chart.warnings.isHidden()


def test_worker_finishes_without_blocking_the_gui(qtbot, make_view):
    view = make_view("fast_cifar")
    view.context.select("conv2b")   # 256×7×7, field 23: a deep job
    view.average_box.setChecked(True)   # 8 images: a longer job
    wait_result(qtbot, view)
    ticks: list[int] = []
    clock = QElapsedTimer()
    clock.start()
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(clock.elapsed()))
    timer.start(5)
    worker_s = 0.0
    for unit in ((3, 4), (2, 5), (5, 2), (1, 1)):   # several jobs: long enough to measure
        with qtbot.waitSignal(view.erf_ready, timeout=30000,
                              check_params_cb=lambda r, u=unit: r.unit == u) as blocker:
            view.select_unit(*unit)
        result = blocker.args[0]
        assert result.heat is not None and result.unit == unit
        worker_s += result.seconds
    timer.stop()
    # A worker that blocked the GUI would let about one tick through per job.
    assert len(ticks) >= max(6, 0.2 * worker_s * 1000 / 5), (len(ticks), worker_s)
    gaps = np.diff([0] + ticks)
    assert gaps.max() < 2000, f"the GUI stalled {gaps.max()} ms"
    assert view.runner.thread.isRunning() and not view.runner.busy


def test_design_errors_are_said_plainly(qtbot, make_view):
    view = make_view("lenet5")
    view.context.select("conv1")
    view.context.design.set_param("conv1", "kernel_size", 40)
    flush_scheduled()   # what the event loop runs before it paints
    assert "Fix the design's errors" in view.erf_label.text()
    view.context.design.set_param("conv1", "kernel_size", 5)
    res = wait_result(qtbot, view)
    assert res.error is None


def test_trained_weights_are_used_when_they_fit(qtbot, make_view):
    import torch
    from designer.nn.build import build
    view = make_view("lenet5")
    view.context.select("conv1")
    wait_result(qtbot, view)
    design = view.context.design
    sd = {k: torch.full_like(v, 0.01) for k, v in build(design).state_dict().items()}
    view.context.set_weights(sd, design.copy())
    res = wait_result(qtbot, view)
    assert res.weights_label == "trained weights"
    assert np.allclose(res.filters, 0.01)
    assert "trained weights" in view.filters.caption.text()
    sd.pop(next(iter(sd)))
    view.context.set_weights(sd, design.copy())
    res = wait_result(qtbot, view)
    assert res.weights_label.startswith("untrained weights") and "do not fit" in res.weights_label


def write_tiny_cifar(root: Path, n: int = 6) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"labels": [k % 10 for k in range(n)]}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [f"c{k}".encode() for k in range(10)]}, f)


def test_cifar_test_images_are_used_when_present(qtbot, make_view, tmp_path):
    write_tiny_cifar(tmp_path)
    view = make_view("lenet5", use_dataset=True, data_dir=str(tmp_path))
    qtbot.waitUntil(lambda: not view.images.synthetic, timeout=20000)
    assert len(view.images) == 6 and view.index_spin.maximum() == 5
    view.set_image_index(2)
    assert view.image_label.text() == "bird"
    assert "CIFAR-10" in view.image_label.toolTip()
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "rb") as f:
        want = pickle.load(f)[b"data"][2].reshape(3, 32, 32)
    assert np.array_equal(view.current_image(), want)


def test_synthetic_pattern_without_dataset(qtbot, make_view, tmp_path):
    view = make_view("lenet5", use_dataset=True, data_dir=str(tmp_path / "none"))
    wait_result(qtbot, view)
    assert view.images.synthetic and "synthetic" in view.image_label.text()
    img = view.current_image()
    assert img.shape == (3, 32, 32) and img.dtype == np.uint8 and img.std() > 10


def test_other_input_sizes_get_a_resized_image(qtbot, make_view):
    d = Design("gray", InputSpec(1, 20, 24))
    d.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 3}, layer_id="c")
    view = make_view(d)
    assert view.current_image().shape == (1, 20, 24)
    assert view.layer_id == "c" and view.grid.map_size == (18, 22)
    res = wait_result(qtbot, view)
    assert res.heat.shape == (20, 24)


@pytest.mark.parametrize("path", IMAGE_SAMPLES, ids=lambda p: p.stem)
def test_view_draws_the_analysed_box_for_every_layer(qtbot, make_view, path):
    view = make_view(load(path))
    a = view.context.analysis
    for lid in a.order:
        view.context.select(lid)
        rf = a.layers[lid].rf
        if rf.whole:
            assert view.overlay.whole and "sees the whole input" in view.header.text()
            continue
        _, h, w = a.layers[lid].output_shape
        for i, j in {(0, 0), (h // 2, w // 2), (h - 1, w - 1)}:
            click_unit(qtbot, view, i, j)
            ch, cw = rf.start[0] + i * rf.jump[0], rf.start[1] + j * rf.jump[1]
            hh, hw = (rf.size[0] - 1) / 2, (rf.size[1] - 1) / 2
            assert view.input_view.overlay.box == pytest.approx((ch - hh, cw - hw, ch + hh, cw + hw))


def test_gridding_warning_reaches_the_chart(qtbot, make_view):
    d = Design("grid", InputSpec(3, 32, 32))
    for n, dil in enumerate((2, 4)):
        d.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 3, "dilation": dil,
                               "padding": dil}, layer_id=f"c{n}")
    view = make_view(d)
    assert "gridding" in view.chart.warnings.text() and "c0" in view.chart.warnings.text()


def test_hidden_panel_catches_up_when_shown(qtbot, make_view):
    view = make_view("lenet5")
    wait_result(qtbot, view)
    view.hide()
    before = view._request
    view.context.select("conv1")
    view.select_unit(2, 2)
    assert view._request == before, "no torch work for a hidden panel"
    view.show()
    res = wait_result(qtbot, view)
    assert res.layer_id == "conv1" and res.unit == (2, 2) and res.heat is not None
