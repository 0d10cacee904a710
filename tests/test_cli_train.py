"""cnn-designer train: exit codes, output files, progress (tiny runs, in-process)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from designer.cli import main
from designer.commands.train import ProgressBar
from designer.io import load, save
from designer.nn.checkpoint import load_checkpoint

from conftest import ROOT
from test_data_helpers import write_cifar

LENET = str(ROOT / "samples" / "lenet5.json")
QUICK = ["--epochs", "2", "--batch-size", "32", "--limit", "128", "--threads", "1",
         "--device", "cpu"]


def test_synthetic_run_writes_metrics_and_checkpoints(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", LENET, "--dataset", "synthetic", "--out", str(out), *QUICK]) == 0
    err = capsys.readouterr().err
    assert "Synthetic (not real data)" in err and "epoch 2/2" in err and "test accuracy" in err
    assert {p.name for p in out.iterdir()} >= {"metrics.csv", "metrics.json", "best.pt", "last.pt"}
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["config"]["epochs"] == 2 and summary["config"]["train_limit"] == 128
    assert len(summary["history"]) == 2
    assert load_checkpoint(out / "last.pt")["epoch"] == 2


def test_resume_continues_from_the_checkpoint(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", LENET, "--dataset", "synthetic", "--out", str(out), *QUICK]) == 0
    args = [a if a != "2" else "3" for a in QUICK]
    assert main(["train", LENET, "--dataset", "synthetic", "--out", str(out), *args,
                 "--resume", str(out / "last.pt")]) == 0
    assert "resuming after epoch 2" in capsys.readouterr().err
    assert load_checkpoint(out / "last.pt")["epoch"] == 3


def test_tiny_cifar_folder(tmp_path: Path, capsys) -> None:
    write_cifar(tmp_path / "data", per_batch=16, test=10)
    assert main(["train", LENET, "--dataset", "cifar10", "--data-dir", str(tmp_path / "data"),
                 "--out", str(tmp_path / "run"), "--epochs", "1", "--batch-size", "16",
                 "--threads", "1"]) == 0
    assert "CIFAR-10: 80 training / 10 test images" in capsys.readouterr().err


def test_missing_dataset_exits_2(tmp_path: Path, capsys) -> None:
    code = main(["train", LENET, "--data-dir", str(tmp_path / "none"), "--out",
                 str(tmp_path / "run"), *QUICK])
    assert code == 2
    err = capsys.readouterr().err
    assert "CIFAR-10 is not in" in err and "--download" in err and "Traceback" not in err


def test_corrupt_dataset_exits_2(tmp_path: Path, capsys) -> None:
    folder = write_cifar(tmp_path / "data")
    (folder / "test_batch").write_bytes(b"garbage")
    code = main(["train", LENET, "--data-dir", str(tmp_path / "data"), "--out",
                 str(tmp_path / "run"), *QUICK])
    assert code == 2 and "test_batch is corrupt" in capsys.readouterr().err


def test_unreadable_design_exits_2(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    assert main(["train", str(bad), "--dataset", "synthetic"]) == 2
    assert "error:" in capsys.readouterr().err


def test_design_with_errors_and_diverging_runs_exit_1(tmp_path: Path, capsys) -> None:
    design = load(LENET)
    design.set_param("conv1", "kernel_size", 40)
    path = tmp_path / "broken.json"
    save(design, path)
    assert main(["train", str(path), "--dataset", "synthetic", "--out", str(tmp_path / "r"),
                 *QUICK]) == 1
    assert "conv1" in capsys.readouterr().err
    assert main(["train", LENET, "--dataset", "synthetic", "--lr", "1e6", "--schedule",
                 "constant", "--out", str(tmp_path / "r2"), *QUICK]) == 1
    assert "learning rate" in capsys.readouterr().err


def test_training_settings_in_the_design_file_are_used(tmp_path: Path, capsys) -> None:
    design = load(LENET)
    design.training = {"optimizer": "adam", "lr": 0.002, "epochs": 1, "batch_size": 64}
    path = tmp_path / "with_settings.json"
    save(design, path)
    out = tmp_path / "run"
    assert main(["train", str(path), "--dataset", "synthetic", "--limit", "128",
                 "--threads", "1", "--out", str(out)]) == 0
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert (config["optimizer"], config["lr"], config["epochs"], config["batch_size"]) == \
        ("adam", 0.002, 1, 64)


@pytest.mark.parametrize("tty", [True, False])
def test_progress_bar_is_one_rewritten_line_on_a_terminal(tty: bool) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty
    stream = Stream()
    bar = ProgressBar(stream, "download")
    bar.bytes(50_000_000, 100_000_000)
    bar.show(1.0, "done", force=True)
    bar.end()
    text = stream.getvalue()
    if tty:
        assert text.count("\r") == 2 and text.endswith("\n") and "50.0%" in text
        assert "50.0/100.0 MB" in text and "100.0%" in text
    else:
        assert text == ""


def test_cli_options_override_and_use_every_core() -> None:
    import argparse
    from designer.commands import train as train_cmd
    from designer.nn.threads import cpu_count
    parser = argparse.ArgumentParser()
    train_cmd.add_arguments(parser)
    args = parser.parse_args(["x.json", "--lr", "0.3", "--limit", "500", "--download"])
    config = train_cmd.make_config(args, {"lr": 0.01, "epochs": 7, "threads": 1})
    assert (config.lr, config.epochs, config.train_limit, config.test_limit) == (0.3, 7, 500, 100)
    assert config.download and config.threads == 1  # the file's choice is kept
    config = train_cmd.make_config(parser.parse_args(["x.json"]), None)
    assert config.threads == cpu_count()


def test_download_option_fetches_then_trains(tmp_path: Path, capsys, monkeypatch) -> None:
    from designer.nn import data
    from test_data_download import Server
    from test_data_helpers import cifar_archive
    payload, md5 = cifar_archive(tmp_path / "make")
    server = Server(payload)
    try:
        monkeypatch.setattr(data, "OFFICIAL_URL", server.url)
        monkeypatch.setattr(data, "OFFICIAL_MD5", "f" * 32)
        args = ["train", LENET, "--data-dir", str(tmp_path / "d"), "--download",
                "--out", str(tmp_path / "run"), "--epochs", "1", "--batch-size", "8"]
        assert main(args) == 2  # checksum mismatch: a data problem
        assert "corrupt (md5" in capsys.readouterr().err
        monkeypatch.setattr(data, "OFFICIAL_MD5", md5)
        assert main(args) == 0
    finally:
        server.close()
    err = capsys.readouterr().err
    assert "downloading CIFAR-10" in err and "CIFAR-10: 40 training" in err


def test_recipe_and_technique_flags() -> None:
    import argparse
    from designer.commands import train as train_cmd
    from designer.core.recipes import fast
    parser = argparse.ArgumentParser()
    train_cmd.add_arguments(parser)
    args = parser.parse_args(["x.json", "--recipe", "fast", "--tta", "mirror",
                              "--no-whiten-init", "--average-decay", "0.5"])
    config = train_cmd.make_config(args, {"epochs": 3, "batch_size": 64, "label_smoothing": 0})
    want = fast()
    assert config.batch_size == want["batch_size"] and config.label_smoothing == 0.2
    assert config.tta == "mirror" and not config.whiten_init and config.average_decay == 0.5
    assert config.dirac_init and config.averaging == "lookahead"
    # every technique has a flag that reaches its setting
    args = parser.parse_args(["x.json", "--crop-pad", "3", "--crop-fill", "reflect",
                              "--flip-alternate", "--averaging", "ema", "--average-every", "7",
                              "--average-start-epoch", "1.5", "--norm-bias-lr-scale", "8",
                              "--freeze-norm-weights", "--bn-momentum", "0.3", "--decay-all",
                              "--decoupled-decay", "--dirac-init", "--whiten-init",
                              "--whiten-bias-epochs", "2", "--logit-scale", "0.5",
                              "--schedule", "triangular", "--lr-start-factor", "0.1",
                              "--lr-end-factor", "0.05", "--momentum", "0.8",
                              "--warmup-epochs", "0.5"])
    c = train_cmd.make_config(args, None)
    assert (c.crop_pad, c.crop_fill, c.flip_alternate, c.averaging, c.average_every,
            c.average_start_epoch, c.norm_bias_lr_scale, c.freeze_norm_weights, c.bn_momentum,
            c.decay_all, c.decoupled_decay, c.dirac_init, c.whiten_init, c.whiten_bias_epochs,
            c.logit_scale, c.schedule, c.lr_start_factor, c.lr_end_factor, c.momentum,
            c.warmup_epochs) == (3, "reflect", True, "ema", 7, 1.5, 8.0, True, 0.3, True, True,
                                 True, True, 2.0, 0.5, "triangular", 0.1, 0.05, 0.8, 0.5)


@pytest.mark.parametrize("flag,value", [("--average-decay", "1.5"), ("--crop-pad", "40"),
                                        ("--bn-momentum", "0"), ("--logit-scale", "-1")])
def test_out_of_range_technique_flags_exit_2_naming_the_flag(tmp_path: Path, capsys, flag: str,
                                                             value: str) -> None:
    assert main(["train", LENET, "--dataset", "synthetic", "--out", str(tmp_path), *QUICK,
                 flag, value]) == 2
    assert flag in capsys.readouterr().err


def test_fast_recipe_trains_from_the_cli(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    d = load(ROOT / "samples" / "fast_cifar_cpu.json")
    d.training = {}
    save(d, tmp_path / "d.json")
    assert main(["train", str(tmp_path / "d.json"), "--dataset", "synthetic", "--recipe",
                 "fast-cpu", "--out", str(out), "--epochs", "1", "--batch-size", "32",
                 "--limit", "64", "--threads", "1", "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "patch whitening" in err
    ckpt = load_checkpoint(out / "last.pt")
    assert ckpt["training"]["whiten_init"] and ckpt["training"]["tta"] == "mirror_translate"
