"""cnn-designer export: files written, exit codes 0/1/2, clear messages."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT
from designer.cli import main
from designer.io import load
from designer.nn.build import build
from designer.nn.checkpoint import make_checkpoint, save_checkpoint

LENET = str(ROOT / "samples" / "lenet5.json")


def _broken(tmp_path: Path) -> Path:
    data = json.loads(Path(LENET).read_text())
    data["design"]["layers"][0]["params"]["kernel_size"] = 40
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    return path


def test_export_writes_model_and_train_script(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "code" / "lenet.py"
    out.parent.mkdir()
    assert main(["export", LENET, "-o", str(out), "--train-script"]) == 0
    text = capsys.readouterr().out
    assert f"wrote {out} (class LeNet5, 62,006 parameters)" in text
    assert "class LeNet5(nn.Module):" in out.read_text()
    train = (out.parent / "train.py").read_text()
    assert "from lenet import INPUT_SHAPE, LeNet5" in train
    compile(train, "train.py", "exec")


def test_output_gets_a_py_suffix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["export", LENET, "-o", "net", "--train-script"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.py", "train.py"]
    assert "from net import" in (tmp_path / "train.py").read_text()


def test_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(tmp_path / "nope.json"), "-o", str(tmp_path / "m.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["export", str(bad), "-o", str(tmp_path / "m.py")]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert not (tmp_path / "m.py").exists()


def test_design_with_errors_exits_1_and_lists_them(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.py"
    assert main(["export", str(_broken(tmp_path)), "-o", str(out), "--onnx",
                 str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert "the design has" in err and "layer 'conv1':" in err
    assert not out.exists() and not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("args, message", [
    ([], "nothing to export"),
    (["--train-script", "--onnx", "x.onnx"], "--train-script needs -o"),
    (["-o", "m.py", "--weights", "w.pt"], "w.pt: no such file"),  # checked before writing
    (["-o", "my-model.py", "--train-script"], "cannot import a module named 'my-model'"),
])
def test_bad_option_combinations_exit_1(args: list[str], message: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["export", LENET, *args]) == 1
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_is_a_clear_error(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", LENET, "-o", str(tmp_path / "missing" / "m.py")]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_onnx_and_torchscript_with_trained_weights(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnx")
    design = load(LENET)
    save_checkpoint(tmp_path / "w.pt", make_checkpoint(design, build(design).state_dict()))
    assert main(["export", LENET, "--weights", str(tmp_path / "w.pt"),
                 "--onnx", str(tmp_path / "m.onnx"),
                 "--torchscript", str(tmp_path / "m.pt")]) == 0
    out = capsys.readouterr().out
    assert "(ONNX, checked)" in out and "(TorchScript)" in out
    assert (tmp_path / "m.onnx").stat().st_size > 200_000  # holds the 62k weights


def test_weights_of_another_design_are_refused(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    other = load(ROOT / "samples" / "resnet_small.json")
    save_checkpoint(tmp_path / "w.pt", make_checkpoint(other, build(other).state_dict()))
    assert main(["export", LENET, "--weights", str(tmp_path / "w.pt"),
                 "--torchscript", str(tmp_path / "m.pt")]) == 1
    assert "does not match this design" in capsys.readouterr().err
    assert not (tmp_path / "m.pt").exists()


def test_train_script_for_a_non_cifar_design_warns(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(Path(LENET).read_text())
    data["design"]["input"] = {"channels": 1, "height": 32, "width": 32}
    path = tmp_path / "gray.json"
    path.write_text(json.dumps(data))
    assert main(["export", str(path), "-o", str(tmp_path / "model.py"), "--train-script"]) == 0
    assert "warning: CIFAR-10 images are 3x32x32 but the design takes 1x32x32" in \
        capsys.readouterr().err
