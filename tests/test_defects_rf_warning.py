"""The "last input rows/columns are not covered" warning appears only when real
input pixels are skipped, as torch's own gradients show (issue 12)."""
from __future__ import annotations

import pytest

from designer.core.analysis import analyse
from designer.core.model import Design, InputSpec
from designer.io import load

from conftest import ROOT

COVER = "not covered by any filter"


def conv_design(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> Design:
    design = Design("t", InputSpec(1, size, size))
    design.add_layer("Conv2d", {"out_channels": 1, "kernel_size": kernel, "stride": stride,
                                "padding": padding, "dilation": dilation})
    return design


def warns(design: Design) -> bool:
    analysis = analyse(design)
    return any(COVER in w.message for info in analysis.layers.values() for w in info.warnings)


def torch_skips_last_row(size: int, kernel: int, stride: int, padding: int,
                         dilation: int) -> bool:
    torch = pytest.importorskip("torch")
    x = torch.ones(1, 1, size, size, requires_grad=True)
    conv = torch.nn.Conv2d(1, 1, kernel, stride, padding, dilation, bias=False)
    torch.nn.init.constant_(conv.weight, 1.0)
    conv(x).sum().backward()
    return bool((x.grad[0, 0, -1, :] == 0).all())


CASES = [  # (size, kernel, stride, padding, dilation)
    (32, 3, 2, 1, 1), (224, 7, 2, 3, 1), (56, 3, 2, 1, 1), (16, 5, 2, 2, 1),
    (32, 3, 2, 0, 1), (7, 2, 2, 0, 1), (10, 3, 3, 0, 1), (11, 3, 2, 1, 1), (9, 4, 3, 1, 1),
    (20, 3, 4, 1, 1), (13, 3, 2, 2, 2), (12, 3, 2, 0, 2),
]


@pytest.mark.parametrize("size,kernel,stride,padding,dilation", CASES)
def test_warning_matches_what_torch_leaves_untouched(size, kernel, stride, padding, dilation):
    design = conv_design(size, kernel, stride, padding, dilation)
    assert warns(design) == torch_skips_last_row(size, kernel, stride, padding, dilation)


def test_standard_strided_convs_do_not_warn():
    assert not warns(conv_design(32, 3, 2, 1))
    assert not warns(conv_design(224, 7, 2, 3))


def test_a_real_skip_still_warns():
    assert warns(conv_design(32, 3, 2, 0))


@pytest.mark.parametrize("name", ["resnet_small", "mobilenet", "shufflenet"])
def test_bundled_samples_do_not_warn(name):
    assert not warns(load(ROOT / "samples" / f"{name}.json"))
