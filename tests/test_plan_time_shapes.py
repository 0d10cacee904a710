"""The cost model's terms for a layer's shape: output positions, 1x1 convolutions,
batch norm's channels short of a vector."""
from __future__ import annotations

import pytest

from designer.core.analysis import analyse
from designer.core.model import Design, InputSpec
from designer.core.conv_fit import FEW_K, FEW_M, FEW_N
from designer.core.plan_time import Calibration, layer_seconds

BASE = Calibration("hand", conv_macs_per_s=2e11, depthwise_macs_per_s=3e10,
                   gemm_macs_per_s=2e11, bytes_per_s=3e10, layer_overhead_s=0.0,
                   small_conv_macs_per_s=1e11, narrow_conv_macs_per_s=9e10)
FEW = Calibration(**{**BASE.to_dict(), "few_positions_conv_macs_per_s": 1e11})


def test_few_output_positions_cost_more_per_mac_through_the_measured_point() -> None:
    spm = FEW.conv_seconds_per_mac
    assert spm(FEW_K, FEW_N, FEW_M) == pytest.approx(1 / 1e11)
    assert spm(576, 64, 49) > spm(576, 64, FEW_M) > spm(576, 64, 1568) > spm(576, 64, 10 ** 6)
    # many positions (or an unknown number) leave the three-point fit as it was
    assert spm(576, 64, 10 ** 9) == pytest.approx(BASE.conv_seconds_per_mac(576, 64), rel=1e-6)
    assert spm(576, 64) == BASE.conv_seconds_per_mac(576, 64)
    assert spm(576, 64) == pytest.approx(1 / 2e11, rel=0.02)
    # without the measurement (an older cache entry) positions do not matter
    assert BASE.conv_seconds_per_mac(576, 64, 49) == BASE.conv_seconds_per_mac(576, 64)


def _two_convs(side: int) -> dict:
    d = Design("convs", InputSpec(64, side, side))
    d.add_layer("ReLU", {}, ["input"], layer_id="r")
    d.add_layer("Conv2d", {"out_channels": 64, "kernel_size": 3, "padding": 1, "bias": False},
                ["r"], layer_id="c3")
    d.add_layer("Conv2d", {"out_channels": 128, "kernel_size": 1, "bias": False},
                ["c3"], layer_id="c1")
    d.add_layer("Conv2d", {"out_channels": 64, "kernel_size": 1, "stride": 2, "bias": False},
                ["c1"], layer_id="down")
    a = analyse(d)
    assert a.ok
    return a.layers


def test_a_convolution_counts_its_output_positions_over_the_whole_batch() -> None:
    L = _two_convs(7)
    spm = FEW.conv_seconds_per_mac
    macs = 3 * 64 * 64 * 9 * 49
    assert layer_seconds(L["c3"], 2, 4, FEW) == pytest.approx(2 * macs * spm(576, 64, 2 * 49))
    # per image, a larger batch is cheaper: the positions term shrinks
    assert layer_seconds(L["c3"], 2, 4, FEW) / 2 > layer_seconds(L["c3"], 64, 4, FEW) / 64
    # a strided convolution's positions are its output's (4 of 7x7)
    down = layer_seconds(L["down"], 2, 4, FEW)
    assert down == pytest.approx(
        2 * 3 * 128 * 64 * 16 * spm(9 * 128, 64, 2 * 16), rel=1e-9)


def test_a_1x1_convolution_costs_a_3x3_of_its_channels_per_mac_times_its_factor() -> None:
    L = _two_convs(14)
    spm = FEW.conv_seconds_per_mac
    macs = 2 * 3 * 64 * 128 * 196
    plain = layer_seconds(L["c1"], 2, 4, FEW)
    assert plain == pytest.approx(macs * spm(9 * 64, 128, 2 * 196))
    slow = Calibration(**{**FEW.to_dict(), "pointwise_factor": 1.5})
    assert layer_seconds(L["c1"], 2, 4, slow) == pytest.approx(1.5 * plain)
    # a 3x3 convolution is not a pointwise one
    assert layer_seconds(L["c3"], 2, 4, slow) == layer_seconds(L["c3"], 2, 4, FEW)


def test_a_narrow_1x1_convolution_takes_the_small_channels_factor() -> None:
    import math
    from designer.core.plan_time import POINTWISE_C, SMALL_POINTWISE_C
    d = Design("widths", InputSpec(16, 8, 8))
    widths = {"narrow": (16, 64), "small": (SMALL_POINTWISE_C, SMALL_POINTWISE_C),
              "middle": (64, 144), "wide": (POINTWISE_C, POINTWISE_C), "wider": (512, 512)}
    for lid, (cin, cout) in widths.items():
        d.add_layer("Conv2d", {"out_channels": cin, "kernel_size": 3, "padding": 1},
                    ["input"], layer_id=f"to_{lid}")
        d.add_layer("Conv2d", {"out_channels": cout, "kernel_size": 1}, [f"to_{lid}"],
                    layer_id=lid)
    L = analyse(d).layers
    one = Calibration(**{**FEW.to_dict(), "pointwise_factor": 1.0})
    both = Calibration(**{**one.to_dict(), "pointwise_factor": 1.2,
                          "small_pointwise_factor": 2.0})

    def factor(lid: str) -> float:
        return layer_seconds(L[lid], 4, 4, both) / layer_seconds(L[lid], 4, 4, one)
    # at or below the small probe's width its factor, at or above the wide one's its
    assert factor("narrow") == pytest.approx(2.0) and factor("small") == pytest.approx(2.0)
    assert factor("wide") == pytest.approx(1.2) and factor("wider") == pytest.approx(1.2)
    # between, on a log scale of the geometric mean of the channels (96 here)
    f = math.log(96 / SMALL_POINTWISE_C) / math.log(POINTWISE_C / SMALL_POINTWISE_C)
    assert factor("middle") == pytest.approx(2.0 + f * (1.2 - 2.0))
    # without the small measurement (an older cache entry): the wide factor everywhere
    older = Calibration(**{**both.to_dict(), "small_pointwise_factor": 0.0})
    assert layer_seconds(L["narrow"], 4, 4, older) == pytest.approx(
        1.2 * layer_seconds(L["narrow"], 4, 4, one))


def test_a_first_1x1_convolution_keeps_its_plain_reduction() -> None:
    d = Design("first", InputSpec(3, 8, 8))
    d.add_layer("Conv2d", {"out_channels": 16, "kernel_size": 1, "bias": False}, ["input"],
                layer_id="c")
    info = analyse(d).layers["c"]
    slow = Calibration(**{**FEW.to_dict(), "pointwise_factor": 2.0})
    assert layer_seconds(info, 4, 4, slow, first=True) == pytest.approx(
        2 * 3 * 16 * 64 * 4 * FEW.conv_seconds_per_mac(3, 16, 4 * 64))



def test_batch_norm_channels_short_of_a_vector_run_at_the_tail_factor() -> None:
    d = Design("tail", InputSpec(24, 8, 8))
    d.add_layer("BatchNorm2d", {}, ["input"], layer_id="bn24")
    d.add_layer("Conv2d", {"out_channels": 48, "kernel_size": 1}, ["bn24"], layer_id="c")
    d.add_layer("BatchNorm2d", {}, ["c"], layer_id="bn48")
    L = analyse(d).layers
    plain = Calibration(**{**BASE.to_dict(), "lanes": 16})
    block = Calibration(**{**plain.to_dict(), "norm_block_factor": 1.5})
    tail = Calibration(**{**block.to_dict(), "norm_tail_factor": 6.0})
    base24 = layer_seconds(L["bn24"], 4, 4, plain)
    # AVX-512: 24 channels are one whole vector (no whole block of two) and 8 short of one
    assert layer_seconds(L["bn24"], 4, 4, tail) == pytest.approx((16 * 1.5 + 8 * 6.0) / 24 * base24)
    # without the tail figure (an older cache entry) all 24 run at the block factor
    assert layer_seconds(L["bn24"], 4, 4, block) == pytest.approx(1.5 * base24)
    # 48 channels: a block of two vectors and a whole vector, no tail
    assert layer_seconds(L["bn48"], 4, 4, tail) == pytest.approx(
        (32 + 16 * 1.5) / 48 * layer_seconds(L["bn48"], 4, 4, plain))


def test_depthwise_convolutions_other_than_3x3_stride_1_pay_at_least_their_outputs() -> None:
    d = Design("dw", InputSpec(32, 16, 16))
    d.add_layer("ReLU", {}, ["input"], layer_id="r")
    d.add_layer("Conv2d", {"out_channels": 32, "kernel_size": 3, "padding": 1, "groups": 32,
                           "bias": False}, ["r"], layer_id="plain")
    d.add_layer("Conv2d", {"out_channels": 32, "kernel_size": 3, "padding": 1, "stride": 2,
                           "groups": 32, "bias": False}, ["plain"], layer_id="strided")
    d.add_layer("Conv2d", {"out_channels": 32, "kernel_size": 5, "padding": 2, "groups": 32,
                           "bias": False}, ["strided"], layer_id="five")
    L = analyse(d).layers
    slow = Calibration(**{**BASE.to_dict(), "depthwise_other_seconds_per_output": 2e-8})
    # the calibrated kind costs its MACs at the depthwise rate, as before
    assert layer_seconds(L["plain"], 4, 2, slow) == layer_seconds(L["plain"], 4, 2, BASE)
    assert layer_seconds(L["plain"], 4, 2, BASE) == pytest.approx(4 * 3 * 32 * 9 * 256 / 3e10)
    # stride 2: 8x8 outputs of 32 channels, at least 20 ns each (its MACs take 0.6 ns)
    assert layer_seconds(L["strided"], 4, 2, slow) == pytest.approx(4 * 32 * 64 * 2e-8)
    assert layer_seconds(L["strided"], 4, 2, BASE) == pytest.approx(4 * 3 * 32 * 9 * 64 / 3e10)
    assert layer_seconds(L["five"], 4, 2, slow) == pytest.approx(4 * 32 * 64 * 2e-8)
    # evaluation runs the forward pass: a third
    assert layer_seconds(L["five"], 4, 2, slow, train=False) == pytest.approx(
        4 * 32 * 64 * 2e-8 / 3)
    # a slow enough MAC rate still wins over the floor
    crawl = Calibration(**{**slow.to_dict(), "depthwise_macs_per_s": 1e7})
    assert layer_seconds(L["five"], 4, 2, crawl) == pytest.approx(4 * 3 * 32 * 25 * 64 / 1e7)


def test_a_calibration_is_the_median_of_its_passes(monkeypatch) -> None:
    from designer.core.calibration_data import median_of
    slow = Calibration(**{**BASE.to_dict(), "conv_macs_per_s": 8e10, "lanes": 16})
    fast = [Calibration(**{**BASE.to_dict(), "conv_macs_per_s": r, "lanes": 16})
            for r in (1.7e11, 1.6e11)]
    cal = median_of([slow, *fast])
    assert cal.conv_macs_per_s == 1.6e11          # the slow pass does not decide
    assert cal.gemm_macs_per_s == BASE.gemm_macs_per_s
    assert cal.lanes == 16 and isinstance(cal.lanes, int)
    assert median_of([slow]) is slow
    torch = pytest.importorskip("torch")
    from designer.nn import calibrate
    passes = iter([slow, *fast])
    calls = []

    def fake(*args, **kwargs) -> Calibration:
        calls.append(args)
        return next(passes)
    monkeypatch.setattr(calibrate, "_measure", fake)
    assert calibrate.measure(torch.device("cpu")) == cal
    assert len(calls) == calibrate.PASSES == 3


@pytest.mark.parametrize("precision, dtype", [("fp32", "float32"), ("bf16", "bfloat16")])
def test_calibration_layers_receive_activations_in_the_training_precision(
        precision: str, dtype: str) -> None:
    """Inside a network trained under autocast, a batch norm or activation
    receives the low-precision output of the convolution before it (bf16
    kernels run at other speeds than fp32's): the calibration's probes do too,
    in training and in evaluation."""
    torch = pytest.importorskip("torch")
    from torch import nn
    from designer.nn import calibrate
    seen: list[torch.dtype] = []
    norm = nn.BatchNorm2d(4)
    norm.register_forward_pre_hook(lambda module, args: seen.append(args[0].dtype))
    run = calibrate._train_run(norm, torch.randn(2, 4, 3, 3), torch.device("cpu"), precision)
    run()
    assert calibrate._forward_seconds(norm, torch.randn(2, 4, 3, 3), torch.device("cpu"),
                                      precision, 1, None) > 0
    assert seen and set(seen) == {getattr(torch, dtype)}
    assert norm.weight.dtype == torch.float32          # parameters stay fp32
    index = torch.arange(3)
    assert calibrate.as_activation(index, precision) is index   # integers stay as they are


AMX = Calibration(**{**BASE.to_dict(), "conv_macs_per_s": 6.4e11, "small_conv_macs_per_s": 1.8e11,
                     "narrow_conv_macs_per_s": 1.7e11, "few_positions_conv_macs_per_s": 1.6e11,
                     "mid_positions_conv_macs_per_s": 5.2e11, "probe_positions": 8192})


def test_a_positions_power_law_passes_through_all_five_probes() -> None:
    """bf16 kernels on AMX still speed up over thousands of positions: with
    the MID_M convolution below the big one's rate the positions term is
    d·M^-p through both few-positions probes, the other three fitted at
    their own positions."""
    from designer.core.conv_fit import MID_M, conv_fit
    spm = AMX.conv_seconds_per_mac
    assert spm(576, 64, 8192) == pytest.approx(1 / 6.4e11, rel=1e-3)
    assert spm(72, 16, 4 * 8192) == pytest.approx(1 / 1.8e11, rel=1e-3)
    assert spm(576, 8, 8192) == pytest.approx(1 / 1.7e11, rel=1e-3)
    assert spm(FEW_K, FEW_N, FEW_M) == pytest.approx(1 / 1.6e11, rel=1e-3)
    assert spm(FEW_K, FEW_N, MID_M) == pytest.approx(1 / 5.2e11, rel=1e-3)
    p = conv_fit(6.4e11, 1.8e11, 1.7e11, 1.6e11, 5.2e11, 8192)[4]
    assert 0.25 < p < 1.0
    # beyond the probes' positions the same convolution keeps getting faster
    assert spm(576, 64, 32768) < spm(576, 64, 8192) * 0.95
    # d/M through the few-positions probe alone would put MID_M near peak
    assert FEW.conv_seconds_per_mac(FEW_K, FEW_N, MID_M) < 1.2 / 2e11


def test_a_mid_probe_at_the_big_ones_rate_keeps_d_over_m() -> None:
    """fp32 kernels reach their peak by MID_M: the fit is d/M through the
    few-positions probe, as without the MID_M measurement."""
    at_peak = Calibration(**{**FEW.to_dict(), "mid_positions_conv_macs_per_s": 2.1e11,
                             "probe_positions": 8192})
    for k, n, m in ((576, 64, 98), (2304, 256, 1568), (72, 16, 50000)):
        assert at_peak.conv_seconds_per_mac(k, n, m) == FEW.conv_seconds_per_mac(k, n, m)
