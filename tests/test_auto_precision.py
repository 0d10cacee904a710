"""auto precision on a CPU with native bf16: fp32 for nets whose depthwise
convolutions torch runs on a slow path in bf16."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from designer.core.analysis import analyse  # noqa: E402
from designer.core.plan_time import slow_in_cpu_bf16  # noqa: E402
from designer.io import load  # noqa: E402
from designer.nn import train_setup as setup  # noqa: E402

from conftest import ROOT  # noqa: E402

CPU = torch.device("cpu")


def test_the_slow_layers_are_the_strided_or_larger_depthwise_convolutions() -> None:
    mobilenet = analyse(load(ROOT / "samples" / "mobilenetv3.json"))
    slow = slow_in_cpu_bf16(mobilenet)
    assert slow
    for lid in slow:
        info = mobilenet.layers[lid]
        assert info.resolved["groups"] == info.input_shapes[0][0] > 1
        assert info.resolved["kernel_size"] not in (3, [3, 3], (3, 3)) or \
            info.resolved["stride"] not in (1, [1, 1], (1, 1))
    # plain 3x3 stride-1 depthwise ones are fast in bf16; dense nets have none
    plain = [lid for lid, info in mobilenet.layers.items()
             if info.type == "Conv2d" and info.resolved["groups"] > 1 and lid not in slow]
    assert plain
    assert slow_in_cpu_bf16(analyse(load(ROOT / "samples" / "resnet_small.json"))) == []


def test_auto_takes_fp32_for_such_a_net_and_says_why(monkeypatch) -> None:
    monkeypatch.setattr(setup, "cpu_has_fast_bf16", lambda: True)
    big = setup.CPU_BF16_MIN_MACS
    notes: list[str] = []
    assert setup.resolve_precision("auto", CPU, notes, big) == "bf16"
    assert notes == []
    assert setup.resolve_precision("auto", CPU, notes, big, ["dw1", "dw2"]) == "fp32"
    assert len(notes) == 1 and "dw1, dw2" in notes[0] and "bf16" in notes[0]
    # a precision asked for by name is kept
    assert setup.resolve_precision("bf16", CPU, [], big, ["dw1"]) == "bf16"
    # without native bf16 auto was fp32 anyway, with no note
    monkeypatch.setattr(setup, "cpu_has_fast_bf16", lambda: False)
    quiet: list[str] = []
    assert setup.resolve_precision("auto", CPU, quiet, big, ["dw1"]) == "fp32" and quiet == []
