"""The memory planner held against PyTorch itself: parameters, gradients,
optimizer state and buffers to the byte after real steps; what autograd saves
for each layer type (saved_tensors_hooks, unique storages); and the peak of
live tensor storage over a real training step of the app's trainer order."""
from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F

from designer.core.catalogue import is_known
from designer.core.planner import PlanSettings, plan
from designer.core.training_config import TrainConfig
from designer.io import from_dict, load
from designer.nn import train_setup as setup
from designer.nn.augment import Normaliser
from designer.nn.build import build
from designer.nn.memory_probe import LiveStorage, SavedTensors, state_tensors, storage_bytes

from conftest import ROOT


def design_of(layers: list[dict[str, Any]], shape: tuple[int, int, int] = (4, 8, 8)) -> Any:
    c, h, w = shape
    return from_dict({"format": "cnn-designer", "schema_version": 1, "design": {
        "name": "t", "input": {"channels": c, "height": h, "width": w}, "layers": layers}})


HEAD = [{"id": "flat", "type": "Flatten"}, {"id": "fc", "type": "Linear",
                                            "params": {"out_features": 3}}]
CONV = {"id": "conv", "type": "Conv2d", "params": {"out_channels": 8, "kernel_size": 3,
                                                    "padding": 1}}
# (type, params): each goes after a convolution, so its input needs a gradient
IMAGE_LAYERS = [
    ("ReLU", {}), ("LeakyReLU", {}), ("GELU", {}), ("SiLU", {}), ("ELU", {}), ("Sigmoid", {}),
    ("Tanh", {}), ("Softmax", {"dim": 1}), ("MaxPool2d", {"kernel_size": 2}),
    ("MaxPool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
    ("AvgPool2d", {"kernel_size": 2}), ("AdaptiveAvgPool2d", {"output_size": 2}),
    ("AdaptiveMaxPool2d", {"output_size": 2}), ("BatchNorm2d", {}),
    ("BatchNorm2d", {"affine": False, "track_running_stats": False}),
    ("GroupNorm", {"num_groups": 2}), ("LayerNorm", {}), ("Dropout", {"p": 0.3}),
    ("Dropout2d", {"p": 0.3}), ("ChannelShuffle", {"groups": 2}),
    ("Upsample", {"scale_factor": 2.0}), ("Identity", {}),
    ("Conv2d", {"out_channels": 6, "kernel_size": 3, "groups": 2}),
    ("ConvTranspose2d", {"out_channels": 5, "kernel_size": 3, "stride": 2}),
    ("ReLU6", {}), ("Hardswish", {}), ("Hardsigmoid", {}), ("Mish", {}), ("PReLU", {}),
]


def _saved_by_torch(design: Any, precision: str, batch: int = 3) -> int:
    model = build(design)
    model.train()
    c, h, w = design.input.shape
    x = torch.randn(batch, c, h, w)
    exclude = list(model.parameters()) + list(model.buffers())
    with SavedTensors() as saved, setup.autocast(torch.device("cpu"), precision):
        model(x)
    return saved.bytes_excluding(exclude)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("type_name,params", IMAGE_LAYERS,
                         ids=[f"{t}{i}" for i, (t, _) in enumerate(IMAGE_LAYERS)])
def test_saved_activations_per_layer_type_equal_torch(type_name: str, params: dict[str, Any],
                                                      precision: str) -> None:
    if not is_known(type_name):
        pytest.skip(f"{type_name} is not in this catalogue")
    design = design_of([CONV, {"id": "x", "type": type_name, "params": params}] + HEAD)
    p = plan(design, PlanSettings(batch_size=3, precision=precision))
    assert p.saved == _saved_by_torch(design, precision)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_saved_activations_of_merges_and_flat_layers_equal_torch(precision: str) -> None:
    layers = [CONV, {"id": "a", "type": "ReLU"},
              {"id": "b", "type": "Conv2d", "params": {"out_channels": 8, "kernel_size": 1}},
              {"id": "sum", "type": "Add", "inputs": ["a", "b"]},
              {"id": "cat", "type": "Concat", "inputs": ["sum", "conv"]},
              {"id": "flat", "type": "Flatten"},
              {"id": "fc1", "type": "Linear", "params": {"out_features": 16}},
              {"id": "bn", "type": "BatchNorm1d"}, {"id": "drop", "type": "Dropout"},
              {"id": "fc2", "type": "Linear", "params": {"out_features": 3}},
              {"id": "soft", "type": "Softmax", "params": {"dim": 1}}]
    design = design_of(layers)
    p = plan(design, PlanSettings(batch_size=3, precision=precision))
    assert p.saved == _saved_by_torch(design, precision)


def test_frozen_layers_keep_what_torch_keeps() -> None:
    layers = [dict(CONV, frozen=True), {"id": "pool", "type": "MaxPool2d",
                                        "params": {"kernel_size": 2}},
              {"id": "c2", "type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3}},
              {"id": "r", "type": "ReLU"}, {"id": "flat", "type": "Flatten"},
              {"id": "fc", "type": "Linear", "params": {"out_features": 3}, "frozen": True}]
    design = design_of(layers)
    assert plan(design, PlanSettings(batch_size=3)).saved == _saved_by_torch(design, "fp32")


def _trainer_step(model: Any, opt: Any, norm: Any, images: torch.Tensor, y: torch.Tensor,
                  precision: str) -> None:
    """The order of designer/nn/trainer.py's _train_step."""
    x = norm(images)
    with setup.autocast(torch.device("cpu"), precision):
        out = model(x)
    loss = F.cross_entropy(out.float(), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def _run(design: Any, batch: int, optimizer: str, momentum: float, precision: str,
         channels_last: bool) -> tuple[Any, Any, int]:
    torch.manual_seed(0)
    model = build(design)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    opt = setup.make_optimizer(model, TrainConfig(optimizer=optimizer, momentum=momentum))
    c, h, w = design.input.shape
    norm = Normaliser([0.5] * c, [0.25] * c, torch.device("cpu"), channels_last)

    def batch_data() -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.randint(0, 256, (batch, c, h, w), dtype=torch.uint8),
                torch.randint(0, model.output_shape[0], (batch,)))

    for _ in range(2):
        _trainer_step(model, opt, norm, *batch_data(), precision)
    images, y = batch_data()
    probe = LiveStorage(state_tensors(model, opt) + [images, y])
    with probe:
        _trainer_step(model, opt, norm, images, y, precision)
    return model, opt, probe.peak


OPTIMIZERS = [("sgd", 0.0), ("sgd", 0.9), ("adam", 0.0), ("adamw", 0.0)]


@pytest.mark.parametrize("optimizer,momentum", OPTIMIZERS)
def test_parameters_gradients_and_optimizer_state_to_the_byte(optimizer: str,
                                                              momentum: float) -> None:
    layers = [CONV, {"id": "bn", "type": "BatchNorm2d"}, {"id": "r", "type": "ReLU"},
              {"id": "c2", "type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3},
               "frozen": True}] + HEAD
    design = design_of(layers)
    model, opt, _ = _run(design, 2, optimizer, momentum, "fp32", False)
    p = plan(design, PlanSettings(batch_size=2, optimizer=optimizer, momentum=momentum))
    assert p.parameters == storage_bytes(model.parameters())
    assert p.buffers == storage_bytes(model.buffers())
    assert p.gradients == storage_bytes(q.grad for q in model.parameters()
                                        if q.grad is not None)
    state = [v for s in opt.state.values() for v in s.values() if isinstance(v, torch.Tensor)]
    assert p.optimizer == storage_bytes(state)
    if optimizer == "sgd" and momentum == 0:
        assert p.optimizer == 0


@pytest.mark.parametrize("sample,batch,optimizer,momentum,precision,channels_last", [
    ("lenet5", 8, "sgd", 0.9, "fp32", False),
    ("lenet5", 8, "adamw", 0.0, "bf16", True),
    ("resnet_small", 4, "sgd", 0.0, "fp32", True),
    ("resnet_small", 4, "adam", 0.0, "bf16", False),
    ("shufflenet", 4, "sgd", 0.9, "fp32", False),
])
def test_planned_peak_matches_a_real_training_step(sample: str, batch: int, optimizer: str,
                                                   momentum: float, precision: str,
                                                   channels_last: bool) -> None:
    design = load(ROOT / "samples" / f"{sample}.json")
    _, _, measured = _run(design, batch, optimizer, momentum, precision, channels_last)
    p = plan(design, PlanSettings(batch_size=batch, optimizer=optimizer, momentum=momentum,
                                  precision=precision, channels_last=channels_last))
    assert abs(p.peak - measured) <= 0.03 * measured, (p.peak, measured, p.phase)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_ports_split_mul_and_unpooling_keep_what_torch_keeps(precision: str) -> None:
    if not all(is_known(t) for t in ("Split", "Mul", "MaxUnpool2d")):
        pytest.skip("no ports in this catalogue")
    layers = [CONV, {"id": "split", "type": "Split", "params": {"split_size_or_sections": 4}},
              {"id": "a", "type": "ReLU", "inputs": ["split:0"]},
              {"id": "gate", "type": "Sigmoid", "inputs": ["split:1"]},
              {"id": "mul", "type": "Mul", "inputs": ["a", "gate"]},
              {"id": "pool", "type": "MaxPool2d",
               "params": {"kernel_size": 2, "return_indices": True}},
              {"id": "unpool", "type": "MaxUnpool2d", "params": {"kernel_size": 2},
               "inputs": ["pool", "pool:indices"]}] + HEAD
    design = from_dict({"format": "cnn-designer", "schema_version": 2, "design": {
        "name": "t", "input": {"channels": 4, "height": 8, "width": 8}, "layers": layers}})
    p = plan(design, PlanSettings(batch_size=3, precision=precision))
    assert p.saved == _saved_by_torch(design, precision)
