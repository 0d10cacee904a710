"""ONNX and TorchScript export of 1-D and 3-D designs (issue 15): the files load
and compute what the built module computes."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ROOT
from designer.core import Design, InputSpec
from designer.io import load
from designer.nn.build import build
from designer.nn.export_formats import export_onnx, export_torchscript

try:
    import onnx
except ImportError:
    onnx = None
needs_onnx = pytest.mark.skipif(onnx is None, reason="needs onnx: pip install -e .[test]")


def small_volume_net() -> Design:
    d = Design("volume", InputSpec(2, 8, 8, depth=6))
    d.add_layer("Conv3d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, layer_id="a")
    d.add_layer("BatchNorm3d", layer_id="bn")
    d.add_layer("MaxPool3d", {"kernel_size": [1, 2, 2]}, layer_id="pool")
    d.add_layer("Conv3d", {"out_channels": 4, "kernel_size": 3, "padding": 2, "dilation": 2},
                layer_id="dil")
    d.add_layer("ConvTranspose3d", {"out_channels": 4, "kernel_size": [1, 2, 2],
                                    "stride": [1, 2, 2]}, layer_id="up")
    d.add_layer("Concat", inputs=["up", "a"], layer_id="skip")
    d.add_layer("InstanceNorm3d", {"affine": True}, layer_id="inorm")
    d.add_layer("Upsample", {"scale_factor": 0.5, "mode": "trilinear"}, layer_id="down")
    d.add_layer("AdaptiveAvgPool3d", {"output_size": 1}, layer_id="gap")
    d.add_layer("Flatten", layer_id="fl")
    d.add_layer("Linear", {"out_features": 3}, layer_id="fc")
    return d


DESIGNS = [load(ROOT / "samples" / "signal1d.json"), small_volume_net()]


@pytest.mark.parametrize("design", DESIGNS, ids=["signal1d", "volume"])
@needs_onnx
def test_nd_onnx_checks_and_computes_the_same(design: Design, tmp_path: Path) -> None:
    from onnx.reference import ReferenceEvaluator
    torch.manual_seed(0)
    weights = build(design).state_dict()
    path = export_onnx(design, tmp_path / "model.onnx", state_dict=weights)
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    module = build(design)
    module.load_state_dict(weights)
    x = torch.randn(3, *design.input.shape)
    (got,) = ReferenceEvaluator(model).run(None, {"input": x.numpy()})
    with torch.no_grad():
        expected = module.eval()(x).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("design", DESIGNS, ids=["signal1d", "volume"])
def test_nd_torchscript_loads_and_computes_the_same(design: Design, tmp_path: Path) -> None:
    module = build(design).eval()
    path = export_torchscript(design, tmp_path / "model.pt", state_dict=module.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        loaded = torch.jit.load(str(path))
    x = torch.randn(5, *design.input.shape)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), module(x))
