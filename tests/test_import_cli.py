"""cnn-designer import: exit codes, the import report, the tutorials' SimpleCNN
bug, and import -> export --weights reproducing the module."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import import_zoo as zoo
from designer.cli import main
from designer.core.analysis import analyse
from designer.io import load
from designer.nn.checkpoint import load_checkpoint

ZOO = Path(zoo.__file__)


def _line(text: str) -> int:
    """The line of the zoo file that holds `text` (so tests follow edits)."""
    return next(n for n, line in enumerate(ZOO.read_text().splitlines(), 1) if text in line)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["import", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_simple_cnn_bug_is_reported_at_the_view(tmp_path, capsys) -> None:
    out = tmp_path / "simple.json"
    code, _, err = run(capsys, f"{ZOO}:SimpleCNN", "-o", str(out), "--input", "3x32x32")
    assert code == 1
    assert f"import_zoo.py:{_line('x = x.view(-1, 32 * 16 * 16)')}" in err
    assert "view(-1, 8192)" in err
    assert "32x8x8 = 2,048 values per image" in err
    assert "nn.Linear(2048" in err
    # the design is written as the code declares it: fc1 carries the error and its fix
    design = load(out)
    assert design.layer("fc1").params["in_features"] == 8192
    info = analyse(design).layers["fc1"]
    assert info.errors and "2048" in info.errors[0].message
    assert info.errors[0].fix is not None and info.errors[0].fix.params == {"in_features": None}
    assert design.layer("view").type == "Flatten"


def test_import_then_export_reproduces_the_module(tmp_path, capsys) -> None:
    design_path, weights = tmp_path / "cnn.json", tmp_path / "cnn.pt"
    code, out, _ = run(capsys, f"{ZOO}:simple_cnn_factory", "-o", str(design_path),
                       "--input", "3x32x32", "--weights", str(weights), "--report")
    assert code == 0
    n_params = sum(p.numel() for p in zoo.SimpleCNNFixed().parameters())
    assert "import of" in out and f"{n_params:,} parameters" in out  # --report on success
    data = json.loads(design_path.read_text())
    assert data["schema_version"] >= 2
    assert [lay["id"] for lay in data["design"]["layers"]][:2] == ["conv1", "relu"]
    assert main(["export", str(design_path), "-o", str(tmp_path / "model.py"),
                 "--weights", str(weights)]) == 0
    assert "model_weights.pt" in capsys.readouterr().out
    namespace: dict = {"__name__": "exported"}
    exec(compile((tmp_path / "model.py").read_text(), "model.py", "exec"), namespace)
    cls = next(v for v in namespace.values() if isinstance(v, type)
               and issubclass(v, torch.nn.Module) and v.__module__ == "exported")
    rebuilt = cls().eval()
    rebuilt.load_state_dict(torch.load(tmp_path / "model_weights.pt", weights_only=True))
    original = zoo.simple_cnn_factory().eval()  # seeded: the module the import ran
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        want = original(x)
        assert (rebuilt(x) - want).abs().max().item() <= 1e-5 * max(1.0, want.abs().max().item())
    assert sum(p.numel() for p in rebuilt.parameters()) == n_params


@pytest.mark.parametrize("name, what, line_text", [
    ("ConvLSTM", "nn.LSTM module 'rnn'", "out, _ = self.rnn(x)"),
    ("DataDependent", "data-dependent control flow", "if x.mean() > 0:"),
])
def test_unsupported_modules_exit_1_with_a_report(tmp_path, capsys, name, what,
                                                  line_text) -> None:
    out = tmp_path / "x.json"
    code, _, err = run(capsys, f"{ZOO}:{name}", "-o", str(out), "--input", "3x16x16")
    assert code == 1
    assert what in err
    assert f"import_zoo.py:{_line(line_text)}" in err
    assert "what to do:" in err
    assert not out.exists()


def test_unsupported_function_is_named(tmp_path, capsys) -> None:
    src = tmp_path / "sliced.py"
    src.write_text("import torch\nfrom torch import nn\n\n"
                   "class Sliced(nn.Module):\n"
                   "    def __init__(self):\n"
                   "        super().__init__()\n"
                   "        self.conv = nn.Conv2d(3, 8, 3)\n\n"
                   "    def forward(self, x):\n"
                   "        x = self.conv(x)\n"
                   "        return torch.roll(x, 1, 2)\n")
    code, _, err = run(capsys, f"{src}:Sliced", "-o", str(tmp_path / "s.json"),
                       "--input", "3x8x8")
    assert code == 1
    assert "torch.roll" in err and "sliced.py:11" in err


@pytest.mark.parametrize("source, message", [
    ("{tmp}/missing.py:Net", "no such file"),
    ("{zoo}:NoSuchNet", "defines no 'NoSuchNet'"),
    ("{zoo}:NeedsArguments", "needs arguments"),
    ("{zoo}", "path/file.py:NAME"),
    ("{tmp}/broken.py:Net", "syntax error"),
])
def test_missing_or_unreadable_source_exits_2(tmp_path, capsys, source, message) -> None:
    (tmp_path / "broken.py").write_text("class Net(:\n")
    code, _, err = run(capsys, source.format(tmp=tmp_path, zoo=ZOO), "-o",
                       str(tmp_path / "x.json"))
    assert code == 2
    assert message in err


def test_bad_input_shape_exits_2(tmp_path, capsys) -> None:
    code, _, err = run(capsys, f"{ZOO}:SimpleCNN", "-o", str(tmp_path / "x.json"),
                       "--input", "3xbig")
    assert code == 2 and "CxHxW" in err


def test_summary_of_an_imported_resnet18_shows_the_published_figures(tmp_path, capsys) -> None:
    out = tmp_path / "resnet18.json"
    code, _, _ = run(capsys, f"{ZOO}:ResNet18", "-o", str(out))  # --input 3x224x224
    assert code == 0
    assert main(["summary", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["input_shape"] == [3, 224, 224] and summary["output_shape"] == [1000]
    # torchvision resnet18: 11,689,512 parameters, 1.814 GMACs ("_ops")
    assert summary["total_params"] == 11_689_512
    assert round(summary["total_macs"] / 1e9, 3) == 1.814
