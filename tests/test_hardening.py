"""Hostile inputs found by probing (issue 13, items 1-5 and 8): files that are
not files, out-of-range training settings, export names that break the
exported code, damaged checkpoints, and saving that must stay atomic."""
from __future__ import annotations

import json
import os
import pickle
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ROOT
from designer.cli import main
from designer.core import Design, InputSpec
from designer.core.training_config import RANGES, TrainConfig, TrainConfigError, allowed
from designer.export.train_script import generate_train_script
from designer.io import DesignFileError, load, loads, save
from designer.io import files
from designer.nn.build import build
from designer.nn.checkpoint import (CheckpointError, load_checkpoint, make_checkpoint,
                                    save_checkpoint)
from designer.nn.events import Failed
from designer.nn.trainer import Trainer
from test_data_helpers import write_cifar
from test_export_helpers import import_code

LENET = str(ROOT / "samples" / "lenet5.json")
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")


def _with_training(tmp_path: Path, **training: object) -> Path:
    data = json.loads(Path(LENET).read_text())
    data["design"]["training"] = training
    path = tmp_path / "with_training.json"
    path.write_text(json.dumps(data))
    return path


# --- 1. files that are not regular files ---------------------------------------------

@needs_fifo
@pytest.mark.parametrize("command", [["summary"], ["export", "-o", "m.py"],
                                     ["train", "--dataset", "synthetic"]])
def test_every_command_refuses_a_fifo_and_a_device(command: list[str], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "pipe.json")
    for path in (str(tmp_path / "pipe.json"), "/dev/zero"):
        started = time.monotonic()
        assert main([command[0], path, *command[1:]]) == 2
        assert time.monotonic() - started < 10
        err = capsys.readouterr().err
        assert err.count(path) == 1 and ("FIFO" in err or "device" in err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.json"]


@needs_fifo
def test_checkpoints_that_are_not_files_are_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "w.pt")
    for path in (tmp_path / "w.pt", tmp_path, Path("/dev/zero")):
        with pytest.raises(CheckpointError, match="not a checkpoint"):
            load_checkpoint(path)


def test_read_limited_counts_what_it_reads(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 100)
    assert files.read_limited(tmp_path / "f", 100) == b"x" * 100
    with pytest.raises(files.FileTooLargeError):
        files.read_limited(tmp_path / "f", 99)


def test_the_size_refusal_names_the_file_once(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(21 * 2**20)
    assert main(["summary", str(big)]) == 2
    err = capsys.readouterr().err
    assert err.count(str(big)) == 1 and "larger than 20 MB" in err, err


# --- 2. training settings in range, wherever they enter ------------------------------

@pytest.mark.parametrize("setting, value", [("threads", 100_000), ("seed", 10 ** 20),
                                            ("epochs", 0), ("lr", -0.1), ("cutout", 99),
                                            ("optimizer", "rmsprop"), ("batch_size", 10 ** 9)])
def test_design_file_training_values_out_of_range_are_refused(tmp_path: Path, setting: str,
                                                              value: object) -> None:
    path = _with_training(tmp_path, **{setting: value})
    with pytest.raises(DesignFileError) as info:
        load(path)
    assert info.value.where == f"design.training.{setting}"
    assert allowed(setting) in str(info.value)


def test_cli_flags_out_of_range_name_the_flag_and_range(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    base = ["train", LENET, "--dataset", "synthetic", "--out", str(tmp_path / "r")]
    for flag, value in [("--threads", "100000"), ("--seed", str(10 ** 20)),
                        ("--epochs", "-1"), ("--val-split", "-3"), ("--limit", "-5")]:
        assert main([*base, flag, value]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {flag} must be a whole number from "), err
        assert "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_every_default_is_in_range_and_the_ranges_cover_the_numbers() -> None:
    TrainConfig().check()
    numeric = {f for f, v in TrainConfig().to_dict().items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    assert numeric <= set(RANGES)
    with pytest.raises(TrainConfigError) as info:
        TrainConfig(threads=100_000).check(lambda name: f"--{name}")
    assert info.value.setting == "threads"
    assert str(info.value) == "--threads must be a whole number from 1 to 512; got 100 000"


def test_the_engine_reports_a_bad_seed_instead_of_raising() -> None:
    events: list[object] = []
    config = TrainConfig(dataset="synthetic", seed=10 ** 20, device="cpu", threads=1,
                         train_limit=64, test_limit=32)
    Trainer(load(LENET), config, events.append).run()
    failed = [e for e in events if isinstance(e, Failed)]
    assert len(failed) == 1 and "seed" in failed[0].message
    assert allowed("seed") in failed[0].message


@pytest.mark.parametrize("field, value", [("epoch", -5), ("epoch", 10 ** 9),
                                          ("global_step", -1), ("epoch", "3")])
def test_resuming_from_a_checkpoint_with_a_bad_epoch_is_refused(tmp_path: Path, field: str,
                                                                value: object) -> None:
    design = load(LENET)
    path = tmp_path / "last.pt"
    save_checkpoint(path, make_checkpoint(design, build(design).state_dict(),
                                          extra={"epoch": 1, field: value}))
    events: list[object] = []
    config = TrainConfig(dataset="synthetic", epochs=2, device="cpu", threads=1,
                         train_limit=64, test_limit=32, batch_size=32)
    Trainer(design, config, events.append, resume_from=path).run()
    failed = [e for e in events if isinstance(e, Failed)]
    assert len(failed) == 1 and f'"{field}" must be a whole number' in failed[0].message


# --- 3. export names and sizes ---------------------------------------------------------

@pytest.mark.parametrize("name", ["class.py", "torch.py", "os.py", "json.py", "pickle.py",
                                  "numpy.py"])
def test_export_names_that_break_the_code_are_refused(name: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    assert main(["export", LENET, "-o", str(tmp_path / name), "--train-script"]) == 1
    err = capsys.readouterr().err
    assert f"'{name}'" in err and "choose another name" in err
    assert list(tmp_path.iterdir()) == []


def test_export_to_an_existing_folder_is_refused(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    assert main(["export", LENET, "-o", str(folder), "--train-script"]) == 1
    assert "is a folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["out"]


def test_an_export_that_cannot_fit_in_memory_is_refused_with_the_estimate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = Design("huge", InputSpec(3, 1024, 1024))
    d.add_layer("Flatten")
    d.add_layer("Linear", {"out_features": 12_000})  # 37.7 G parameters
    save(d, tmp_path / "huge.json")
    started = time.monotonic()
    assert main(["export", str(tmp_path / "huge.json"),
                 "--torchscript", str(tmp_path / "m.pt")]) == 1
    err = capsys.readouterr().err
    assert "37,748,748,000 parameters" in err and "GB" in err and "Traceback" not in err
    assert time.monotonic() - started < 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.json"]


# --- 4. checkpoints with bad values ---------------------------------------------------

@pytest.mark.parametrize("state_dict", ["abc", [1, 2], {"conv1.weight": "abc"},
                                        {"conv1.weight": [1.0]}])
def test_export_weights_with_a_bad_state_dict_give_a_message(
        state_dict: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = make_checkpoint(load(LENET), {})
    ckpt["state_dict"] = state_dict
    torch.save(ckpt, tmp_path / "w.pt")
    assert main(["export", LENET, "--weights", str(tmp_path / "w.pt"),
                 "--torchscript", str(tmp_path / "m.pt")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert "weights" in err and not (tmp_path / "m.pt").exists()


def test_random_bytes_are_not_a_cnn_designer_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "noise.pt"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert "not a CNN Designer checkpoint" in str(info.value)
    assert "PyTorch 2.6" not in str(info.value) and "weights_only" not in str(info.value)


@pytest.mark.parametrize("metrics", ["abc", {"per_class_acc": 5}, {"confusion": [[1], "x"]},
                                     {"class_names": [1, 2]}])
def test_checkpoint_values_are_validated_when_read(metrics: object, tmp_path: Path) -> None:
    design = load(LENET)
    ckpt = make_checkpoint(design, build(design).state_dict())
    ckpt["metrics"] = metrics
    torch.save(ckpt, tmp_path / "w.pt")
    with pytest.raises(CheckpointError, match="metrics"):
        load_checkpoint(tmp_path / "w.pt")


def test_checkpoints_are_written_atomically_and_flushed(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    design = load(LENET)
    save_checkpoint(tmp_path / "w.pt", make_checkpoint(design, build(design).state_dict()))
    assert len(synced) >= 1
    assert [p.name for p in tmp_path.iterdir()] == ["w.pt"]
    assert load_checkpoint(tmp_path / "w.pt")["format"] == "cnn-designer-checkpoint"


# --- 5. saving -----------------------------------------------------------------------

def test_a_killed_save_leaves_temporaries_the_next_save_removes(tmp_path: Path) -> None:
    target = tmp_path / "net.json"
    stale = [tmp_path / ".net.json.abcd1234.tmp", tmp_path / ".net.json.zz_99xyz.tmp"]
    fresh = tmp_path / ".net.json.fresh123.tmp"   # maybe another save, right now
    other = tmp_path / ".other.json.abcd1234.tmp"  # another file's
    for p in (*stale, fresh, other):
        p.write_text("{")
    old = time.time() - 3600
    for p in (*stale, other):
        os.utime(p, (old, old))
    save(load(LENET), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["net.json", fresh.name, other.name])


def test_re_saving_keeps_the_file_mode(tmp_path: Path) -> None:
    target = tmp_path / "net.json"
    save(load(LENET), target)
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    for mode in (0o644, 0o640, 0o664):
        target.chmod(mode)
        save(load(LENET), target)
        assert stat.S_IMODE(target.stat().st_mode) == mode


def test_saving_through_a_symlink_writes_the_target(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "net.json"
    save(Design("first"), real)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    save(load(LENET), link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert load(real).name == "LeNet-5"
    assert [p.name for p in (tmp_path / "real").iterdir()] == ["net.json"]


def test_save_errors_name_the_design_file(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "net.json"
    with pytest.raises(OSError) as info:
        save(load(LENET), target)
    assert info.value.filename == str(target)
    folder = tmp_path / "net.json"
    folder.mkdir()
    with pytest.raises(IsADirectoryError) as info:
        save(load(LENET), folder)
    assert info.value.filename == str(folder)


def test_one_atomic_write_helper() -> None:
    """Temporary files and renames happen in designer.io.files only (the exported
    train.py and the dataset download keep their own: standalone / folders)."""
    allowed_places = {"io/files.py", "export/train_template.py", "nn/data_download.py"}
    offenders = []
    for path in (ROOT / "designer").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT / "designer").as_posix()
        if rel not in allowed_places and ("mkstemp" in text or "os.replace(" in text):
            offenders.append(rel)
    assert offenders == []


# --- 8. small ones ---------------------------------------------------------------------

def test_a_closed_pipe_ends_the_output_quietly(tmp_path: Path) -> None:
    d = Design("long", InputSpec(3, 32, 32))
    for _ in range(300):
        d.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1})
    save(d, tmp_path / "long.json")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "designer.cli", "summary",
                             str(tmp_path / "long.json"), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"{"
    proc.stdout.close()   # like `| head -1`
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err and b"BrokenPipeError" not in err, err.decode()


def test_a_missing_batch_file_is_named(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    write_cifar(tmp_path / "data")
    (tmp_path / "data" / "cifar-10-batches-py" / "data_batch_3").unlink()
    assert main(["train", LENET, "--data-dir", str(tmp_path / "data"),
                 "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "data_batch_3 is missing" in err and "incomplete" in err, err


def _damage(folder: Path, kind: str) -> None:
    batch = folder / "cifar-10-batches-py" / "data_batch_2"
    if kind == "missing":
        batch.unlink()
    elif kind == "empty":
        batch.write_bytes(b"")
    elif kind == "truncated":
        batch.write_bytes(batch.read_bytes()[:500])
    elif kind == "not a dict":
        batch.write_bytes(pickle.dumps([1, 2, 3], protocol=2))
    elif kind == "wrong shape":
        batch.write_bytes(pickle.dumps({b"data": np.zeros((4, 10), np.uint8),
                                        b"labels": [0, 1, 2, 3]}, protocol=2))
    elif kind == "labels":
        batch.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8),
                                        b"labels": [0, 1, 2]}, protocol=2))


@pytest.mark.parametrize("kind", ["missing", "empty", "truncated", "not a dict",
                                  "wrong shape", "labels"])
def test_exported_train_py_names_the_damaged_file(kind: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    design = load(LENET)
    from designer.export.pytorch_code import generate_model_code
    stem = f"model_{kind.replace(' ', '_')}"
    import_code(tmp_path, generate_model_code(design), stem)  # writes the file
    monkeypatch.syspath_prepend(str(tmp_path))
    train = import_code(tmp_path, generate_train_script(design, model_module=stem))
    write_cifar(tmp_path / "data", per_batch=4)
    _damage(tmp_path / "data", kind)
    with pytest.raises(SystemExit) as info:
        train.load_cifar(str(tmp_path / "data"))
    message = str(info.value.code)
    assert message.startswith("error: ") and "data_batch_2" in message, message
    sys.modules.pop(stem, None)


def test_loads_of_the_same_setting_inside_a_string_is_untouched() -> None:
    """Only the design's own "training" object is checked."""
    data = json.loads(Path(LENET).read_text())
    data["design"]["notes"] = {"threads": 100_000}
    assert loads(json.dumps(data)).extra["notes"] == {"threads": 100_000}


def test_saving_onto_a_device_or_fifo_never_replaces_it(tmp_path: Path) -> None:
    targets = [Path("/dev/null")] if Path("/dev/null").exists() else []
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.json")
        targets.append(tmp_path / "pipe.json")
    for target in targets:
        kind = target.stat().st_mode
        with pytest.raises(files.NotRegularFileError):
            save(load(LENET), target)
        assert target.stat().st_mode == kind
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("number", ["1e999", "-1e400", "1e9995"])
def test_a_number_too_large_for_a_float_is_refused_at_load(number: str) -> None:
    # json reads it as infinity, which no save could write back (found by the fuzz
    # test in random order: "average_every": 1e9995 loaded, then its save failed)
    text = (ROOT / "samples" / "fast_cifar.json").read_text(encoding="utf-8")
    text = text.replace('"average_every": 1', f'"average_every": {number}', 1) \
        if '"average_every": 1' in text else text.replace('"lr": 1.5', f'"lr": {number}', 1)
    assert number in text
    with pytest.raises(DesignFileError, match="too large"):
        loads(text)
