"""Import of classic CNN families written in plain torch (tests/import_zoo.py):
exact parameter counts, torchvision's published MACs at 224x224, and the
round trip import -> export (code + weights) reproducing the module."""
from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

import import_zoo as zoo
from designer.core.analysis import analyse
from designer.export.pytorch_code import generate_model_code, model_class_name
from designer.nn.build import build
from designer.nn.fx_import import import_module, import_weights

# torchvision's published figures (torchvision/models/*.py weight metadata:
# "num_params" and "_ops", the GMACs shown rounded to two places in the "GFLOPS"
# column of https://pytorch.org/vision/stable/models.html; they count
# multiply-accumulates at 224x224):
#   resnet18 11,689,512 / 1.814     mobilenet_v2 3,504,872 / 0.301
#   shufflenet_v2_x1_0 2,278,604 / 0.145   mobilenet_v3_small 2,542,856 / 0.057
#   efficientnet_b0 5,288,548 / 0.386      densenet121 7,978,856 / 2.834
#   googlenet 6,624,904 / 1.498 (without the auxiliary heads)
#   vgg16 138,357,544 / 15.47
PUBLISHED = {
    "ResNet18": (11_689_512, 1.814),
    "MobileNetV2": (3_504_872, 0.301),
    "ShuffleNetV2": (2_278_604, 0.145),
    "MobileNetV3Small": (2_542_856, 0.057),
    "EfficientNetB0": (5_288_548, 0.386),
    "DenseNet121": (7_978_856, 2.834),
    "GoogLeNet": (6_624_904, 1.498),
    "VGG16": (138_357_544, 15.47),
}
ROUND_TRIP = [name for name in PUBLISHED if name != "VGG16"] + ["SimpleCNNFixed"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small convolutions on a shared 2-core machine: one thread avoids
    OpenMP spin-waiting against other processes."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@functools.lru_cache(maxsize=None)
def model(name: str) -> nn.Module:
    torch.manual_seed(0)
    m = getattr(zoo, name)()
    with torch.no_grad():  # batch-norm statistics that are not the identity
        for sub in m.modules():
            if isinstance(sub, nn.BatchNorm2d):
                sub.running_mean.normal_(0, 0.1)
                sub.running_var.uniform_(0.5, 1.5)
                sub.weight.uniform_(0.5, 1.5)
                sub.bias.normal_(0, 0.1)
    return m.eval()


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_published_params_and_macs_at_224(name: str) -> None:
    params, gmacs = PUBLISHED[name]
    module = model(name)
    result = import_module(module, (3, 224, 224))
    assert result.ok, result.report.text()
    assert sum(p.numel() for p in module.parameters()) == params
    assert result.analysis.total_params == params
    digits = len(str(gmacs).split(".")[1])
    assert round(result.analysis.total_macs / 1e9, digits) == gmacs, result.analysis.total_macs
    # every layer id is the module path (or the op inside it) it came from
    paths = {n for n, _ in module.named_modules()}
    ids = [lay.id for lay in result.design.layers]
    assert len(set(ids)) == len(ids)
    assert sum(1 for i in ids if i in paths) >= sum(1 for lay in result.design.layers
                                                   if lay.type in ("Conv2d", "Linear"))


def _exported(design, analysis) -> nn.Module:
    code = generate_model_code(design, analysis)
    namespace: dict = {"__name__": "imported_model"}
    exec(compile(code, "model.py", "exec"), namespace)
    return namespace[model_class_name(design)]()


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_round_trip_reproduces_the_module(name: str) -> None:
    module = model(name)
    shape = (3, 32, 32)  # every family works at CIFAR size; 224 is tested above
    result = import_module(module, shape)
    assert result.ok, result.report.text()
    state = import_weights(module, result)
    rebuilt = _exported(result.design, result.analysis).eval()
    rebuilt.load_state_dict(state)  # strict: every key matches, none is missing
    n_params = sum(p.numel() for p in module.parameters())
    assert sum(p.numel() for p in rebuilt.parameters()) == n_params
    assert result.analysis.total_params == n_params
    x = torch.randn(2, *shape)
    with torch.no_grad():
        want, got = module(x), rebuilt(x)
    assert got.shape == want.shape
    scale = max(1.0, want.abs().max().item())
    assert (got - want).abs().max().item() <= 1e-5 * scale


def test_built_design_takes_the_same_weights() -> None:
    module = model("ResNet18")
    result = import_module(module, (3, 32, 32))
    built = build(result.design, analyse(result.design)).eval()
    built.load_state_dict(import_weights(module, result))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(built(x), module(x), atol=1e-5, rtol=1e-5)


def test_layer_ids_keep_module_names() -> None:
    result = import_module(model("ResNet18"), (3, 32, 32))
    ids = {lay.id for lay in result.design.layers}
    assert {"conv1", "bn1", "layer1.0.conv1", "layer2.0.downsample.0", "fc"} <= ids
    add = result.design.layer("layer1.0.add")  # `out += identity` inside layer1.0
    assert add.type == "Add" and set(add.inputs) == {"layer1.0.bn2", "maxpool"}


def test_shufflenet_split_and_shuffle_become_layers() -> None:
    result = import_module(model("ShuffleNetV2"), (3, 32, 32))
    types = {lay.type for lay in result.design.layers}
    assert {"Split", "ChannelShuffle", "Concat"} <= types
    split = next(lay for lay in result.design.layers if lay.type == "Split")
    assert split.params["split_size_or_sections"] == [58, 58]
    users = [lay for lay in result.design.layers if f"{split.id}:1" in lay.inputs]
    assert users and users[0].type == "Conv2d"


def test_squeeze_excitation_gate_is_a_mul() -> None:
    result = import_module(model("MobileNetV3Small"), (3, 32, 32))
    muls = [lay for lay in result.design.layers if lay.type == "Mul"]
    assert len(muls) == 9  # one SE block in 9 of the 11 bottlenecks
    gate = result.design.layer(muls[0].inputs[0])
    assert gate.type == "Hardsigmoid"
    assert all(lay.position is not None for lay in result.design.layers)


def test_ports_and_functional_ops_round_trip() -> None:
    module = model("Mixed")
    result = import_module(module, (3, 16, 16))
    assert result.ok, result.report.text()
    types = [lay.type for lay in result.design.layers]
    for t in ("PReLU", "MaxUnpool2d", "Hardswish", "ReLU6", "Split", "Mish", "Upsample",
              "Mul", "AdaptiveMaxPool2d", "Flatten", "Dropout"):
        assert t in types, t
    unpool = result.design.layer("unpool")
    assert unpool.inputs == ["hardswish", "pool:indices"]
    assert result.design.layer("pool").params["return_indices"] is True
    state = import_weights(module, result)
    rebuilt = _exported(result.design, result.analysis).eval()
    rebuilt.load_state_dict(state)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(rebuilt(x), module(x), atol=1e-5, rtol=1e-5)
