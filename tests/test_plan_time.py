"""The time estimate's arithmetic and the calibration cache."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from designer.core.analysis import analyse
from designer.core.plan_time import POINTWISE_C, POINTWISE_M, Calibration, estimate
from designer.io import load

from conftest import ROOT

CAL = Calibration("test", conv_macs_per_s=2e10, depthwise_macs_per_s=1e9,
                  gemm_macs_per_s=2e10, bytes_per_s=1e10, layer_overhead_s=2e-5,
                  small_conv_macs_per_s=5e9)


def test_epoch_is_steps_times_step_plus_evaluation_and_grows_with_the_work() -> None:
    design = load(ROOT / "samples" / "resnet_small.json")
    analysis = analyse(design)
    t = estimate(design, analysis, CAL, 128, 50000, 10000)
    assert t.steps_per_epoch == 50000 // 128
    assert t.steps_per_epoch * t.step_s < t.epoch_s < (t.steps_per_epoch + 30) * t.step_s
    low, high = t.epoch_range
    assert low < t.epoch_s < high
    assert estimate(design, analysis, CAL, 256, 50000, 10000).step_s > 1.8 * t.step_s
    slower = Calibration(**{**CAL.to_dict(), "conv_macs_per_s": 1e10,
                            "small_conv_macs_per_s": 2.5e9})
    assert estimate(design, analysis, slower, 128, 50000, 10000).epoch_s > t.epoch_s


def test_short_reductions_cost_more_per_mac() -> None:
    assert CAL.conv_seconds_per_mac(27) > CAL.conv_seconds_per_mac(72) > \
        CAL.conv_seconds_per_mac(576) >= CAL.conv_seconds_per_mac(4608) > 0
    assert CAL.conv_seconds_per_mac(576) == pytest.approx(1 / CAL.conv_macs_per_s)
    assert CAL.conv_seconds_per_mac(72) == pytest.approx(1 / CAL.small_conv_macs_per_s)


def test_few_output_channels_cost_more_per_mac_through_the_three_measured_points() -> None:
    narrow = Calibration(**{**CAL.to_dict(), "narrow_conv_macs_per_s": 1e10})
    spm = narrow.conv_seconds_per_mac
    assert spm(576, 64) == pytest.approx(1 / narrow.conv_macs_per_s)
    assert spm(72, 16) == pytest.approx(1 / narrow.small_conv_macs_per_s)
    assert spm(576, 8) == pytest.approx(1 / narrow.narrow_conv_macs_per_s)
    assert spm(576, 8) > spm(576, 16) > spm(576, 64) > spm(576, 512) > 0
    # without the narrow measurement (an older cache entry) N does not matter
    assert CAL.conv_seconds_per_mac(576, 8) == CAL.conv_seconds_per_mac(576, 64)


def test_max_pooling_costs_its_measured_factor_over_its_traffic() -> None:
    from designer.core.model import Design, InputSpec
    from designer.core.plan_time import layer_seconds
    d = Design("pool", InputSpec(16, 8, 8))
    d.add_layer("MaxPool2d", {"kernel_size": 2}, ["input"], layer_id="max")
    d.add_layer("AvgPool2d", {"kernel_size": 2}, ["input"], layer_id="avg")
    L = analyse(d).layers
    plain = Calibration(**{**FULL.to_dict(), "layer_overhead_s": 0.0})
    slow = Calibration(**{**plain.to_dict(), "pool_factor": 4.0})
    assert layer_seconds(L["max"], 4, 4, slow) == pytest.approx(
        4 * layer_seconds(L["max"], 4, 4, plain))
    assert layer_seconds(L["avg"], 4, 4, slow) == layer_seconds(L["avg"], 4, 4, plain)
    one = Design("pool1d", InputSpec.from_shape([16, 64]))
    one.add_layer("MaxPool1d", {"kernel_size": 2}, ["input"], layer_id="max")
    three = Design("pool3d", InputSpec.from_shape([16, 4, 8, 8]))
    three.add_layer("MaxPool3d", {"kernel_size": 2}, ["input"], layer_id="max")
    m1, m3 = analyse(one).layers["max"], analyse(three).layers["max"]
    assert layer_seconds(m1, 4, 4, slow) == pytest.approx(4 * layer_seconds(m1, 4, 4, plain))
    assert layer_seconds(m3, 4, 4, slow) == layer_seconds(m3, 4, 4, plain)   # its own figure
    # 3-D max pooling costs at least its measured time per input element
    elements = 4 * 16 * 4 * 8 * 8
    per = Calibration(**{**plain.to_dict(), "pool3d_seconds_per_element": 1e-6,
                         "pool3d_eval_seconds_per_element": 4e-7})
    assert layer_seconds(m3, 4, 4, per) == pytest.approx(elements * 1e-6)
    assert layer_seconds(m3, 4, 4, per, train=False) == pytest.approx(elements * 4e-7)
    tiny = Calibration(**{**per.to_dict(), "pool3d_seconds_per_element": 1e-15})
    assert layer_seconds(m3, 4, 4, tiny) == layer_seconds(m3, 4, 4, plain)   # traffic-bound


def test_large_training_maps_use_the_training_bandwidth_and_pay_for_fresh_pages() -> None:
    from designer.core.model import Design, InputSpec
    from designer.core.plan_time import MMAP_THRESHOLD, layer_seconds
    d = Design("big", InputSpec(16, 256, 256))
    d.add_layer("ReLU", {}, ["input"], layer_id="r")
    info = analyse(d).layers["r"]
    base = Calibration(**{**FULL.to_dict(), "layer_overhead_s": 0.0, "map_bytes": 16e6,
                          "large_bytes_per_s": 1e9, "large_map_bytes": 128e6,
                          "fresh_seconds_per_byte": 1e-9})
    tensor = 16 * 256 * 256 * 4                      # 4 MB an image
    small_batch = MMAP_THRESHOLD // tensor           # each tensor just under the threshold
    old = layer_seconds(info, small_batch, 4, base)
    trained = Calibration(**{**base.to_dict(), "large_train_bytes_per_s": 8e9,
                             "large_train_map_bytes": 48e6})
    new = layer_seconds(info, small_batch, 4, trained)
    assert new < old / 3          # main memory's training bandwidth, not evaluation's
    assert layer_seconds(info, small_batch, 4, trained, train=False) == \
        layer_seconds(info, small_batch, 4, base, train=False)   # evaluation: as measured
    big_batch = small_batch + 1   # output and input gradient now mapped fresh every step
    fresh = 2 * big_batch * tensor * 1e-9
    per_image = new / small_batch
    assert layer_seconds(info, big_batch, 4, trained) == pytest.approx(
        per_image * big_batch + fresh, rel=0.05)
    # ... unless the heap, holding the step's smaller maps, has room for them
    heap = 2 * big_batch * tensor
    assert layer_seconds(info, big_batch, 4, trained, heap_bytes=heap) == pytest.approx(
        per_image * big_batch, rel=0.05)
    assert layer_seconds(info, big_batch, 4, trained, heap_bytes=tensor) == \
        layer_seconds(info, big_batch, 4, trained)


def test_a_step_charges_fresh_pages_for_a_big_map_only_beyond_the_heap() -> None:
    from designer.core.model import Design, InputSpec
    from designer.core.plan_time import MMAP_THRESHOLD
    d = Design("maps", InputSpec(16, 256, 256))
    d.add_layer("ReLU", {}, ["input"], layer_id="big")                  # 4 MB an image
    d.add_layer("MaxPool2d", {"kernel_size": 2}, ["big"], layer_id="p")   # 1 MB
    a = analyse(d)
    batch = MMAP_THRESHOLD // (4 * 2 ** 20) + 1      # "big" over the threshold
    base = Calibration(**{**FULL.to_dict(), "large_train_bytes_per_s": 8e9,
                          "large_train_map_bytes": 48e6})
    fresh = Calibration(**{**base.to_dict(), "fresh_seconds_per_byte": 1e-9})

    def step(cal: Calibration, design: Design) -> float:
        return estimate(design, analyse(design), cal, batch, 1000, 0).step_s
    # the heap (1 MB an image of smaller maps) cannot hold it: its output and
    # that output's gradient are fresh (a first layer computes no input gradient) ...
    assert step(fresh, d) - step(base, d) == pytest.approx(
        2 * batch * 4 * 2 ** 20 * 1e-9, rel=1e-6)
    # ... but five more smaller maps can
    for k in range(5):
        d.add_layer("ReLU", {}, ["p" if k == 0 else f"r{k - 1}"], layer_id=f"r{k}")
    assert step(fresh, d) == pytest.approx(step(base, d), rel=1e-9)


def test_the_heap_holds_the_steps_maps_below_the_mmap_threshold() -> None:
    from designer.core.model import Design, InputSpec
    from designer.core.plan_time import MMAP_THRESHOLD, heap_bytes
    d = Design("maps", InputSpec(16, 256, 256))
    d.add_layer("ReLU", {}, ["input"], layer_id="big")                 # 4 MB an image
    d.add_layer("MaxPool2d", {"kernel_size": 2}, ["big"], layer_id="small")   # 1 MB
    a = analyse(d)
    batch = MMAP_THRESHOLD // (4 * 2 ** 20)        # both below the threshold
    assert heap_bytes(a, batch, 4) == batch * 5 * 2 ** 20
    assert heap_bytes(a, batch + 1, 4) == (batch + 1) * 2 ** 20   # the big one is mapped
    assert heap_bytes(a, batch + 1, 2) == (batch + 1) * 5 * 2 ** 19   # bf16: half


def test_norm_and_pooling_layers_pay_their_own_fixed_costs() -> None:
    from designer.core.model import Design, InputSpec
    from designer.core.plan_time import layer_seconds
    d = Design("fixed", InputSpec(8, 4, 4))
    d.add_layer("BatchNorm2d", {}, ["input"], layer_id="bn")
    d.add_layer("MaxPool2d", {"kernel_size": 2}, ["bn"], layer_id="pool")
    d.add_layer("ReLU", {}, ["pool"], layer_id="relu")
    L = analyse(d).layers
    plain = Calibration(**{**FULL.to_dict(), "layer_overhead_s": 2e-5})
    fixed = Calibration(**{**plain.to_dict(), "norm_overhead_s": 2e-4, "pool_overhead_s": 1e-4})
    assert layer_seconds(L["bn"], 2, 4, fixed) - layer_seconds(L["bn"], 2, 4, plain) == \
        pytest.approx(2e-4 - 2e-5)
    assert layer_seconds(L["pool"], 2, 4, fixed) - layer_seconds(L["pool"], 2, 4, plain) == \
        pytest.approx(1e-4 - 2e-5)
    assert layer_seconds(L["relu"], 2, 4, fixed) == layer_seconds(L["relu"], 2, 4, plain)
    assert layer_seconds(L["bn"], 2, 4, fixed, train=False) - layer_seconds(
        L["bn"], 2, 4, plain, train=False) == pytest.approx((2e-4 - 2e-5) / 3)


def test_calibration_is_measured_once_and_cached(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from designer.nn.calibrate import CACHE_NAME, cached
    calls = []

    def fake(device, precision, channels_last, should_stop=None):
        calls.append((device.type, precision, channels_last))
        return CAL

    first = cached(torch.device("cpu"), "fp32", True, tmp_path, fake)
    again = cached(torch.device("cpu"), "fp32", True, tmp_path, fake)
    assert first == again == CAL and len(calls) == 1
    cached(torch.device("cpu"), "bf16", True, tmp_path, fake)   # another key: measured
    assert len(calls) == 2
    (tmp_path / CACHE_NAME).write_text("{broken", encoding="utf-8")
    assert cached(torch.device("cpu"), "fp32", True, tmp_path, fake) == CAL
    assert len(calls) == 3 and json.loads((tmp_path / CACHE_NAME).read_text())


def test_a_real_calibration_gives_positive_rates() -> None:
    torch = pytest.importorskip("torch")
    from designer.nn.calibrate import measure
    cal = measure(torch.device("cpu"), "fp32", False, scale=0.25, reps=1)
    for value in (cal.conv_macs_per_s, cal.depthwise_macs_per_s, cal.gemm_macs_per_s,
                  cal.bytes_per_s, cal.small_conv_macs_per_s):
        assert value > 1e6
    assert cal.layer_overhead_s > 0 and cal.conv_overhead_s >= cal.layer_overhead_s
    assert cal.pointwise_overhead_s >= cal.layer_overhead_s
    assert cal.linear_overhead_s >= cal.layer_overhead_s
    assert cal.dilated_factor >= 1.0 and cal.step_overhead_s >= 0
    assert cal.augment_seconds_per_element >= 0 and cal.normalise_seconds_per_element >= 0
    assert cal.random_seconds_per_element > 0 and cal.lanes in (0, 8, 16)
    assert cal.narrow_conv_macs_per_s > 1e6 and cal.pool_factor >= 1.0
    # contiguous 3-D max pooling, per element: training's more than evaluation's
    assert cal.pool3d_seconds_per_element > cal.pool3d_eval_seconds_per_element > 0
    # shrunk problems: the MID_M probe is not timed (its positions would
    # differ), the positions term stays d/M
    assert cal.probe_positions == 2 * 32 * 32 and cal.mid_positions_conv_macs_per_s == 0.0
    assert cal.large_train_bytes_per_s > 1e6 and cal.large_train_map_bytes > cal.map_bytes
    assert cal.norm_overhead_s >= cal.layer_overhead_s and cal.pool_overhead_s >= cal.layer_overhead_s
    assert cal.norm_block_factor >= 1.0 or cal.lanes == 0
    assert cal.norm_tail_factor >= 1.0 or cal.lanes == 0
    assert cal.adam_tensor_s > cal.sgd_tensor_s > 0   # Adam runs ~3x the kernels per tensor
    assert cal.few_positions_conv_macs_per_s > 1e6 and 0.2 < cal.pointwise_factor < 10
    assert 0.2 < cal.small_pointwise_factor < 10
    assert cal.depthwise_other_seconds_per_output > 0
    # the model gives the measured 1x1 convolution a finite, positive time
    spm = cal.conv_seconds_per_mac(9 * POINTWISE_C, POINTWISE_C, POINTWISE_M)
    assert 0 < spm * cal.pointwise_factor < 1e-6


# --- the cost model's terms, by hand ------------------------------------------

FULL = Calibration("hand", conv_macs_per_s=3e10, depthwise_macs_per_s=2e9,
                   gemm_macs_per_s=4e10, bytes_per_s=8e9, layer_overhead_s=1e-5,
                   small_conv_macs_per_s=1e10, step_overhead_s=3e-4, dilated_factor=1.5,
                   conv_overhead_s=1e-4, adam_step_extra_s=5e-4)


def _chain() -> "object":
    from designer.core.model import Design, InputSpec
    d = Design("hand", InputSpec(3, 16, 16))
    d.add_layer("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}, ["input"],
                layer_id="c1")
    d.add_layer("ReLU", {}, ["c1"], layer_id="r1")
    d.add_layer("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 2, "dilation": 2,
                           "bias": False}, ["r1"], layer_id="c2")
    d.add_layer("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1, "groups": 8,
                           "bias": False}, ["c2"], layer_id="dw")
    d.add_layer("BatchNorm2d", {}, ["dw"], layer_id="bn")
    d.add_layer("Flatten", {}, ["bn"], layer_id="flat")
    d.add_layer("Linear", {"out_features": 10}, ["flat"], layer_id="fc")
    return d


def test_each_layer_costs_its_training_work_plus_its_fixed_cost() -> None:
    from designer.core.plan_time import TRAFFIC, layer_seconds
    design = _chain()
    a = analyse(design)
    assert a.ok
    B = 4
    spm = FULL.conv_seconds_per_mac
    L = a.layers
    # first convolution: forward + weight gradient (2 of the 3 products, 2 of
    # the 3 kernels' fixed cost), K = 3*3*3
    assert layer_seconds(L["c1"], B, 4, FULL, first=True) == pytest.approx(
        2 * 3 * 8 * 9 * 256 * B * spm(27) + 1e-4 * 2 / 3)
    # dilated: 3 products at K = 8*3*3, times the measured slowdown
    assert layer_seconds(L["c2"], B, 4, FULL) == pytest.approx(
        3 * 8 * 8 * 9 * 256 * B * spm(72) * 1.5 + 1e-4)
    assert layer_seconds(L["dw"], B, 4, FULL) == pytest.approx(3 * 8 * 9 * 256 * B / 2e9 + 1e-4)
    # a Linear at a small batch: reading its weight twice and writing its
    # gradient takes longer than its MACs; at a large batch the MACs win
    weight_bytes = (2048 * 10 + 10) * 4
    assert 3 * weight_bytes / 8e9 > 3 * 2048 * 10 * B / 4e10
    assert layer_seconds(L["fc"], B, 4, FULL) == pytest.approx(3 * weight_bytes / 8e9 + 1e-4)
    assert layer_seconds(L["fc"], 512, 4, FULL) == pytest.approx(
        3 * 2048 * 10 * 512 / 4e10 + 1e-4)
    n = 8 * 256 * B
    ti, to, ei, eo = TRAFFIC["ReLU"]
    assert layer_seconds(L["r1"], B, 4, FULL) == pytest.approx((ti + to) * n * 4 / 8e9 + 1e-5)
    assert layer_seconds(L["r1"], B, 2, FULL) < layer_seconds(L["r1"], B, 4, FULL)
    ti, to, ei, eo = TRAFFIC["BatchNorm2d"]
    assert layer_seconds(L["bn"], B, 4, FULL) == pytest.approx((ti + to) * n * 4 / 8e9 + 1e-5)
    # evaluation: the forward pass only, a third of the fixed cost
    assert layer_seconds(L["bn"], B, 4, FULL, train=False) == pytest.approx(
        (ei + eo) * n * 4 / 8e9 + 1e-5 / 3)
    assert layer_seconds(L["c2"], B, 4, FULL, train=False) == pytest.approx(
        8 * 8 * 9 * 256 * B * spm(72) * 1.5 + 1e-4 / 3)
    assert layer_seconds(L["flat"], B, 4, FULL) == pytest.approx(1e-5)   # a view


def test_fixed_costs_follow_the_kind_of_product_and_dropout_draws_its_mask() -> None:
    from designer.core.model import Design, InputSpec
    from designer.core.plan_time import layer_seconds
    d = Design("kinds", InputSpec(16, 8, 8))
    d.add_layer("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}, ["input"],
                layer_id="spatial")
    d.add_layer("Conv2d", {"out_channels": 16, "kernel_size": 1}, ["spatial"], layer_id="pw")
    d.add_layer("Conv2d", {"out_channels": 16, "kernel_size": 1, "groups": 4}, ["pw"],
                layer_id="grouped")
    d.add_layer("Dropout", {"p": 0.5}, ["grouped"], layer_id="drop")
    d.add_layer("Flatten", {}, ["drop"], layer_id="flat")
    d.add_layer("Linear", {"out_features": 10}, ["flat"], layer_id="fc")
    a = analyse(d)
    assert a.ok
    cal = Calibration(**{**FULL.to_dict(), "conv_overhead_s": 4e-4, "pointwise_overhead_s": 1e-4,
                         "linear_overhead_s": 2e-4, "random_seconds_per_element": 1e-8})
    zero = Calibration(**{**cal.to_dict(), "conv_overhead_s": 0.0, "pointwise_overhead_s": 0.0,
                          "linear_overhead_s": 0.0, "layer_overhead_s": 0.0,
                          "random_seconds_per_element": 0.0})
    L = a.layers

    def fixed(lid: str) -> float:
        return layer_seconds(L[lid], 4, 4, cal) - layer_seconds(L[lid], 4, 4, zero)
    assert fixed("spatial") == pytest.approx(4e-4)
    assert fixed("pw") == pytest.approx(1e-4)
    assert fixed("grouped") == pytest.approx(4e-4)     # grouped: oneDNN's spatial path
    assert fixed("fc") == pytest.approx(2e-4)
    assert fixed("drop") == pytest.approx(1e-5 + 16 * 64 * 4 * 1e-8)
    # evaluation draws no mask
    assert layer_seconds(L["drop"], 4, 4, cal, train=False) == pytest.approx(
        layer_seconds(L["drop"], 4, 4, zero, train=False) + 1e-5 / 3)
    # without the newer figures, every product pays conv_overhead_s
    old = Calibration(**{**cal.to_dict(), "pointwise_overhead_s": 0.0, "linear_overhead_s": 0.0})
    assert layer_seconds(L["pw"], 4, 4, old) - layer_seconds(L["pw"], 4, 4, zero) == \
        pytest.approx(4e-4)


def test_channels_are_padded_to_whole_vectors() -> None:
    from designer.core.model import Design, InputSpec
    from designer.core.plan_time import layer_seconds
    d = Design("lanes", InputSpec(3, 8, 8))
    d.add_layer("Conv2d", {"out_channels": 6, "kernel_size": 3, "padding": 1}, ["input"],
                layer_id="c6")
    d.add_layer("Conv2d", {"out_channels": 12, "kernel_size": 3, "padding": 1}, ["c6"],
                layer_id="c12")
    d.add_layer("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}, ["c12"],
                layer_id="c16")
    a = analyse(d)
    L = a.layers
    plain = Calibration(**{**FULL.to_dict(), "conv_overhead_s": 0.0, "layer_overhead_s": 0.0})
    avx2 = Calibration(**{**plain.to_dict(), "lanes": 8})
    # 12 -> 16 channels: 6 in (8), 12 out (16); 16 <- 12: 16 in, 16 out
    assert layer_seconds(L["c12"], 4, 4, avx2) == pytest.approx(
        layer_seconds(L["c12"], 4, 4, plain) * 8 / 6 * 16 / 12)
    assert layer_seconds(L["c16"], 4, 4, avx2) == pytest.approx(
        layer_seconds(L["c16"], 4, 4, plain) * 16 / 12)
    # the first layer's image channels are broadcast, not padded: only its 6 outputs
    assert layer_seconds(L["c6"], 4, 4, avx2, first=True) == pytest.approx(
        layer_seconds(L["c6"], 4, 4, plain, first=True) * 8 / 6)
    # unaligned input channels (6, 12) take the slower kernel; the images do not
    slow = Calibration(**{**avx2.to_dict(), "unaligned_factor": 1.6})
    for lid in ("c12", "c16"):
        assert layer_seconds(L[lid], 4, 4, slow) == pytest.approx(
            1.6 * layer_seconds(L[lid], 4, 4, avx2))
    assert layer_seconds(L["c6"], 4, 4, slow, first=True) == pytest.approx(
        layer_seconds(L["c6"], 4, 4, avx2, first=True))


def test_a_step_adds_the_optimizer_the_data_path_and_its_fixed_cost() -> None:
    from designer.core.plan_time import (DATA_BYTES_PER_ELEMENT, OPTIMIZER_PASSES,
                                         layer_seconds)
    design = _chain()
    a = analyse(design)
    B, params = 4, 1_000_000
    layers = sum(layer_seconds(a.layers[lid], B, 4, FULL, lid == "c1") for lid in a.order)
    data = 3 * 256 * B * DATA_BYTES_PER_ELEMENT / 8e9   # not calibrated: from the bandwidth
    t = estimate(design, a, FULL, B, 400, 0, "fp32", "sgd", params)
    assert t.step_s == pytest.approx(layers + params * OPTIMIZER_PASSES["sgd-momentum"] / 8e9
                                     + data + 3e-4)
    plain = estimate(design, a, FULL, B, 400, 0, "fp32", "sgd", params, momentum=False)
    assert t.step_s - plain.step_s == pytest.approx(3 * params / 8e9)
    adam = estimate(design, a, FULL, B, 400, 0, "fp32", "adam", params)
    assert adam.step_s - t.step_s == pytest.approx(
        (OPTIMIZER_PASSES["adam"] - OPTIMIZER_PASSES["sgd-momentum"]) * params / 8e9 + 5e-4)
    assert t.steps_per_epoch == 100 and t.eval_s == 0
    assert t.epoch_s == pytest.approx(100 * t.step_s)
    # a calibrated data path: per input element, crop and flip included or not
    cal = Calibration(**{**FULL.to_dict(), "augment_seconds_per_element": 2e-8,
                         "normalise_seconds_per_element": 5e-9})
    measured = estimate(design, a, cal, B, 400, 0, "fp32", "sgd", params)
    assert measured.step_s - t.step_s == pytest.approx(3 * 256 * B * 2e-8 - data)
    bare = estimate(design, a, cal, B, 400, 0, "fp32", "sgd", params, augment=False)
    assert measured.step_s - bare.step_s == pytest.approx(3 * 256 * B * (2e-8 - 5e-9))


def test_large_parameters_take_each_optimizers_measured_time_per_byte() -> None:
    design = _chain()
    a = analyse(design)
    cal = Calibration(**{**FULL.to_dict(), "map_bytes": 4e6, "sgd_seconds_per_byte": 1e-10,
                         "momentum_seconds_per_byte": 4e-10, "adam_seconds_per_byte": 7e-10,
                         "adamw_seconds_per_byte": 8e-10})
    big, small = 64e6, 1e6      # parameters far beyond map_bytes / 3, and within

    def step(c: Calibration, optimizer: str, params: float, momentum: bool = True) -> float:
        return estimate(design, a, c, 8, 400, 0, "fp32", optimizer, params,
                        momentum=momentum).step_s
    base = step(cal, "sgd", 0.0)
    assert step(cal, "sgd", big) - base == pytest.approx(big * 4e-10)
    assert step(cal, "sgd", big, momentum=False) - step(cal, "sgd", 0.0, momentum=False) == \
        pytest.approx(big * 1e-10)
    assert step(cal, "adam", big) - step(cal, "adam", 0.0) == pytest.approx(big * 7e-10)
    assert step(cal, "adamw", big) - step(cal, "adamw", 0.0) == pytest.approx(big * 8e-10)
    # parameters within the caches: the passes at the bandwidth, as without the figures
    plain = Calibration(**{**cal.to_dict(), "momentum_seconds_per_byte": 0.0})
    assert step(cal, "sgd", small) == pytest.approx(step(plain, "sgd", small))
    assert step(plain, "sgd", big) != pytest.approx(step(cal, "sgd", big))


def test_the_optimizers_are_timed_on_a_large_parameter() -> None:
    torch = pytest.importorskip("torch")
    from designer.nn.calibrate import _optimizer_byte_seconds
    cpu = torch.device("cpu")
    sgd, momentum, adam = (_optimizer_byte_seconds(cpu, name, m, 2) for name, m in (
        ("sgd", 0.0), ("sgd", 0.9), ("adam", 0.0)))
    # plain SGD makes one pass, momentum adds its buffer's, Adam its two moments'
    assert 0 < sgd < momentum < adam < 1e-8


def test_the_optimizer_pays_for_each_parameter_tensor_beyond_the_calibrations_two() -> None:
    from designer.core.plan_time import OPTIMIZER_PASSES
    design = _chain()   # weights and biases: c1 2, c2 1, dw 1, bn 2, fc 2
    a = analyse(design)
    cal = Calibration(**{**FULL.to_dict(), "sgd_tensor_s": 1e-5, "adam_tensor_s": 3e-5})
    for optimizer, momentum, per_tensor in (
            ("sgd", True, 1e-5), ("adam", True, 3e-5), ("adamw", True, 3e-5),
            ("sgd", False, 1e-5 * OPTIMIZER_PASSES["sgd"] / OPTIMIZER_PASSES["sgd-momentum"])):
        with_cost = estimate(design, a, cal, 4, 400, 0, "fp32", optimizer, 1000, momentum)
        without = estimate(design, a, FULL, 4, 400, 0, "fp32", optimizer, 1000, momentum)
        assert with_cost.step_s - without.step_s == pytest.approx(6 * per_tensor)


def test_the_parameter_tensors_counted_are_the_ones_torch_optimizes() -> None:
    pytest.importorskip("torch")
    from designer.core.plan_time import _param_tensors
    from designer.nn.build import build
    for path in sorted((ROOT / "samples").glob("*.json")):
        design = load(path)
        a = analyse(design)
        model = build(design, a)
        assert _param_tensors(a) == sum(p.requires_grad for p in model.parameters()), path.name


def test_the_epoch_includes_evaluating_the_test_images_in_the_trainers_batches() -> None:
    from designer.core.plan_time import EVAL_BATCH, layer_seconds
    design = _chain()
    a = analyse(design)
    t = estimate(design, a, FULL, 32, 3200, 3 * EVAL_BATCH)
    forward = sum(layer_seconds(a.layers[lid], EVAL_BATCH, 4, FULL, lid == "c1", train=False)
                  for lid in a.order)
    assert t.eval_s == pytest.approx(3 * forward)
    assert t.epoch_s == pytest.approx(100 * t.step_s + t.eval_s)
    # fewer images than a batch: one smaller batch
    small = estimate(design, a, FULL, 32, 3200, 100)
    assert small.eval_s == pytest.approx(sum(
        layer_seconds(a.layers[lid], 100, 4, FULL, lid == "c1", train=False) for lid in a.order))
    # evaluating is cheaper per image than training
    assert t.eval_s / (3 * EVAL_BATCH) < t.step_s / 32


def test_channels_last_pooling_runs_leftover_channels_scalar() -> None:
    from designer.core.model import Design, InputSpec
    from designer.core.plan_time import layer_seconds
    d = Design("scalar", InputSpec(6, 8, 8))
    d.add_layer("MaxPool2d", {"kernel_size": 2}, ["input"], layer_id="p6")
    d.add_layer("Conv2d", {"out_channels": 16, "kernel_size": 1}, ["p6"], layer_id="c")
    d.add_layer("MaxPool2d", {"kernel_size": 2}, ["c"], layer_id="p16")
    d.add_layer("ReLU", {}, ["p16"], layer_id="r")
    a = analyse(d)
    L = a.layers
    plain = Calibration(**{**FULL.to_dict(), "layer_overhead_s": 0.0, "lanes": 8})
    slow = Calibration(**{**plain.to_dict(), "scalar_factor": 1.5})
    assert layer_seconds(L["p6"], 4, 4, slow) == pytest.approx(
        1.5 * layer_seconds(L["p6"], 4, 4, plain))     # 6 channels: all scalar on AVX2
    for lid in ("p16", "r"):                             # whole vectors; not a vector kernel
        assert layer_seconds(L[lid], 4, 4, slow) == pytest.approx(
            layer_seconds(L[lid], 4, 4, plain))


def test_channels_last_batch_norm_runs_channels_beyond_whole_blocks_of_two_vectors_slower(
) -> None:
    from designer.core.model import Design, InputSpec
    from designer.core.plan_time import layer_seconds
    d = Design("blocks", InputSpec(24, 8, 8))
    d.add_layer("BatchNorm2d", {}, ["input"], layer_id="bn24")
    d.add_layer("Conv2d", {"out_channels": 32, "kernel_size": 1}, ["bn24"], layer_id="c")
    d.add_layer("BatchNorm2d", {}, ["c"], layer_id="bn32")
    a = analyse(d)
    L = a.layers
    plain = Calibration(**{**FULL.to_dict(), "layer_overhead_s": 0.0, "lanes": 8,
                           "scalar_factor": 1.5})
    slow = Calibration(**{**plain.to_dict(), "norm_block_factor": 4.0})
    # 24 channels on AVX2: one block of 16 and 8 left over at 4x
    assert layer_seconds(L["bn24"], 4, 4, slow) == pytest.approx(
        (16 + 8 * 4.0) / 24 * layer_seconds(L["bn24"], 4, 4, plain))
    # 32: two whole blocks; and pooling's scalar_factor is not batch norm's
    assert layer_seconds(L["bn32"], 4, 4, slow) == pytest.approx(
        layer_seconds(L["bn32"], 4, 4, plain))
    assert layer_seconds(L["bn24"], 4, 4, plain) == pytest.approx(
        layer_seconds(L["bn24"], 4, 4, Calibration(**{**plain.to_dict(), "scalar_factor": 0})))


def test_the_calibration_backpropagates_a_dense_gradient_in_the_outputs_layout() -> None:
    """sum().backward() hands a layer a zero-stride gradient, which sends
    channels_last batch norm and pooling down paths 2-4x slower than a loss's
    dense one: the calibration timed those and planned them wrong."""
    torch = pytest.importorskip("torch")
    from designer.nn.calibrate import _time_train
    seen = []

    class Probe(torch.nn.Module):
        def forward(self, x):
            y = x * 2
            if y.requires_grad:
                y.register_hook(lambda g: seen.append((g.stride(), g.is_contiguous(
                    memory_format=torch.channels_last))))
            return y
    x = torch.randn(2, 8, 4, 4).contiguous(memory_format=torch.channels_last)
    times = _time_train(Probe(), x, torch.device("cpu"), "fp32", 2)
    assert len(times) == 2 and seen
    for stride, channels_last in seen:
        assert 0 not in stride and channels_last


def test_calibration_ratios_time_their_two_runs_alternately(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A ratio of two figures timed one after the other reads the host's
    drift as a property of the layer (the dilated factor came out 1.14-1.77
    on the same machine); alternating runs see the same drift."""
    torch = pytest.importorskip("torch")
    from designer.nn import calibrate
    now = [0.0]
    order: list[str] = []
    monkeypatch.setattr(calibrate, "clock", lambda: now[0])
    slowdown = iter([1.0] * 6 + [3.0] * 6)   # the host slows to a third halfway

    def runner(name: str, seconds: float):
        def run() -> None:
            order.append(name)
            now[0] += seconds * next(slowdown)
        return run
    r = calibrate._time_ratio((runner("slow", 2.0), runner("fast", 1.0)),
                              torch.device("cpu"), reps=4)
    assert order == ["slow", "fast"] * (4 + calibrate.WARMUP)
    assert r == pytest.approx(2.0)


def test_contiguous_3d_convolutions_pay_their_layout_reorders() -> None:
    from designer.core.model import Design, InputSpec
    from designer.core.plan_time import layer_seconds
    d = Design("volume", InputSpec(1, 4, 8, 8))
    d.add_layer("Conv3d", {"out_channels": 8, "kernel_size": 3, "padding": 1}, ["input"],
                layer_id="first")
    d.add_layer("Conv3d", {"out_channels": 16, "kernel_size": 3, "padding": 1}, ["first"],
                layer_id="second")
    a = analyse(d)
    L = a.layers
    cal = Calibration(**{**FULL.to_dict(), "reorder_seconds_per_element": 2e-8})
    maps = (8 + 16) * 4 * 8 * 8 * 2
    assert layer_seconds(L["second"], 2, 4, cal) == pytest.approx(
        layer_seconds(L["second"], 2, 4, FULL) + maps * 2e-8)
    assert layer_seconds(L["second"], 2, 4, cal, train=False) == pytest.approx(
        layer_seconds(L["second"], 2, 4, FULL, train=False) + maps * 2e-8 / 3)
    # the first layer reads the image channels as they are
    assert layer_seconds(L["first"], 2, 4, cal, first=True) == pytest.approx(
        layer_seconds(L["first"], 2, 4, FULL, first=True))
    # 2-D convolutions do not reorder (channels_last, or torch's own NCHW path)
    two = analyse(_chain())
    assert layer_seconds(two.layers["c2"], 2, 4, cal) == pytest.approx(
        layer_seconds(two.layers["c2"], 2, 4, FULL))


def test_the_evaluation_batch_is_the_trainers() -> None:
    torch = pytest.importorskip("torch")
    from designer.core.plan_time import EVAL_BATCH, eval_batch_size, layer_seconds
    from designer.nn.trainer import eval_batch
    for shape in ((3, 32, 32), (3, 224, 224), (1, 1024), (3, 16, 112, 112)):
        images = torch.zeros((2, *shape), dtype=torch.uint8)
        assert eval_batch(images) == eval_batch_size(images[0].numel())
    assert eval_batch_size(3 * 32 * 32) == EVAL_BATCH and eval_batch_size(3 * 224 * 224) == 20
    # the estimate evaluates a 224x224 design in the trainer's batches of 20
    from designer.core.model import Design, InputSpec
    d = Design("big", InputSpec(3, 224, 224))
    d.add_layer("Conv2d", {"out_channels": 8, "kernel_size": 3, "stride": 4}, ["input"],
                layer_id="c")
    d.add_layer("Flatten", {}, ["c"], layer_id="f")
    d.add_layer("Linear", {"out_features": 10}, ["f"], layer_id="fc")
    a = analyse(d)
    t = estimate(d, a, FULL, 8, 800, 100)
    per_batch = sum(layer_seconds(a.layers[lid], 20, 4, FULL, lid == "c", train=False)
                    for lid in a.order)
    assert t.eval_s == pytest.approx(per_batch * 100 / 20)


def test_every_catalogue_type_has_a_cost() -> None:
    from designer.core.catalogue import all_types
    from designer.core.plan_time import _DEFAULT_TRAFFIC, TRAFFIC, traffic
    missing = [t.name for t in all_types()
               if not t.name.startswith(("Conv", "Linear")) and t.name not in TRAFFIC
               and traffic(t.name) is _DEFAULT_TRAFFIC]
    assert not missing, missing
    assert traffic("MaxPool3d") == TRAFFIC["MaxPool2d"]
    assert traffic("InstanceNorm1d") == TRAFFIC["GroupNorm"]


def test_planning_time_stays_fast_for_400_layers() -> None:
    from test_core_planner import _deep_design
    design = _deep_design(300)
    analysis = analyse(design)
    best = min(_timed(lambda: estimate(design, analysis, FULL, 128, 50000, 10000))
               for _ in range(5))
    assert best < 0.010, best


def _timed(fn: "object") -> float:
    import time
    start = time.process_time()
    fn()   # type: ignore[operator]
    return time.process_time() - start


def test_the_cache_key_names_the_cpu_threads_precision_and_calibration_version(
        tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from designer.nn import calibrate
    from designer.nn.train_eval import EVAL_BATCH as TRAINER_EVAL_BATCH
    from designer.core.plan_time import EVAL_BATCH
    assert EVAL_BATCH == TRAINER_EVAL_BATCH
    key = calibrate.device_key(torch.device("cpu"), "bf16", True)
    assert key.startswith(f"v{calibrate.CALIBRATION_VERSION}|cpu|")
    assert calibrate.cpu_model() in key and "|bf16|" in key and key.endswith("cl=1")
    assert calibrate.cpu_model() not in ("", "x86_64") or not Path("/proc/cpuinfo").exists()
    calls = []

    def fake(device, precision, channels_last, should_stop=None):
        calls.append(torch.get_num_threads())
        return CAL

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        calibrate.cached(torch.device("cpu"), "fp32", True, tmp_path, fake)
        calibrate.cached(torch.device("cpu"), "fp32", True, tmp_path, fake)
        torch.set_num_threads(2)
        calibrate.cached(torch.device("cpu"), "fp32", True, tmp_path, fake)
        calibrate.cached(torch.device("cpu"), "fp32", False, tmp_path, fake)
    finally:
        torch.set_num_threads(before)
    assert calls == [1, 2, 2]
    # an entry from an older calibration is measured again, not read
    data = json.loads((tmp_path / calibrate.CACHE_NAME).read_text())
    old = {k.replace(f"v{calibrate.CALIBRATION_VERSION}|", "v1|"): v for k, v in data.items()}
    (tmp_path / calibrate.CACHE_NAME).write_text(json.dumps(old))
    calibrate.cached(torch.device("cpu"), "fp32", True, tmp_path, fake)
    assert len(calls) == 4


def test_an_entry_without_the_newer_fields_reads_with_neutral_defaults() -> None:
    data = {k: v for k, v in FULL.to_dict().items()
            if k not in ("dilated_factor", "conv_overhead_s", "adam_step_extra_s")}
    cal = Calibration.from_dict(data)
    assert cal.dilated_factor == 1.0 and cal.conv_overhead_s == 0.0
    assert cal.adam_step_extra_s == 0.0


def test_bandwidth_follows_the_map_size_between_the_measured_points() -> None:
    cal = Calibration(**{**FULL.to_dict(), "bytes_per_s": 8e9, "map_bytes": 16e6,
                         "small_bytes_per_s": 16e9, "small_map_bytes": 2e6,
                         "large_bytes_per_s": 2e9, "large_map_bytes": 128e6})
    assert cal.seconds_per_byte(1e3) == pytest.approx(1 / 16e9)       # below: the cached rate
    assert cal.seconds_per_byte(2e6) == pytest.approx(1 / 16e9)
    assert cal.seconds_per_byte(16e6) == pytest.approx(1 / 8e9)
    assert cal.seconds_per_byte(1e10) == pytest.approx(1 / 2e9)       # above: main memory
    # halfway on a log scale between 16 MB and 128 MB: halfway in time per byte
    mid = 16e6 * 8 ** 0.5
    assert cal.seconds_per_byte(mid) == pytest.approx((1 / 8e9 + 1 / 2e9) / 2)
    # without the extra points, one bandwidth for every size
    assert FULL.seconds_per_byte(1e3) == FULL.seconds_per_byte(1e10) == pytest.approx(1 / 8e9)


def test_the_optimizer_streams_large_parameter_sets_at_main_memory_bandwidth() -> None:
    from designer.core.plan_time import OPTIMIZER_PASSES
    cal = Calibration(**{**FULL.to_dict(), "bytes_per_s": 8e9, "map_bytes": 16e6,
                         "large_bytes_per_s": 2e9, "large_map_bytes": 128e6})
    design = _chain()
    a = analyse(design)
    small = estimate(design, a, cal, 4, 400, 0, "fp32", "sgd", 100_000)
    big = estimate(design, a, cal, 4, 400, 0, "fp32", "sgd", 100_000_000)
    passes = OPTIMIZER_PASSES["sgd-momentum"]
    assert big.step_s - small.step_s == pytest.approx(
        passes * (100_000_000 / 2e9 - 100_000 / 8e9))


def test_streaming_passes_use_the_measured_streaming_bandwidth_beyond_the_caches() -> None:
    cal = Calibration(**{**FULL.to_dict(), "bytes_per_s": 8e9, "map_bytes": 16e6,
                         "large_bytes_per_s": 2e9, "large_map_bytes": 128e6,
                         "stream_bytes_per_s": 4e9})
    assert cal.streaming_seconds_per_byte(1e6) == pytest.approx(1 / 8e9)   # in the caches
    assert cal.streaming_seconds_per_byte(1e9) == pytest.approx(1 / 4e9)
    assert cal.seconds_per_byte(1e9) == pytest.approx(1 / 2e9)   # layers: their own figure


def test_large_gradients_and_optimizer_temporaries_pay_for_fresh_pages() -> None:
    from designer.core.model import Design, InputSpec
    from designer.core.plan_time import FRESH_COPIES, MMAP_THRESHOLD
    d = Design("wide", InputSpec(1, 64, 64))
    d.add_layer("Flatten", {}, ["input"], layer_id="flat")
    d.add_layer("Linear", {"out_features": 4096}, ["flat"], layer_id="fc")   # 64 MiB weight
    a = analyse(d)
    weight = a.layers["fc"].trainable_params * 4
    assert weight > MMAP_THRESHOLD
    with_fresh = Calibration(**{**FULL.to_dict(), "fresh_seconds_per_byte": 1e-9})
    for name, momentum in (("sgd", True), ("sgd", False), ("adam", True)):
        key = "adam" if name == "adam" else ("sgd-momentum" if momentum else "sgd")
        diff = (estimate(d, a, with_fresh, 2, 2, 0, "fp32", name, weight, momentum).step_s
                - estimate(d, a, FULL, 2, 2, 0, "fp32", name, weight, momentum).step_s)
        assert diff == pytest.approx(weight * FRESH_COPIES[key] * 1e-9)
    # small layers reuse the allocator's memory: nothing extra
    small = _chain()
    sa = analyse(small)
    assert estimate(small, sa, with_fresh, 4, 4, 0).step_s == pytest.approx(
        estimate(small, sa, FULL, 4, 4, 0).step_s)
