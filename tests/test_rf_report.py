"""Receptive-field growth rows and the plain-words warnings (pure Python)."""
from __future__ import annotations

import pytest

from conftest import SAMPLES
from designer.core import Design, InputSpec, analyse
from designer.core.rf_report import (coverage, gridding_warnings, growth_rows, rf_warnings,
                                     small_field_warning)
from designer.io.design_file import load


def stack(layers: list[tuple[str, dict]], size: int = 32) -> Design:
    d = Design("t", InputSpec(3, size, size))
    for n, (t, p) in enumerate(layers):
        d.add_layer(t, p, layer_id=f"l{n}")
    return d


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_growth_rows_follow_the_analysis(path):
    design = load(path)
    a = analyse(design)
    rows = growth_rows(a)
    assert [r.id for r in rows] == [lid for lid in a.order if a.layers[lid].rf is not None]
    for r in rows:
        rf = a.layers[r.id].rf
        assert (r.size, r.jump, r.start, r.whole) == (rf.size, rf.jump, rf.start, rf.whole)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_samples_have_no_gridding_and_coverage_spans_the_field(path):
    design = load(path)
    a = analyse(design)
    assert gridding_warnings(design, a) == []
    for lid, axes in coverage(design, a).items():
        rf = a.layers[lid].rf
        assert len(axes) == len(a.input_shape) - 1   # (h, w); (l) or (d, h, w) (issue 15)
        for ax, pts in enumerate(axes):
            # doubled offsets: extent (max - min)/2 + 1 equals the field size
            assert (max(pts) - min(pts)) // 2 + 1 == rf.size[ax], (lid, ax)


def test_common_dilation_factor_leaves_holes():
    d = stack([("Conv2d", {"out_channels": 4, "kernel_size": 3, "dilation": 2, "padding": 2}),
               ("ReLU", {}),
               ("Conv2d", {"out_channels": 4, "kernel_size": 3, "dilation": 4, "padding": 4})])
    a = analyse(d)
    h, _ = coverage(d, a)["l2"]
    # taps {-2, 0, 2} then {-4, 0, 4}: every even offset from -6 to 6, 7 of 13 pixels
    assert sorted(h) == [2 * v for v in range(-6, 7, 2)]
    warnings = gridding_warnings(d, a)
    assert len(warnings) == 1
    w = warnings[0]
    assert w.layer_id == "l0" and w.kind == "gridding"
    assert "factor 2" in w.message or "share" in w.message
    assert "still has holes" in w.message


def test_hybrid_dilations_fill_the_holes():
    d = stack([("Conv2d", {"out_channels": 4, "kernel_size": 3, "dilation": 2, "padding": 2}),
               ("Conv2d", {"out_channels": 4, "kernel_size": 3, "dilation": 1, "padding": 1})])
    a = analyse(d)
    h, w = coverage(d, a)["l1"]
    assert len(h) == 7 and len(w) == 7   # {-3..3}: the undilated conv fills the gaps
    msgs = gridding_warnings(d, a)
    assert len(msgs) == 1 and "later layers fill the holes" in msgs[0].message


def test_stride_larger_than_kernel_is_reported():
    d = stack([("Conv2d", {"out_channels": 4, "kernel_size": 1, "stride": 2}),
               ("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1})])
    a = analyse(d)
    msgs = gridding_warnings(d, a)
    assert [m.layer_id for m in msgs] == ["l1"]
    assert "stride" in msgs[0].message and "sees only 3" in msgs[0].message


def test_small_final_field_warns():
    d = stack([("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("ReLU", {}),
               ("Conv2d", {"out_channels": 4, "kernel_size": 3}),
               ("AdaptiveAvgPool2d", {"output_size": 1}), ("Flatten", {}),
               ("Linear", {"out_features": 10})], size=64)
    a = analyse(d)
    w = small_field_warning(a)
    assert w is not None and w.layer_id == "l2"
    assert "5×5" in w.message and "64×64" in w.message and "whole objects" in w.message
    assert rf_warnings(d, a)[0] == w


def test_large_final_field_does_not_warn():
    design = load(next(p for p in SAMPLES if p.stem == "dilated"))
    assert small_field_warning(analyse(design)) is None
    shuffle = load(next(p for p in SAMPLES if p.stem == "shufflenet"))
    assert small_field_warning(analyse(shuffle)) is not None   # 9×9 of 32×32


def test_broken_design_gives_no_rows_for_unknown_layers():
    d = stack([("Conv2d", {"out_channels": 4, "kernel_size": 64})])   # larger than input
    a = analyse(d)
    assert growth_rows(a) == []
    assert rf_warnings(d, a) == []
