"""Training 1-D and 3-D designs: the engine, the CLI and the exported train.py
use synthetic data of the design's input shape (CIFAR-10 is 2-D), labelled so."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from designer.cli import main
from designer.core.model import Design, InputSpec
from designer.core.training_config import TrainConfig
from designer.export.pytorch_code import generate_model_code
from designer.export.train_script import generate_train_script, synthetic_plan
from designer.core.analysis import analyse
from designer.io import save
from designer.nn import events as ev
from designer.nn.augment import Normaliser
from designer.nn.checkpoint import load_checkpoint
from designer.nn.data_synthetic_nd import generate
from designer.nn.trainer import Trainer


def signal_design(classes: int = 6) -> Design:
    d = Design("signal net", InputSpec(2, length=64))
    d.add_layer("Conv1d", {"out_channels": 8, "kernel_size": 5, "padding": 2})
    d.add_layer("ReLU")
    d.add_layer("MaxPool1d", {"kernel_size": 2})
    d.add_layer("Flatten")
    d.add_layer("Linear", {"out_features": classes})
    return d


def volume_design() -> Design:
    d = Design("volume net", InputSpec(1, 8, 8, depth=4))
    d.add_layer("Conv3d", {"out_channels": 4, "kernel_size": 3, "padding": 1})
    d.add_layer("ReLU")
    d.add_layer("Flatten")
    d.add_layer("Linear", {"out_features": 5})
    return d


def _train(design: Design, **settings: object) -> list[object]:
    events: list[object] = []
    config = TrainConfig(epochs=1, batch_size=16, train_limit=64, test_limit=16, threads=1,
                         device="cpu", **settings)  # type: ignore[arg-type]
    Trainer(design, config, events.append).run()
    return events


def test_a_1d_design_set_to_cifar10_trains_on_labelled_synthetic_signals() -> None:
    events = _train(signal_design(), dataset="cifar10", cutout=8)
    assert not [e for e in events if isinstance(e, ev.Failed)], events
    started = next(e for e in events if isinstance(e, ev.Started))
    assert started.dataset_label == "Synthetic 1-D signals (6 classes; not real data)"
    assert started.class_names[:2] == ["sine band 1", "square band 1"]
    assert any("CIFAR-10 is 2-D" in n for n in started.notes)
    assert any("crop, flip and cutout" in n for n in started.notes)
    finished = next(e for e in events if isinstance(e, ev.Finished))
    assert finished.metrics["dataset"] == started.dataset_label
    assert len(finished.confusion) == 6 and sum(map(sum, finished.confusion)) == 16


def test_a_3d_design_trains_on_clips_without_channels_last() -> None:
    events = _train(volume_design(), dataset="synthetic", channels_last="on")
    assert not [e for e in events if isinstance(e, ev.Failed)], events
    started = next(e for e in events if isinstance(e, ev.Started))
    assert started.dataset_label.startswith("Synthetic 3-D clips") and not started.channels_last
    assert not any("CIFAR-10 is 2-D" in n for n in started.notes)   # synthetic was asked for
    assert any(isinstance(e, ev.Finished) for e in events)


def test_a_design_with_too_many_classes_gets_a_plain_message() -> None:
    events = _train(signal_design(classes=100))
    failed = [e for e in events if isinstance(e, ev.Failed)]
    assert failed and "Linear(out_features=10)" in failed[0].message


def test_normaliser_handles_every_rank() -> None:
    norm = Normaliser([0.5, 0.25], [0.5, 0.25], torch.device("cpu"), channels_last=True)
    for shape in ((3, 2, 7), (3, 2, 5, 5), (3, 2, 2, 4, 4)):
        x = torch.randint(0, 256, shape, dtype=torch.uint8)
        want = (x.float() / 255 - torch.tensor([0.5, 0.25]).view(1, 2, *[1] * (len(shape) - 2))) \
            / torch.tensor([0.5, 0.25]).view(1, 2, *[1] * (len(shape) - 2))
        torch.testing.assert_close(norm(x), want)


def test_cli_trains_a_1d_design_without_cifar(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "signal.json"
    save(signal_design(), path)
    out = tmp_path / "run"
    code = main(["train", str(path), "--data-dir", str(tmp_path / "nothing"), "--out", str(out),
                 "--epochs", "1", "--batch-size", "16", "--limit", "64", "--threads", "1",
                 "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Synthetic 1-D signals (6 classes; not real data): 64 training / 12 test samples" in err
    assert "note: CIFAR-10 is 2-D" in err
    assert load_checkpoint(out / "last.pt")["dataset"].startswith("Synthetic 1-D signals")


def _run(args: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    env.pop("PYTHONPATH", None)  # the script needs only torch, not the app
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"timed out:\n{out}\n{err}") from None
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


@pytest.mark.parametrize("make", [signal_design, volume_design])
def test_exported_train_script_trains_on_the_same_synthetic_data(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    design = make()
    config = TrainConfig(epochs=1, batch_size=16, train_limit=48, test_limit=16)
    code = generate_train_script(design, config)
    assert all(len(line) <= 79 for line in code.splitlines())
    (tmp_path / "model.py").write_text(generate_model_code(design))
    (tmp_path / "train.py").write_text(code)
    r = _run([sys.executable, "train.py", "--out", "ckpt.pt"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    plan = synthetic_plan(analyse(design), config)
    assert plan is not None and f"data: {plan['label']} (CIFAR-10 is 2-D)" in r.stdout
    assert "48 training and 16 test images" in r.stdout
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert 0.0 <= ckpt["metrics"]["test_acc"] <= 1.0
    # the script's generator is the app's: the same samples for a seed
    r = _run([sys.executable, "-c", "import torch, train; x, y = train.generate("
              f"{tuple(design.input.shape)}, 12, 4, 3); torch.save((x, y), 'g.pt')"],
             tmp_path)
    assert r.returncode == 0, r.stderr
    x, y = torch.load(tmp_path / "g.pt", weights_only=True)
    want = generate(tuple(design.input.shape), 12, 4, 3)
    assert torch.equal(x, want[0]) and torch.equal(y, want[1])


def test_2d_designs_export_no_synthetic_data() -> None:
    d = Design("img", InputSpec(3, 32, 32))
    d.add_layer("Flatten")
    d.add_layer("Linear", {"out_features": 10})
    assert synthetic_plan(analyse(d), TrainConfig()) is None
    assert "SYNTHETIC = None" in generate_train_script(d) and "def clips" not in \
        generate_train_script(d)
