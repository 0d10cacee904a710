"""The time estimate's arithmetic and the calibration cache."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from designer.core.analysis import analyse
from designer.core.plan_time import Calibration, estimate
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
    assert cal.layer_overhead_s > 0
