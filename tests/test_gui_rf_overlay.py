"""The receptive-field overlay model against the analysis, for every sample."""
from __future__ import annotations

import pytest

from conftest import SAMPLES
from designer.core import Design, InputSpec, analyse
from designer.gui.rf.overlay_model import (feature_map_size, overlay, rf_label,
                                           unit_centre)
from designer.io.design_file import load


# 2-D inputs; the 1-D and 3-D samples' fields: tests/test_gui_rf_nd.py
IMAGE_SAMPLES = [p for p in SAMPLES if len(load(p).input.shape) == 3]


def area(b):
    return (b[2] - b[0] + 1) * (b[3] - b[1] + 1)


def units(size):
    h, w = size
    return sorted({(0, 0), (h // 2, w // 2), (h - 1, w - 1), (0, w - 1), (h - 1, 0)})


@pytest.mark.parametrize("path", IMAGE_SAMPLES, ids=lambda p: p.stem)
def test_box_equals_the_analysis(path):
    a = analyse(load(path))
    _, H, W = a.input_shape
    checked = 0
    for lid in a.order:
        info = a.layers[lid]
        size = feature_map_size(a, lid)
        if size is None or info.rf.whole:   # global pooling: 1×1 but whole
            continue
        assert size == info.output_shape[1:]
        rf = info.rf
        for i, j in units(size):
            ov = overlay(a, lid, (i, j))
            assert not ov.whole and ov.unit == (i, j)
            ch = rf.start[0] + i * rf.jump[0]
            cw = rf.start[1] + j * rf.jump[1]
            assert ov.centre == pytest.approx((ch, cw))
            assert ov.box == pytest.approx((ch - (rf.size[0] - 1) / 2, cw - (rf.size[1] - 1) / 2,
                                            ch + (rf.size[0] - 1) / 2, cw + (rf.size[1] - 1) / 2))
            # clipped part inside the image, and box = clipped + padding strips
            c = ov.clipped
            assert c is not None
            assert 0 <= c[0] <= c[2] <= H - 1 and 0 <= c[1] <= c[3] <= W - 1
            assert area(c) + sum(area(p) for p in ov.padding) == pytest.approx(area(ov.box))
            for p in ov.padding:   # each strip lies entirely outside the image
                assert p[2] < 0 or p[0] > H - 1 or p[3] < 0 or p[1] > W - 1
            for n in ov.neighbours:
                assert ov.box[0] <= n[0] <= ov.box[2] and ov.box[1] <= n[1] <= ov.box[3]
                steps = ((n[0] - ch) / rf.jump[0], (n[1] - cw) / rf.jump[1])
                assert all(abs(s - round(s)) < 1e-9 for s in steps) and steps != (0, 0)
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("path", IMAGE_SAMPLES, ids=lambda p: p.stem)
def test_whole_layers_cover_the_whole_image(path):
    a = analyse(load(path))
    _, H, W = a.input_shape
    whole = [lid for lid in a.order if a.layers[lid].rf is not None and a.layers[lid].rf.whole]
    assert whole, "every sample ends in a classifier"
    for lid in whole:
        ov = overlay(a, lid, (0, 0))
        assert ov.whole and ov.box == (0, 0, H - 1, W - 1) and ov.padding == []
        assert rf_label(ov.rf) == "sees the whole input"


def test_merge_layer_uses_the_union_of_branches():
    a = analyse(load(next(p for p in SAMPLES if p.stem == "resnet_small")))
    adds = [lid for lid in a.order if a.layers[lid].type == "Add"]
    assert adds
    for lid in adds:
        ov = overlay(a, lid, (1, 1))
        rf = a.layers[lid].rf
        assert ov.centre == pytest.approx(unit_centre(rf, (1, 1)))
        assert ov.box[2] - ov.box[0] + 1 == pytest.approx(rf.size[0])


def test_units_are_clamped_and_labels_read_well():
    d = Design("t", InputSpec(3, 32, 32))
    d.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 5, "stride": 4, "padding": 2},
                layer_id="c")
    a = analyse(d)
    ov = overlay(a, "c", (99, -5))
    assert ov.unit == (7, 0)
    assert rf_label(a.layers["c"].rf) == "RF 5×5, jump 4, start 0"
    d.set_param("c", "stride", [2, 4])
    assert rf_label(analyse(d).layers["c"].rf) == "RF 5×5, jump 2, 4, start 0"
    assert overlay(a, "missing", (0, 0)) is None
    # a field entirely inside: no padding parts; corner unit: 1 row + 1 column strip
    assert overlay(a, "c", (3, 3)).padding == []
    assert len(overlay(a, "c", (0, 0)).padding) == 2
