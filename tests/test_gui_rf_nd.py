"""The receptive-field view for 1-D and 3-D designs: the depth range and the
box on a chosen slice of a volume, the span on a plotted signal, feature maps
and filters browsable by slice, and the formula view per axis."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import SAMPLES
from designer.core import Design, InputSpec, analyse
from designer.gui.rf import overlay_nd
from designer.io.design_file import load
from designer.gui.context import DesignContext
from designer.gui.formula_view import layer_html, rf_rows
from designer.gui.rf.view import ReceptiveFieldView
from designer.nn.build import build


def volume() -> Design:
    d = Design("vol", InputSpec(2, 12, 12, depth=8))
    d.add_layer("Conv3d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, layer_id="c1")
    d.add_layer("ReLU", layer_id="r1")
    d.add_layer("MaxPool3d", {"kernel_size": [1, 2, 2]}, layer_id="p1")
    d.add_layer("Conv3d", {"out_channels": 6, "kernel_size": 3, "dilation": 2}, layer_id="c2")
    d.add_layer("Flatten", layer_id="fl")
    d.add_layer("Linear", {"out_features": 4}, layer_id="fc")
    return d


def signal() -> Design:
    d = Design("sig", InputSpec(1, length=60))
    d.add_layer("Conv1d", {"out_channels": 3, "kernel_size": 5, "stride": 2}, layer_id="c1")
    d.add_layer("Conv1d", {"out_channels": 5, "kernel_size": 3, "padding": 4}, layer_id="c2")
    d.add_layer("Flatten", layer_id="fl")
    d.add_layer("Linear", {"out_features": 3}, layer_id="fc")
    return d


@pytest.fixture
def make_view(qtbot):
    views = []

    def make(design: Design) -> ReceptiveFieldView:
        view = ReceptiveFieldView(DesignContext(design), use_dataset=False)
        qtbot.addWidget(view)
        view.resize(560, 820)
        view.show()
        views.append(view)
        return view

    yield make
    for v in views:
        assert v.shutdown(10000)


def wait_result(qtbot, view, timeout=30000):
    qtbot.waitUntil(lambda: view.last_result is not None
                    and view.last_result.request_id == view._request, timeout=timeout)
    return view.last_result


def test_volume_field_shows_depth_range_and_box_on_a_slice(qtbot, make_view) -> None:
    view = make_view(volume())
    view.context.select("c2")
    nd = view.nd_view
    assert nd.isVisible() and not view.pictures_panel.isVisible()
    a = view.context.analysis
    rf = a.layers["c2"].rf
    out = a.layers["c2"].output_shape          # 6 x 4 x 2 x 2
    assert [b.maximum() + 1 for b in nd.unit_boxes] == list(out[1:])
    nd.set_unit((0, 1, 0))
    f = nd.field
    # depth range of unit d=0: centre start + 0 * jump, size r
    lo = rf.start[0] - (rf.size[0] - 1) / 2
    assert (f.spans[0].lo, f.spans[0].hi) == (lo, lo + rf.size[0] - 1)
    assert nd.depth_bar.span == f.spans[0].clipped
    ov = nd.slice_view.overlay
    h = f.spans[1]
    assert ov is not None and (ov.box[0], ov.box[2]) == (h.lo, h.hi)
    assert "RF 7×12×12 (D×H×W)" in nd.header.text()
    nd.set_slice(0)
    assert "slice 0 is inside" in nd.detail.text()
    assert not nd.slice_view.outside
    nd.set_slice(7)
    assert "slice 7 is outside" in nd.detail.text() and nd.slice_view.outside
    assert nd.depth_bar.current == 7
    # the field's spans equal the input-gradient extent of that unit (torch)
    module = build(view.context.design).eval()
    for p in module.parameters():
        torch.nn.init.constant_(p, 0.05)
    x = torch.rand(1, *a.input_shape, requires_grad=True)
    outputs = module.forward_all(x)
    outputs[module.names["c2"]][0, 0, 0, 1, 0].backward()
    nz = x.grad[0].abs().sum(0).nonzero()
    for axis, span in enumerate(f.spans):
        clipped = span.clipped
        assert (nz[:, axis].min().item(), nz[:, axis].max().item()) == clipped


def test_volume_feature_maps_and_filters_browse_by_slice(qtbot, make_view) -> None:
    view = make_view(volume())
    view.context.select("c1")
    r = wait_result(qtbot, view)
    assert r.error is None and r.activations.shape == (4, 8, 12, 12)
    maps = view.maps_slices
    assert not maps.row.isHidden() and maps.slider.maximum() == 7
    maps.slider.setValue(2)
    assert "depth slice 2 of 8" in view.maps.caption.text() and view.maps.tile_count == 4
    maps.slider.setValue(5)
    assert "depth slice 5 of 8" in view.maps.caption.text()
    filters = view.filters_slices
    assert filters.array.shape == (4, 3, 3, 3) and filters.slider.maximum() == 2
    filters.slider.setValue(1)
    assert "depth slice 1 of 3" in view.filters.caption.text()
    view.context.select("fl")                  # flat: no slice row, whole-input field
    r = wait_result(qtbot, view)
    assert maps.row.isHidden()
    assert "sees the whole input" in view.nd_view.header.text()


def test_signal_field_is_shaded_on_a_plotted_signal(qtbot, make_view) -> None:
    view = make_view(signal())
    view.context.select("c2")
    nd = view.nd_view
    assert nd.plot.isVisible() and not nd.slice_view.isVisible()
    a = view.context.analysis
    rf = a.layers["c2"].rf                    # size 9, jump 2, start 2 - 4*2
    nd.set_unit((0,))
    span = nd.field.spans[0]
    assert span.lo < 0                         # the first unit reaches into the padding
    lo, hi = nd.region.getRegion()
    assert (lo, hi) == (span.lo - 0.5, span.hi + 0.5) and hi - lo == rf.size[0]
    assert nd.padding_regions[0].isVisible()
    assert nd.centre_line.value() == span.centre
    x, y = nd.curve.getData()
    assert len(x) == 60 and np.isfinite(y).all()
    nd.set_unit((5,))
    assert nd.field.spans[0].centre == rf.start[0] + 5 * rf.jump[0]
    assert "L " in nd.detail.text()
    r = wait_result(qtbot, view)
    assert r.error is None and r.activations.ndim == 2
    assert "a row per channel" in view.maps.caption.text()


def test_formulas_show_every_axis(qtbot) -> None:
    ctx = DesignContext(volume())
    info = ctx.analysis.layers["c2"]
    rows = dict(rf_rows(info.rf))
    assert rows["receptive field"].startswith("7×12×12 input voxels (D×H×W)")
    assert rows["jump"] == "1 × 2 × 2 (d × h × w) voxels between neighbouring outputs"
    html = layer_html(info)
    assert "C×D×H×W" in html
    sig = DesignContext(signal()).analysis.layers["c1"]
    assert dict(rf_rows(sig.rf))["receptive field"].startswith("5 input")


ND_SAMPLES = [p for p in SAMPLES if len(load(p).input.shape) != 3]


@pytest.mark.parametrize("path", ND_SAMPLES, ids=lambda p: p.stem)
def test_fields_of_the_1d_and_3d_samples_equal_the_analysis(path) -> None:
    a = analyse(load(path))
    sizes = a.input_shape[1:]
    local = whole = 0
    for lid in a.order:
        rf = a.layers[lid].rf
        f = overlay_nd.field(a, lid, tuple(0 for _ in sizes))
        if rf.whole:
            assert f.whole and all((s.lo, s.hi) == (0, n - 1) for s, n in zip(f.spans, sizes))
            whole += 1
            continue
        out = overlay_nd.map_size(a, lid)
        assert out == a.layers[lid].output_shape[1:]
        for unit in {tuple(0 for _ in out), tuple(n // 2 for n in out),
                     tuple(n - 1 for n in out)}:
            f = overlay_nd.field(a, lid, unit)
            for axis, span in enumerate(f.spans):
                centre = rf.start[axis] + unit[axis] * rf.jump[axis]
                half = (rf.size[axis] - 1) / 2
                assert (span.lo, span.centre, span.hi) == pytest.approx(
                    (centre - half, centre, centre + half))
                c = span.clipped
                assert c is None or 0 <= c[0] <= c[1] <= sizes[axis] - 1
        local += 1
    assert local and whole


@pytest.mark.parametrize("path", ND_SAMPLES, ids=lambda p: p.stem)
def test_the_view_shows_every_layer_of_the_1d_and_3d_samples(qtbot, make_view, path) -> None:
    view = make_view(load(path))
    for lid in view.context.analysis.order:
        view.context.select(lid)
        assert view.nd_view.header.text().startswith(f"{lid}: ")
        f = view.nd_view.field
        assert f is not None and f.layer_id == lid


def test_a_click_on_the_slice_or_the_signal_picks_the_unit(qtbot, make_view) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    view = make_view(volume())
    view.context.select("c2")
    nd = view.nd_view
    nd.set_unit((1, 0, 0))
    rf = view.context.analysis.layers["c2"].rf
    target = (1, 1)                              # the unit whose centre is at this pixel
    row = rf.start[1] + target[0] * rf.jump[1]
    col = rf.start[2] + target[1] * rf.jump[2]
    point = nd.slice_view.to_screen(col + 0.5, row + 0.5).toPoint()
    QTest.mouseClick(nd.slice_view, Qt.LeftButton, Qt.NoModifier, point)
    assert nd.unit == (1, 1, 1)                  # depth kept, height and width picked
    sig = make_view(signal())
    sig.context.select("c2")
    rf1 = sig.context.analysis.layers["c2"].rf
    sig.nd_view.pick({0: rf1.start[0] + 4 * rf1.jump[0] + 0.4})
    assert sig.nd_view.unit == (4,)
    sig.nd_view.pick({0: 10_000})                # beyond the end: the last unit
    assert sig.nd_view.unit == (sig.nd_view.unit_boxes[0].maximum(),)
