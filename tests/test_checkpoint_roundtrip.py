"""Checkpoints: train a few steps, save, load with weights_only=True, and get
identical outputs; mismatching or unsafe files give CheckpointError."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from conftest import ROOT
from designer.export.pytorch_code import generate_model_code
from designer.io import load, to_dict
from designer.nn.build import build
from designer.nn.checkpoint import (CheckpointError, checkpoint_design, load_checkpoint,
                                    load_weights_into, make_checkpoint, save_checkpoint)
from test_export_helpers import import_code


def _trained(sample: str, steps: int = 3) -> tuple[torch.nn.Module, object]:
    design = load(ROOT / "samples" / sample)
    torch.manual_seed(0)
    model = build(design)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, design


@pytest.mark.parametrize("sample", ["lenet5.json", "resnet_small.json"])
def test_round_trip_restores_identical_outputs(sample: str, tmp_path: Path) -> None:
    model, design = _trained(sample)
    path = tmp_path / "run" / "weights.pt"
    save_checkpoint(path, make_checkpoint(design, model.state_dict(), {"epochs": 1},
                                          {"test_acc": 0.5}))
    assert [p.name for p in path.parent.iterdir()] == ["weights.pt"]  # no temporary left
    ckpt = load_checkpoint(path)
    restored = build(checkpoint_design(ckpt))
    load_weights_into(restored, ckpt)
    assert to_dict(checkpoint_design(ckpt)) == to_dict(design)
    assert ckpt["training"] == {"epochs": 1} and ckpt["metrics"] == {"test_acc": 0.5}
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(restored.eval()(x), model.eval()(x), rtol=0, atol=0)
    for key, value in model.state_dict().items():   # BatchNorm running stats too
        assert torch.equal(ckpt["state_dict"][key], value), key


def test_checkpoint_weights_load_into_the_exported_class(tmp_path: Path) -> None:
    model, design = _trained("resnet_small.json", steps=2)
    save_checkpoint(tmp_path / "w.pt", make_checkpoint(design, model.state_dict()))
    module = import_code(tmp_path, generate_model_code(design), "model_ckpt")
    exported = module.SmallResNet()
    exported.load_state_dict(load_checkpoint(tmp_path / "w.pt")["state_dict"])
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(exported.eval()(x), model.eval()(x), rtol=0, atol=0)


def test_checkpoint_of_another_design_is_refused_clearly(tmp_path: Path) -> None:
    model, design = _trained("lenet5.json", steps=1)
    save_checkpoint(tmp_path / "lenet.pt", make_checkpoint(design, model.state_dict()))
    other = build(load(ROOT / "samples" / "resnet_small.json"))
    with pytest.raises(CheckpointError, match="does not match this design") as info:
        load_weights_into(other, load_checkpoint(tmp_path / "lenet.pt"))
    assert "stem.weight" in str(info.value) and "conv1.weight" in str(info.value)


def test_checkpoint_with_a_changed_layer_names_the_shape(tmp_path: Path) -> None:
    model, design = _trained("lenet5.json", steps=1)
    save_checkpoint(tmp_path / "lenet.pt", make_checkpoint(design, model.state_dict()))
    design.set_param("fc1", "out_features", 100)
    with pytest.raises(CheckpointError, match=r"'fc1.weight' has shape \(120, 400\) in the "
                                              r"checkpoint but \(100, 400\)"):
        load_weights_into(build(design), load_checkpoint(tmp_path / "lenet.pt"))


class _Evil:
    def __reduce__(self) -> tuple:
        return (os.system, ("touch MARKER",))


@pytest.mark.parametrize("content", ["evil", "garbage", "other dict", "missing"])
def test_unreadable_or_unsafe_checkpoints_are_refused(content: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bad.pt"
    if content == "evil":
        torch.save({"format": "cnn-designer-checkpoint", "state_dict": {}, "x": _Evil()}, path)
    elif content == "garbage":
        path.write_bytes(b"not a checkpoint at all")
    elif content == "other dict":
        torch.save({"model": {}}, path)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not (tmp_path / "MARKER").exists()
