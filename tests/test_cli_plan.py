"""cnn-designer plan (DESIGN.md section 6), and train refusing a run the
plan says will not fit."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from designer.cli import main
from designer.core.planner import PlanSettings, plan
from designer.io import load

from conftest import ROOT

LENET = str(ROOT / "samples" / "lenet5.json")


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CNN_DESIGNER_STATE_DIR", str(tmp_path / "state"))


def test_json_has_the_contract_keys_and_matches_the_planner(capsys) -> None:
    code = main(["plan", LENET, "--batch-size", "64", "--optimizer", "adam", "--precision",
                 "fp32", "--device", "cpu", "--channels-last", "off", "--memory", "1GiB",
                 "--no-time", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    expected = plan(load(LENET), PlanSettings(batch_size=64, optimizer="adam", precision="fp32"))
    assert out["peak_bytes"] == expected.peak
    assert set(out["breakdown"]) >= {"parameters", "gradients", "optimizer", "activations",
                                     "transient"}
    assert sum(out["breakdown"].values()) == out["peak_bytes"]
    assert [row["id"] for row in out["layers"]][:3] == ["input", "conv1", "relu1"]
    assert all(set(row) >= {"id", "saved_bytes"} for row in out["layers"])
    assert out["max_batch_size"] == expected.max_batch_size(1 << 30)
    assert out["epoch_seconds"] is None   # --no-time


def test_table_and_time_estimate(capsys, monkeypatch) -> None:
    from designer.core.plan_time import Calibration
    import designer.nn.calibrate as calibrate
    fake = Calibration("test CPU", 1e10, 1e9, 1e10, 1e10, 1e-5)
    monkeypatch.setattr(calibrate, "measure", lambda *a, **k: fake)
    code = main(["plan", LENET, "--device", "cpu", "--memory", "8GB", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["epoch_seconds"] > 0 and out["epoch_seconds_range"][0] < out["epoch_seconds"]
    # the epoch is its steps plus the evaluation the trainer runs after it
    assert out["eval_seconds"] > 0
    assert out["epoch_seconds"] == pytest.approx(
        out["steps_per_epoch"] * out["step_seconds"] + out["eval_seconds"], rel=1e-3)
    code = main(["plan", LENET, "--device", "cpu", "--memory", "8GB"])
    text = capsys.readouterr().out
    assert code == 0
    assert "pool1" in text and "indices (int64)" in text and "peak" in text
    assert "largest batch that fits in 8.0 GB" in text and "per epoch" in text
    assert "evaluating" in text


def test_a_missing_gpu_is_planned_without_time(capsys) -> None:
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    code = main(["plan", LENET, "--device", "cuda", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["device"] == "cuda" and out["precision"] == "bf16"
    assert out["epoch_seconds"] is None


def test_exit_codes(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["plan", str(bad)]) == 2
    broken = json.loads(Path(LENET).read_text(encoding="utf-8"))
    broken["design"]["layers"][0]["params"]["kernel_size"] = 99
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    assert main(["plan", str(path), "--no-time"]) == 1
    assert "error" in capsys.readouterr().err
    assert main(["plan", LENET, "--memory", "lots", "--no-time"]) == 2
    assert "memory size" in capsys.readouterr().err


def test_train_refuses_a_run_that_will_not_fit(tmp_path: Path, capsys, monkeypatch) -> None:
    import designer.nn.memory_check as memory_check
    monkeypatch.setattr(memory_check, "free_memory", lambda device: 40_000_000)
    code = main(["train", LENET, "--dataset", "synthetic", "--limit", "256", "--epochs", "1",
                 "--batch-size", "4096", "--device", "cpu", "--out", str(tmp_path / "run"),
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "at batch 4096" in err and "use a batch size of at most" in err
    best = int(err.split("at most ")[1].split()[0])
    assert 1 <= best < 4096
    assert not (tmp_path / "run").exists()
