"""The exported train.py: runs on a tiny CIFAR-format dataset with python and
with torchrun (2 CPU processes, gloo), and its checkpoints load into the app."""
from __future__ import annotations

import ast
import json
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ROOT
from designer.core import Design, InputSpec
from designer.core.training_config import TrainConfig
from designer.export.common import LINE_LENGTH, ExportError
from designer.export.pytorch_code import generate_model_code
from designer.export.train_script import cifar_mismatch, generate_train_script
from designer.core.analysis import analyse
from designer.io import load, to_dict
from designer.nn.build import build
from designer.nn.checkpoint import checkpoint_design, load_checkpoint, load_weights_into
from test_export_helpers import import_code

IMAGES_PER_BATCH = 64


def write_cifar(folder: Path, per_batch: int = IMAGES_PER_BATCH) -> Path:
    """A CIFAR-10 python folder with random images, in the official format."""
    root = folder / "cifar-10-batches-py"
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{n}" for n in range(1, 6)] + ["test_batch"]:
        entry = {b"batch_label": name.encode(),
                 b"labels": rng.integers(0, 10, per_batch).tolist(),
                 b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 b"filenames": [f"{n}.png".encode() for n in range(per_batch)]}
        with open(root / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)
    with open(root / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [f"class{n}".encode() for n in range(10)],
                     b"num_cases_per_batch": per_batch, b"num_vis": 3072}, f, protocol=2)
    return folder


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """model.py + train.py for LeNet-5 and a tiny dataset in one folder."""
    folder = tmp_path_factory.mktemp("train")
    design = load(ROOT / "samples" / "lenet5.json")
    config = TrainConfig(epochs=1, batch_size=32)
    (folder / "model.py").write_text(generate_model_code(design), encoding="utf-8")
    (folder / "train.py").write_text(generate_train_script(design, config), encoding="utf-8")
    write_cifar(folder / "data")
    return folder


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    env.pop("PYTHONPATH", None)  # the script needs only torch, not the app
    return env


def _run(args: list[str], cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run in its own process group, killed whole on timeout (no orphaned workers)."""
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env(), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"timed out after {timeout} s:\n{out}\n{err}") from None
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def _check_checkpoint(path: Path) -> dict:
    ckpt = load_checkpoint(path)
    design = checkpoint_design(ckpt)
    assert to_dict(design) == to_dict(load(ROOT / "samples" / "lenet5.json"))
    module = build(design)
    load_weights_into(module, ckpt)
    assert ckpt["training"]["epochs"] == 1 and ckpt["training"]["batch_size"] == 32
    assert 0.0 <= ckpt["metrics"]["test_acc"] <= 1.0
    assert len(ckpt["metrics"]["history"]) == 1
    return ckpt


def test_train_script_runs_in_one_process(workdir: Path) -> None:
    r = _run([sys.executable, "train.py", "--data-dir", "data", "--out", "one.pt",
              "--limit", "200"], workdir)
    assert r.returncode == 0, r.stderr
    assert "200 training and 64 test images" in r.stdout
    assert "epoch 1/1" in r.stdout and "saved one.pt" in r.stdout
    ckpt = _check_checkpoint(workdir / "one.pt")
    assert ckpt["metrics"]["processes"] == 1
    assert ckpt["training"]["train_limit"] == 200


def test_train_script_runs_under_torchrun(workdir: Path) -> None:
    r = _run([sys.executable, "-m", "torch.distributed.run", "--standalone",
              "--nproc_per_node=2", "train.py", "--data-dir", "data", "--out", "ddp.pt"],
             workdir)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "processes: 2" in r.stdout
    assert r.stdout.count("saved ddp.pt") == 1        # only rank 0 logs and saves
    assert r.stdout.count("epoch 1/1") == 1
    ckpt = _check_checkpoint(workdir / "ddp.pt")
    assert ckpt["metrics"]["processes"] == 2
    assert not any(k.startswith("module.") for k in ckpt["state_dict"])
    # The weights also load into the exported class and give the same outputs.
    module = build(checkpoint_design(ckpt))
    load_weights_into(module, ckpt)
    exported = import_code(workdir, (workdir / "model.py").read_text(), "model_ddp").LeNet5()
    exported.load_state_dict(ckpt["state_dict"])
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(exported.eval()(x), module.eval()(x))


def test_train_script_refuses_unsafe_data_files(tmp_path: Path, workdir: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple:
            return (os.system, ("touch MARKER",))

    root = write_cifar(tmp_path / "data") / "cifar-10-batches-py"
    with open(root / "data_batch_1", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": []}, f)
    for name in ("model.py", "train.py"):
        (tmp_path / name).write_text((workdir / name).read_text())
    r = _run([sys.executable, "train.py", "--data-dir", "data", "--out", "x.pt"], tmp_path)
    assert r.returncode != 0
    assert "unexpected object" in r.stderr
    assert not (tmp_path / "MARKER").exists() and not (tmp_path / "x.pt").exists()


def test_train_script_refuses_a_design_that_does_not_fit_cifar(tmp_path: Path) -> None:
    d = Design("mnist-like", InputSpec(1, 28, 28))
    d.add_layer("Flatten")
    d.add_layer("Linear", {"out_features": 10})
    assert cifar_mismatch(analyse(d)) == "CIFAR-10 images are 3x32x32 but the design takes 1x28x28"
    (tmp_path / "model.py").write_text(generate_model_code(d))
    (tmp_path / "train.py").write_text(generate_train_script(d))
    write_cifar(tmp_path / "data", per_batch=4)
    r = _run([sys.executable, "train.py", "--data-dir", "data"], tmp_path)
    assert r.returncode != 0 and "CIFAR-10 images are 3x32x32" in r.stderr


def _assigned(tree: ast.Module, name: str) -> object:
    for node in tree.body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not assigned")


def test_train_script_embeds_design_and_settings_as_data() -> None:
    d = Design('Evil"""\nimport os  # \u2028', InputSpec(3, 32, 32))
    d.add_layer("Flatten", layer_id="fl'\"\n)")
    d.add_layer("Linear", {"out_features": 10}, layer_id="über")
    config = TrainConfig(epochs=3, lr=0.1, optimizer="adamw", data_dir="/data/'x'\n")
    code = generate_train_script(d, config)
    tree = ast.parse(code)
    assert json.loads(_assigned(tree, "DESIGN_JSON")) == to_dict(d)  # type: ignore[arg-type]
    settings = _assigned(tree, "SETTINGS")
    assert settings["epochs"] == 3 and settings["optimizer"] == "adamw"  # type: ignore[index]
    assert settings["data_dir"] == "/data/'x'\n"  # type: ignore[index]
    assert all(len(line) <= LINE_LENGTH for line in code.splitlines())
    assert code.isascii() or "\u2028" not in code
    assert "from model import INPUT_SHAPE, Evil" in code
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not any("system" in c or "exec" in c or c == "eval" for c in calls)


def test_train_script_defaults_follow_train_config() -> None:
    code = generate_train_script(load(ROOT / "samples" / "lenet5.json"))
    settings = _assigned(ast.parse(code), "SETTINGS")
    defaults = TrainConfig()
    for key in ("epochs", "batch_size", "lr", "momentum", "nesterov", "weight_decay",
                "schedule", "optimizer", "label_smoothing", "augment_crop", "augment_flip"):
        assert settings[key] == getattr(defaults, key), key  # type: ignore[index]


def test_train_script_rejects_bad_settings_and_module_names() -> None:
    design = load(ROOT / "samples" / "lenet5.json")
    with pytest.raises(ExportError, match="optimizer"):
        generate_train_script(design, TrainConfig(optimizer="lbfgs"))
    with pytest.raises(ExportError, match="my-model"):
        generate_train_script(design, model_module="my-model")
    code = generate_train_script(design, model_module="lenet")
    assert "from lenet import INPUT_SHAPE, LeNet5" in code


@pytest.fixture
def train_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    design = load(ROOT / "samples" / "lenet5.json")
    (tmp_path / "model.py").write_text(generate_model_code(design))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "model", raising=False)
    yield import_code(tmp_path, generate_train_script(design), "train_under_test")
    sys.modules.pop("model", None)


def test_augmentation_crops_and_flips_on_uint8(train_module) -> None:  # type: ignore[no-untyped-def]
    images = torch.arange(2 * 3 * 6 * 6, dtype=torch.int64).remainder(251).to(torch.uint8)
    images = images.view(2, 3, 6, 6)
    torch.manual_seed(1)
    out = train_module.augment(images, crop=False, flip=True)
    assert out.dtype == torch.uint8 and out.shape == images.shape
    for n in range(2):
        assert torch.equal(out[n], images[n]) or torch.equal(out[n], images[n].flip(2))
    crops = [train_module.augment(images, crop=True, flip=False, pad=2) for _ in range(20)]
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    windows = {(dy, dx) for dy in range(5) for dx in range(5)}
    for crop in crops:
        for n in range(2):
            assert any(torch.equal(crop[n], padded[n, :, dy:dy + 6, dx:dx + 6])
                       for dy, dx in windows)
    assert any(not torch.equal(c, images) for c in crops)


def test_learning_rate_schedules(train_module) -> None:  # type: ignore[no-untyped-def]
    f = train_module.lr_factor
    one = [f(s, 100, 20, "onecycle") for s in range(100)]
    assert one[0] == pytest.approx(0.04) and max(one) == pytest.approx(1.0)
    assert one.index(max(one)) == 20 and one[-1] < 0.01
    assert all(a <= b for a, b in zip(one[:20], one[1:21]))
    assert all(a >= b for a, b in zip(one[20:], one[21:]))
    assert [f(s, 100, 0, "step") for s in (0, 49, 50, 75)] == \
        pytest.approx([1.0, 1.0, 0.1, 0.01])
    assert f(99, 100, 0, "cosine") < 0.001 and f(50, 100, 0, "constant") == 1.0
