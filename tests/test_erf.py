"""Effective receptive field, activations and filters (designer.nn.erf) against
the analysis' theoretical field."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import SAMPLES
from designer.core import Design, InputSpec, analyse
from designer.core.rf_report import coverage
from designer.gui.rf.image_source import synthetic_set, synthetic_pattern
from designer.gui.rf.overlay_model import feature_map_size, overlay
from designer.io.design_file import load
from designer.nn import erf
from designer.nn.build import build

SINGLE_PATH = ["lenet5", "dilated", "mobilenet", "fast_cifar"]
FIELD_CHANGERS = ("Conv2d", "MaxPool2d", "AvgPool2d")


def sample(name: str) -> Design:
    return load(next(p for p in SAMPLES if p.stem == name))


def units_of(size: tuple[int, int]) -> list[tuple[int, int]]:
    h, w = size
    return sorted({(0, 0), (h // 2, w // 2), (h - 1, w - 1), (0, w - 1)})


@pytest.mark.parametrize("name", SINGLE_PATH)
def test_effective_field_lies_inside_the_theoretical_box(name):
    design = sample(name)
    a = analyse(design)
    module = build(design, a)
    erf.prepare(module)
    x = erf.image_tensor(synthetic_set(2).images)
    checked = 0
    for lid in a.order:
        size = feature_map_size(a, lid)
        if size is None or a.layers[lid].type not in FIELD_CHANGERS:
            continue
        for unit in units_of(size):
            heat = erf.effective_rf(module, module.names[lid], unit, x)
            ov = overlay(a, lid, unit)
            top, left, bottom, right = ov.box
            rows, cols = np.nonzero(heat > 1e-12 * max(heat.max(), 1e-30))
            assert heat.max() > 0, (lid, unit)
            assert rows.min() >= top - 1e-6 and rows.max() <= bottom + 1e-6, (lid, unit)
            assert cols.min() >= left - 1e-6 and cols.max() <= right + 1e-6, (lid, unit)
            box = tuple(int(round(v)) for v in ov.box)
            assert erf.share_inside(heat, box) == pytest.approx(1.0)
            checked += 1
    assert checked >= 4


def test_positive_weights_fill_exactly_the_clipped_box_and_its_holes():
    """Linear convs with weight 1: the non-zero gradient is the field itself,
    including the holes that gridding leaves (rf_report.coverage)."""
    d = Design("t", InputSpec(1, 40, 40))
    d.add_layer("Conv2d", {"out_channels": 2, "kernel_size": 3, "dilation": 2, "padding": 2},
                layer_id="a")
    d.add_layer("Conv2d", {"out_channels": 2, "kernel_size": 3, "dilation": 4, "stride": 2},
                layer_id="b")
    d.add_layer("AvgPool2d", {"kernel_size": 2}, layer_id="c")
    a = analyse(d)
    module = build(d, a)
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(1.0) if p.dim() > 1 else p.zero_()
    module.eval()
    x = torch.ones(1, 1, 40, 40)
    cov = coverage(d, a)
    for lid in ("a", "b", "c"):
        h, w = feature_map_size(a, lid)
        for unit in [(h // 2, w // 2), (0, 0)]:
            heat = erf.effective_rf(module, module.names[lid], unit, x)
            ov = overlay(a, lid, unit)
            rows = set(np.nonzero(heat.sum(axis=1))[0].tolist())
            cols = set(np.nonzero(heat.sum(axis=0))[0].tolist())
            ch, cw = ov.centre
            want_rows = {int(round(ch + o / 2)) for o in cov[lid][0]} & set(range(40))
            want_cols = {int(round(cw + o / 2)) for o in cov[lid][1]} & set(range(40))
            assert rows == want_rows, (lid, unit)
            assert cols == want_cols, (lid, unit)
            ct, cl, cb, cr = ov.clipped
            assert min(rows) == ct and max(rows) == cb and min(cols) == cl and max(cols) == cr


def test_average_over_images_is_the_mean_of_single_maps():
    design = sample("lenet5")
    module = build(design)
    erf.prepare(module)
    images = synthetic_set(3).images
    name = module.names["conv2"]
    single = [erf.effective_rf(module, name, (3, 4), erf.image_tensor(im)) for im in images]
    both = erf.effective_rf(module, name, (3, 4), erf.image_tensor(images))
    np.testing.assert_allclose(both, np.mean(single, axis=0), rtol=1e-5, atol=1e-9)
    one_channel = erf.effective_rf(module, name, (0, 3, 4), erf.image_tensor(images[0]))
    assert one_channel.shape == (32, 32) and not np.allclose(one_channel, single[0])


def test_prepare_is_seeded_and_loads_trained_weights():
    design = sample("lenet5")
    m1, m2 = build(design), build(design)
    assert erf.prepare(m1, seed=3) == erf.prepare(m2, seed=3) == "untrained weights (seed 3)"
    for (k, v1), v2 in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(v1, v2), k
    trained = {k: torch.full_like(v, 0.5) for k, v in m1.state_dict().items()}
    assert erf.prepare(m2, trained) == "trained weights"
    assert all(torch.equal(v, trained[k]) for k, v in m2.state_dict().items())
    assert not m2.training


def test_activations_and_filters():
    design = sample("lenet5")
    module = build(design)
    erf.prepare(module)
    x = erf.image_tensor(synthetic_pattern(3, 32, 32))
    assert x.shape == (1, 3, 32, 32)
    act = erf.activations(module, module.names["conv2"], x)
    assert act.shape == (16, 10, 10)
    with torch.no_grad():
        want = module.forward_all(x)[module.names["conv2"]][0].numpy()
    np.testing.assert_allclose(act, want)
    assert erf.activations(module, module.names["fc1"], x).shape == (120,)
    rgb = erf.filters(module, module.names["conv1"], rgb=True)
    assert rgb.shape == (6, 5, 5, 3)
    np.testing.assert_allclose(rgb[2, :, :, 1], module.conv1.weight[2, 1].detach().numpy())
    deep = erf.filters(module, module.names["conv2"], rgb=False)
    assert deep.shape == (16, 5, 5)
    np.testing.assert_allclose(deep[0], module.conv2.weight[0].mean(0).detach().numpy(),
                               rtol=1e-5, atol=1e-7)
    assert erf.filters(module, module.names["pool1"], rgb=False) is None


def test_share_inside():
    heat = np.zeros((10, 10))
    heat[2:5, 2:5] = 1.0
    heat[9, 9] = 1.0
    assert erf.share_inside(heat, (2, 2, 4, 4)) == pytest.approx(0.9)
    assert erf.share_inside(heat, (-3, -3, 20, 20)) == pytest.approx(1.0)
    assert erf.share_inside(np.zeros((4, 4)), (0, 0, 1, 1)) == 1.0


def test_flat_layer_has_no_effective_field_map():
    design = sample("lenet5")
    module = build(design)
    erf.prepare(module)
    with pytest.raises(ValueError, match="no spatial map"):
        erf.effective_rf(module, module.names["fc1"], (0, 0), erf.image_tensor(synthetic_pattern(3, 32, 32)))
