"""ONNX and TorchScript export of the built module."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ROOT
from designer.core import Design, InputSpec
from designer.io import load
from designer.nn import export_formats
from designer.nn.build import build
from designer.nn.export_formats import FormatExportError, export_onnx, export_torchscript

try:
    import onnx
except ImportError:  # the TorchScript tests and the missing-onnx message still run
    onnx = None
needs_onnx = pytest.mark.skipif(onnx is None, reason="needs onnx: pip install -e .[test]")


def _branched() -> Design:
    d = Design("branched", InputSpec(3, 8, 8))
    d.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, layer_id="a")
    d.add_layer("BatchNorm2d", layer_id="bn")
    d.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 1}, layer_id="b", inputs=["a"])
    d.add_layer("Add", layer_id="sum", inputs=["bn", "b"])
    d.add_layer("ChannelShuffle", {"groups": 2}, layer_id="shuf")
    d.add_layer("Concat", layer_id="cat", inputs=["shuf", "input"])
    d.add_layer("Upsample", {"scale_factor": 2.0}, layer_id="up")
    d.add_layer("AdaptiveAvgPool2d", {"output_size": 1}, layer_id="gap")
    d.add_layer("Flatten", layer_id="fl")
    d.add_layer("Linear", {"out_features": 5}, layer_id="fc")
    return d


@pytest.mark.parametrize("design", [load(ROOT / "samples" / "lenet5.json"), _branched(),
                                    load(ROOT / "samples" / "shufflenetv2.json")],
                         ids=["lenet5", "branched", "split-ports"])
@needs_onnx
def test_onnx_file_checks_and_computes_the_same(design: Design, tmp_path: Path) -> None:
    from onnx.reference import ReferenceEvaluator
    torch.manual_seed(0)
    weights = build(design).state_dict()
    path = export_onnx(design, tmp_path / "out" / "model.onnx", state_dict=weights)
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["input"]
    module = build(design)
    module.load_state_dict(weights)
    x = torch.randn(3, *design.input.shape)   # another batch size than the export's
    (got,) = ReferenceEvaluator(model).run(None, {"input": x.numpy()})
    with torch.no_grad():
        expected = module.eval()(x).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert [p.name for p in path.parent.iterdir()] == ["model.onnx"]


def test_torchscript_loads_and_computes_the_same(tmp_path: Path) -> None:
    design = load(ROOT / "samples" / "resnet_small.json")
    module = build(design).eval()
    path = export_torchscript(design, tmp_path / "model.pt", state_dict=module.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        loaded = torch.jit.load(str(path))
    x = torch.randn(5, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), module(x))
    assert set(loaded.state_dict()) == set(module.state_dict())


@needs_onnx
def test_dynamo_exporter_is_the_fallback(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    real = export_formats._torch_onnx_export
    used = []

    def only_dynamo(module, example, path, opset, dynamo):  # type: ignore[no-untyped-def]
        used.append(dynamo)
        if not dynamo:
            raise RuntimeError("the TorchScript exporter is gone")
        real(module, example, path, opset, dynamo)

    monkeypatch.setattr(export_formats, "_torch_onnx_export", only_dynamo)
    path = export_onnx(_branched(), tmp_path / "m.onnx")
    onnx.checker.check_model(onnx.load(str(path)))
    assert used == [False, True]


def test_missing_onnx_package_gives_a_clear_message(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_formats, "onnx_available", lambda: False)
    with pytest.raises(FormatExportError, match=r"needs the 'onnx' package: pip install"):
        export_onnx(load(ROOT / "samples" / "lenet5.json"), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_designs_with_errors_are_not_exported(tmp_path: Path) -> None:
    d = Design("broken", InputSpec(3, 4, 4))
    d.add_layer("Conv2d", {"out_channels": 2, "kernel_size": 9}, layer_id="big")
    for export in ([export_onnx] if onnx is not None else []) + [export_torchscript]:
        with pytest.raises(FormatExportError, match="big"):
            export(d, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


@needs_onnx
def test_designs_onnx_cannot_express_give_the_reason(tmp_path: Path) -> None:
    d = Design("uneven pooling", InputSpec(2, 5, 5))
    d.add_layer("AdaptiveMaxPool2d", {"output_size": 3})
    with pytest.raises(FormatExportError, match="ONNX cannot express this design") as info:
        export_onnx(d, tmp_path / "m.onnx")
    assert "adaptive_max_pool2d" in str(info.value)
    assert "\x1b[" not in str(info.value) and "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_torchscript_says_why_maxunpool_cannot_be_traced(tmp_path: Path) -> None:
    design = load(ROOT / "samples" / "segnet.json")
    with pytest.raises(FormatExportError, match="cannot trace MaxUnpool2d; use --onnx"):
        export_torchscript(design, tmp_path / "model.pt")
    assert list(tmp_path.iterdir()) == []
