"""`cnn-designer summary FILE [--json]` (DESIGN.md §6): table, JSON, exit codes.

Set UPDATE_GOLDEN=1 to rewrite tests/golden/summary/*.txt after an intended change.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, SAMPLES
from designer.cli import main

GOLDEN = ROOT / "tests" / "golden" / "summary"
TOP_KEYS = {"name", "input_shape", "output_shape", "total_params", "trainable_params",
            "total_macs", "errors", "layers"}
LAYER_KEYS = {"id", "type", "output_shape", "params", "macs", "receptive_field", "errors",
              "warnings"}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "designer", "summary", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["summary", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def write(path: Path, design: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"format": "cnn-designer", "schema_version": 1,
                                "design": design}))
    return path


def test_lenet_table_matches_the_golden_file() -> None:
    result = cli("samples/lenet5.json")
    assert result.returncode == 0, result.stderr
    golden = GOLDEN / "lenet5.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")
    assert result.stderr == ""


def test_json_has_exactly_the_contract_keys() -> None:
    result = cli("samples/lenet5.json", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == TOP_KEYS
    assert data["input_shape"] == [3, 32, 32] and data["output_shape"] == [10]
    assert data["total_params"] == data["trainable_params"] == 62006
    assert data["total_macs"] == sum(lay["macs"] for lay in data["layers"]) and data["errors"] == []
    for lay in data["layers"]:
        assert set(lay) == LAYER_KEYS
        rf = lay["receptive_field"]
        assert set(rf) == {"size", "jump", "start"} and all(len(v) == 2 for v in rf.values())
    first = data["layers"][0]
    assert first == {"id": "conv1", "type": "Conv2d", "output_shape": [6, 28, 28],
                     "params": 456, "macs": 6 * 28 * 28 * 3 * 25,
                     "receptive_field": {"size": [5, 5], "jump": [1, 1], "start": [2, 2]},
                     "errors": [], "warnings": []}
    assert data["layers"][6]["output_shape"] == [400]
    assert data["layers"][5]["receptive_field"] == {"size": [16, 16], "jump": [4, 4],
                                                    "start": [7.5, 7.5]}
    fc = data["layers"][7]  # sees the whole 32×32 input
    assert fc["receptive_field"] == {"size": [32, 32], "jump": [32, 32], "start": [15.5, 15.5]}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_every_sample_is_valid(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, str(sample), "--json")
    data = json.loads(out)
    assert code == 0 and data["errors"] == [] and data["output_shape"] is not None


def test_design_errors_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "bad.json", {"input": {"channels": 3, "height": 4, "width": 4},
                                         "layers": [{"id": "c", "type": "Conv2d",
                                                     "params": {"out_channels": 2,
                                                                "kernel_size": 5}},
                                                    {"id": "r", "type": "ReLU"}]})
    code, out, _ = run_main(capsys, str(path))
    assert code == 1
    assert "1 error(s):" in out and "c: kernel 5 is larger than the 4×4 input" in out
    assert "[fix: set padding = 1]" in out
    code, out, _ = run_main(capsys, str(path), "--json")
    data = json.loads(out)
    assert code == 1 and data["output_shape"] is None
    assert data["errors"] == ["c: kernel 5 is larger than the 4×4 input: use padding 1 or a "
                              "smaller kernel"]
    assert data["layers"][1]["output_shape"] is None
    assert data["layers"][1]["receptive_field"] is None


def test_unreadable_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.json").write_text('{"format": ')
    for name in ("broken.json", "missing.json"):
        code, out, err = run_main(capsys, str(tmp_path / name))
        assert code == 2 and out == ""
        assert err.startswith(f"error: {tmp_path / name}: ") and "Traceback" not in err
    result = cli(str(tmp_path / "broken.json"), "--json")
    assert result.returncode == 2 and result.stdout == "" and "not valid JSON" in result.stderr


def test_consoles_without_unicode_get_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path / "uni.json", {"name": "Réseau ✓", "layers": [
        {"id": "couche_é", "type": "ReLU"}]})
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    table = subprocess.run([sys.executable, "-m", "designer", "summary", str(path)], cwd=ROOT,
                           capture_output=True, text=True, timeout=60, env=env)
    assert table.returncode == 0 and "Traceback" not in table.stderr
    assert "R?seau ?" in table.stdout and "3?32?32" in table.stdout
    as_json = subprocess.run([sys.executable, "-m", "designer", "summary", str(path), "--json"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert as_json.returncode == 0
    data = json.loads(as_json.stdout)
    assert data["name"] == "Réseau ✓" and data["layers"][0]["id"] == "couche_é"
