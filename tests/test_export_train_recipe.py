"""The exported train.py implements the fast-training options as the engine
does (designer/nn/recipe.py), and carries them through to its checkpoint."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from designer.core.recipes import fast
from designer.core.training_config import TrainConfig
from designer.export.pytorch_code import generate_model_code
from designer.export.train_script import generate_train_script
from designer.io import load
from designer.nn import recipe as rc
from designer.nn.build import build
from designer.nn.checkpoint import checkpoint_design, load_checkpoint, load_weights_into
from designer.nn.train_setup import lr_factor, make_optimizer

from conftest import ROOT
from test_export_helpers import import_code
from test_export_train_script import _run, write_cifar

SAMPLE = ROOT / "samples" / "fast_cifar_cpu.json"


@pytest.fixture
def script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    design = load(SAMPLE)
    (tmp_path / "model.py").write_text(generate_model_code(design))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "model", raising=False)
    config = TrainConfig.from_dict(design.training)
    yield import_code(tmp_path, generate_train_script(design, config), "train_recipe_test")
    sys.modules.pop("model", None)


def test_settings_and_whiten_layer_are_exported(script) -> None:  # type: ignore[no-untyped-def]
    want = TrainConfig.from_dict(load(SAMPLE).training).to_dict()
    for key in fast():
        assert script.SETTINGS[key] == want[key], key
    assert script.WHITEN_LAYER == "whiten"


def test_script_functions_agree_with_the_engine(script) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    design = load(SAMPLE)
    cfg = TrainConfig.from_dict(design.training)
    a, b = build(design), build(design)
    b.load_state_dict(a.state_dict())
    rc.configure_norms(a, cfg)
    script.configure_norms(b, script.SETTINGS)
    engine = make_optimizer(a, cfg).param_groups
    exported = script.param_groups(b, script.SETTINGS)
    assert [(len(g["params"]), g["lr"], g["weight_decay"]) for g in engine] == \
        [(len(g["params"]), pytest.approx(g["lr"]), pytest.approx(g["weight_decay"]))
         for g in exported]
    images = torch.rand(40, 3, 32, 32)
    conv_a, conv_b = rc.input_conv(a)[1], getattr(b, "whiten")
    rc.whiten_init(conv_a, images)
    script.whiten_init(conv_b, images)
    assert torch.allclose(conv_a.weight, conv_b.weight, atol=1e-5)
    u8 = torch.randint(0, 255, (3, 3, 8, 8), dtype=torch.uint8)
    for mode in ("off", "mirror", "mirror_translate"):
        assert all(torch.equal(x, y) for x, y in zip(rc.tta_views(u8, mode),
                                                     script.tta_views(u8, mode)))
    for step in (0, 10, 23, 50, 99):
        assert script.lr_factor(step, 100, 0, "triangular", 0.2, 0.07) == \
            pytest.approx(lr_factor(step, 100, 0, "triangular", 0.2, 0.07))
    assert torch.equal(script.flip_bits(50, 3), rc.flip_bits(50, 3))
    net = nn.Linear(2, 2)
    ours, theirs = rc.WeightAverage(net, "ema", 0.9, 1, 0), script.WeightAverage(
        net, "ema", 0.9, 1, 0)
    for step in range(4):
        with torch.no_grad():
            net.weight.add_(1.0)
        ours.step(step)
        theirs.step(step)
    assert torch.allclose(ours.average["weight"], theirs.average["weight"])


def test_reflect_translation_and_alternating_flips(script) -> None:  # type: ignore[no-untyped-def]
    images = torch.randint(0, 255, (4, 3, 6, 6), dtype=torch.uint8)
    padded = nn.functional.pad(images.float(), (2,) * 4, mode="reflect").to(torch.uint8)
    out = script.augment(images, True, False, 2, "reflect")
    for n in range(4):
        assert any(torch.equal(out[n], padded[n, :, y:y + 6, x:x + 6])
                   for y in range(5) for x in range(5))
    mirror = torch.tensor([True, False, False, True])
    out = script.augment(images, False, True, 2, "zero", mirror)
    assert torch.equal(out[mirror], images[mirror].flip(3))
    assert torch.equal(out[~mirror], images[~mirror])


def test_the_script_trains_with_the_fast_recipe_and_its_checkpoint_opens(
        tmp_path: Path) -> None:
    design = load(SAMPLE)
    config = TrainConfig.from_dict(design.training)
    config.epochs, config.batch_size, config.average_every = 2, 32, 1
    config.average_start_epoch, config.whiten_bias_epochs = 0.5, 1.0
    (tmp_path / "model.py").write_text(generate_model_code(design), encoding="utf-8")
    (tmp_path / "train.py").write_text(generate_train_script(design, config), encoding="utf-8")
    write_cifar(tmp_path / "data")
    r = _run([sys.executable, "train.py", "--data-dir", "data", "--out", "fast.pt",
              "--limit", "128", "--device", "cpu"], tmp_path, timeout=400)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "test accuracy with TTA mirror_translate" in r.stdout
    ckpt = load_checkpoint(tmp_path / "fast.pt")
    restored = TrainConfig.from_dict(ckpt["training"])
    for key in fast():
        assert getattr(restored, key) == getattr(config, key), key
    assert ckpt["metrics"]["history"][-1]["tta"] == "mirror_translate"
    module = build(checkpoint_design(ckpt))
    load_weights_into(module, ckpt)
    # the whitened first conv kept its fitted weights
    conv = rc.input_conv(module)[1]
    fresh = build(checkpoint_design(ckpt))
    assert not torch.allclose(rc.input_conv(fresh)[1].weight, conv.weight)
