"""The training engine on tiny synthetic data and tiny models (CPU)."""
from __future__ import annotations

import csv
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from designer.core.model import Design, InputSpec
from designer.core.training_config import TrainConfig
from designer.io import load
from designer.nn import trainer as trainer_module
from designer.nn.checkpoint import load_checkpoint
from designer.nn.events import EpochEnd, Failed, Finished, Paused, Started, Step
from designer.nn.trainer import Trainer

from conftest import ROOT
from test_data_helpers import write_cifar

LENET = ROOT / "samples" / "lenet5.json"


def tiny(**kw: Any) -> TrainConfig:
    base: dict[str, Any] = dict(dataset="synthetic", epochs=2, batch_size=32, train_limit=256,
                                test_limit=64, lr=0.02, device="cpu", threads=1)
    base.update(kw)
    return TrainConfig(**base)


def small_net(channels: int = 3, classes: int = 10) -> Design:
    d = Design("tiny", InputSpec(channels, 32, 32))
    d.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 3, "stride": 2})
    d.add_layer("BatchNorm2d")
    d.add_layer("ReLU")
    d.add_layer("AdaptiveAvgPool2d", {"output_size": 4})
    d.add_layer("Flatten")
    d.add_layer("Linear", {"out_features": classes})
    return d


class Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []
        self.trainer: Trainer | None = None

    def __call__(self, event: Any) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def failed(self) -> str:
        fails = self.of(Failed)
        assert len(fails) == 1, self.events[-3:]
        return fails[0].message


def train(design: Design, config: TrainConfig, rec: Recorder | None = None,
          **kw: Any) -> tuple[Trainer, Recorder]:
    rec = rec or Recorder()
    t = Trainer(design, config, rec, **kw)
    rec.trainer = t
    t.run()
    return t, rec


def test_events_in_order_and_the_model_learns() -> None:
    t, rec = train(load(LENET), tiny(epochs=4, train_limit=1024, test_limit=256, lr=0.05,
                                     batch_size=64))
    kinds = [type(e).__name__ for e in rec.events]
    assert kinds[0] == "Started" and kinds[-1] == "Finished" and "Failed" not in kinds
    started = rec.of(Started)[0]
    assert started.steps_per_epoch == 16 and started.train_size == 1024
    assert started.test_size == 256 and "synthetic" in started.dataset_label.lower()
    steps = rec.of(Step)
    assert len(steps) == 4 * 16
    assert [s.global_step for s in steps] == list(range(1, 65))
    assert all(s.images_per_s > 0 and s.eta_s >= 0 for s in steps)
    ends = rec.of(EpochEnd)
    assert [e.epoch for e in ends] == [1, 2, 3, 4]
    fin = rec.of(Finished)[0]
    assert not fin.stopped and fin.metrics["epochs_done"] == 4
    assert fin.metrics["test_acc"] == ends[-1].test_acc > 0.3  # well above chance (0.1)
    assert sum(map(sum, fin.confusion)) == 256 and len(fin.per_class_acc) == 10
    diag = sum(fin.confusion[i][i] for i in range(10))
    assert diag / 256 == pytest.approx(fin.metrics["test_acc"])
    assert t.model is not None and set(t.state_dict()) == set(t.model.state_dict())
    assert all(v.device.type == "cpu" for v in t.state_dict().values())


def test_the_design_is_copied() -> None:
    design = small_net()
    t = Trainer(design, tiny(epochs=1), Recorder())
    design.set_param(design.layers[0].id, "out_channels", 8)
    t.run()
    assert t.model is not None and t.model.state_dict()[
        next(iter(t.model.state_dict()))].shape[0] == 4


def test_same_seed_same_result_different_seed_differs() -> None:
    a, _ = train(small_net(), tiny(seed=1))
    b, _ = train(small_net(), tiny(seed=1))
    c, _ = train(small_net(), tiny(seed=2))
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_stop_takes_effect_within_one_step(tmp_path: Path) -> None:
    rec = Recorder()

    def cb(event: Any) -> None:
        rec(event)
        if isinstance(event, Step) and event.global_step == 3:
            rec.trainer.stop()  # type: ignore[union-attr]
    t = Trainer(small_net(), tiny(epochs=5, out_dir=str(tmp_path)), cb)
    rec.trainer = t
    t.run()
    assert len(rec.of(Step)) == 3 and not rec.of(EpochEnd)
    fin = rec.of(Finished)[0]
    assert fin.stopped and fin.metrics["steps_done"] == 3 and fin.metrics["epochs_done"] == 0
    assert sum(map(sum, fin.confusion)) == 64 and fin.metrics["evaluated"] == "stopped model"
    assert (tmp_path / "last.pt").is_file()  # the stopped model is kept
    assert load_checkpoint(tmp_path / "last.pt")["global_step"] == 3


def test_stop_from_another_thread_while_paused() -> None:
    rec = Recorder()
    t = Trainer(small_net(), tiny(epochs=50), rec)
    t.pause()
    worker = threading.Thread(target=t.run, daemon=True)  # a stuck one cannot block exit
    worker.start()
    deadline = time.time() + 20
    while not rec.of(Paused) and time.time() < deadline:
        time.sleep(0.01)
    t.stop()
    worker.join(10)
    assert not worker.is_alive()
    assert rec.of(Paused)[0].paused and not rec.of(Step)
    assert rec.of(Finished)[0].stopped


def _wait_for(condition: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.001)


def test_pause_and_resume_from_another_thread() -> None:
    """The checks run on the test's thread with deadlines (an assert in a helper
    thread would be lost, and a wait without a deadline hangs)."""
    rec = Recorder()
    t = Trainer(small_net(), tiny(epochs=2), rec)
    worker = threading.Thread(target=t.run, daemon=True)
    worker.start()
    try:
        _wait_for(lambda: rec.of(Step), "the first step")
        t.pause()
        _wait_for(lambda: rec.of(Paused), "the trainer to report the pause")
        count = len(rec.of(Step))
        time.sleep(0.3)
        assert len(rec.of(Step)) == count  # no step while paused
        t.resume()
        worker.join(60)
        assert not worker.is_alive(), "training did not finish after resume"
    finally:
        if worker.is_alive():
            t.stop(now=True)
            worker.join(10)
    paused = [e.paused for e in rec.of(Paused)]
    assert paused == [True, False]
    assert len(rec.of(Step)) == 2 * 8 and not rec.of(Finished)[0].stopped
    # the pause is not counted as training time
    assert rec.of(Finished)[0].metrics["seconds"] < sum(e.seconds for e in rec.of(EpochEnd)) + 5


def test_huge_learning_rate_is_reported_as_nan() -> None:
    t, rec = train(load(LENET), tiny(lr=1e6, schedule="constant", warmup_epochs=0, epochs=3))
    msg = rec.failed()
    assert ("NaN" in msg or "infinite" in msg) and "learning rate" in msg
    assert not rec.of(Finished)


def test_design_with_errors_fails_with_the_layer_named() -> None:
    d = small_net()
    d.set_param(d.layers[0].id, "kernel_size", 99)
    _, rec = train(d, tiny())
    assert "error" in rec.failed() and d.layers[0].id in rec.failed()
    assert rec.of(Failed)[0].kind == "design"


def test_input_and_output_must_fit_the_dataset() -> None:
    _, rec = train(small_net(channels=1), tiny())
    assert "3x32x32" in rec.failed() and "input" in rec.failed()
    _, rec = train(small_net(classes=7), tiny())
    assert "10 classes" in rec.failed() and "Linear" in rec.failed()


def test_missing_dataset_is_a_data_failure(tmp_path: Path) -> None:
    _, rec = train(small_net(), tiny(dataset="cifar10", data_dir=str(tmp_path)))
    assert "CIFAR-10 is not in" in rec.failed() and rec.of(Failed)[0].kind == "data"


def test_bad_settings_fail_plainly() -> None:
    from designer.core.training_config import allowed
    for name, value in [("optimizer", "lbfgs"), ("schedule", "zigzag"), ("device", "tpu"),
                        ("epochs", 0), ("threads", 100_000), ("seed", 10 ** 20)]:
        _, rec = train(small_net(), tiny(**{name: value}))
        assert f"the training setting {name} must be {allowed(name)}" in rec.failed()
    if not torch.cuda.is_available():
        _, rec = train(small_net(), tiny(device="cuda"))
        assert "no CUDA GPU" in rec.failed()


def test_exception_in_forward_becomes_failed(monkeypatch) -> None:
    real_build = trainer_module.build

    def broken_build(*a: Any, **kw: Any) -> torch.nn.Module:
        module = real_build(*a, **kw)

        def boom(x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("shapes cannot be multiplied (32x9 and 8x10)")
        module.forward = boom  # type: ignore[method-assign]
        return module
    monkeypatch.setattr(trainer_module, "build", broken_build)
    _, rec = train(small_net(), tiny())
    assert rec.failed().startswith("the design failed while training: shapes cannot")


def test_out_of_memory_message(monkeypatch) -> None:
    monkeypatch.setattr(trainer_module.setup, "make_optimizer",
                        lambda *a: (_ for _ in ()).throw(MemoryError()))
    _, rec = train(small_net(), tiny(batch_size=16))
    assert "out of memory" in rec.failed() and "batch size 16" in rec.failed()


def test_optimizers_schedules_and_options_run() -> None:
    for kw in [dict(optimizer="adam", lr=0.003, schedule="cosine"),
               dict(optimizer="adamw", lr=0.003, schedule="step", label_smoothing=0.1),
               dict(optimizer="sgd", nesterov=False, schedule="constant", cutout=8,
                    precision="bf16", channels_last="on")]:
        _, rec = train(small_net(), tiny(epochs=1, **kw))
        assert rec.of(Finished), (kw, rec.events[-1])


def test_validation_split_and_output_files(tmp_path: Path) -> None:
    _, rec = train(small_net(), tiny(epochs=3, val_split=64, out_dir=str(tmp_path)))
    started = rec.of(Started)[0]
    assert started.train_size == 256 - 64
    ends = rec.of(EpochEnd)
    assert all(e.val_acc is not None and e.test_acc is not None for e in ends)
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert float(rows[-1]["val_acc"]) == pytest.approx(ends[-1].val_acc)
    summary = json.loads((tmp_path / "metrics.json").read_text())
    assert len(summary["history"]) == 3 and summary["final"]["epochs_done"] == 3
    assert summary["dataset"] == started.dataset_label
    best = load_checkpoint(tmp_path / "best.pt")
    best_epoch = max(ends, key=lambda e: e.val_acc)  # first best wins ties
    assert best["epoch"] == min(e.epoch for e in ends if e.val_acc == best_epoch.val_acc)
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 3


def test_resume_continues_exactly(tmp_path: Path) -> None:
    cfg = dict(epochs=4, lr=0.05)
    full, _ = train(small_net(), tiny(**cfg))
    # two epochs, then resume to four: the same weights as four epochs at once
    rec = Recorder()

    def stop_after_two(event: Any) -> None:
        rec(event)
        if isinstance(event, EpochEnd) and event.epoch == 2:
            rec.trainer.stop()  # type: ignore[union-attr]
    part = Trainer(small_net(), tiny(**cfg, out_dir=str(tmp_path / "a")), stop_after_two)
    rec.trainer = part
    part.run()
    ckpt = load_checkpoint(tmp_path / "a" / "last.pt")
    assert ckpt["epoch"] == 2 and "optimizer" in ckpt
    resumed, rec2 = train(small_net(), tiny(**cfg, out_dir=str(tmp_path / "b")),
                          resume_from=tmp_path / "a" / "last.pt")
    assert rec2.of(Started)[0].start_epoch == 2
    assert [e.epoch for e in rec2.of(EpochEnd)] == [3, 4]
    a, b = full.state_dict(), resumed.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a)
    summary = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert [h["epoch"] for h in summary["history"]] == [1, 2, 3, 4]


def test_resume_from_a_checkpoint_of_another_design(tmp_path: Path) -> None:
    train(small_net(), tiny(epochs=1, out_dir=str(tmp_path)))
    _, rec = train(load(LENET), tiny(), resume_from=tmp_path / "last.pt")
    assert "does not match this design" in rec.failed()
    _, rec = train(small_net(), tiny(epochs=1), resume_from=tmp_path / "last.pt")
    assert "already trained 1 epochs" in rec.failed()


def test_tiny_cifar_folder_and_predict(tmp_path: Path) -> None:
    write_cifar(tmp_path, per_batch=16, test=12)
    t, rec = train(small_net(), tiny(dataset="cifar10", data_dir=str(tmp_path), epochs=1,
                                     batch_size=16, train_limit=None, test_limit=None))
    assert rec.of(Started)[0].dataset_label == "CIFAR-10"
    assert rec.of(Finished)[0].class_names[0] == "airplane"
    assert t.data is not None and t.data.test_x.dtype == torch.uint8
    logits = t.predict(t.data.test_x[:5])
    assert logits.shape == (5, 10) and logits.dtype == torch.float32
    assert t.model is not None and t.model.training  # predict leaves the mode alone
    ckpt = t.checkpoint()
    assert ckpt["format"] == "cnn-designer-checkpoint" and ckpt["epoch"] == 1


def test_run_never_raises_even_with_a_broken_callback() -> None:
    seen: list[Any] = []

    def broken(event: Any) -> None:
        seen.append(event)
        raise ValueError("callback bug")
    t = Trainer(small_net(), tiny(), broken)
    t.run()  # must return normally
    assert isinstance(seen[-1], Failed) and "callback bug" in seen[-1].message
    assert t.failure is seen[-1]


def test_thread_choice_leaves_a_core_and_is_restored(monkeypatch) -> None:
    from designer.nn import threads
    monkeypatch.setattr(threads, "cpu_count", lambda: 8)
    assert threads.training_threads(None) == 7 and threads.training_threads(3) == 3
    monkeypatch.setattr(threads, "cpu_count", lambda: 1)
    assert threads.training_threads(None) == 1
    assert threads.prefer_passive_wait() is False  # torch is already imported here
    before = torch.get_num_threads()
    _, rec = train(small_net(), tiny(epochs=1, threads=before + 1))
    assert rec.of(Started)[0].threads == before + 1
    assert torch.get_num_threads() == before


def test_learning_rate_schedules() -> None:
    from designer.nn.train_setup import lr_factor
    total, warm = 100, 10
    one = [lr_factor(i, total, warm, "onecycle") for i in range(total)]
    assert one[0] == pytest.approx(0.04) and max(one) == one[warm] == 1.0
    assert all(a >= b for a, b in zip(one[warm:], one[warm + 1:])) and one[-1] < 0.02
    cos = [lr_factor(i, total, warm, "cosine") for i in range(total)]
    assert cos[:warm] == sorted(cos[:warm]) and cos[warm] == 1.0 and cos[-1] < 0.01
    step = [lr_factor(i, total, 0, "step") for i in range(total)]
    assert step[49] == 1.0 and step[55] == pytest.approx(0.1) and step[80] == pytest.approx(0.01)
    assert [lr_factor(i, total, warm, "constant") for i in (0, 9, 10, 99)] == [0.1, 1.0, 1.0, 1.0]
    # a warm-up longer than the run is capped at half of it: the rate still anneals
    capped = [lr_factor(i, 10, 50, "onecycle") for i in range(10)]
    assert max(capped) == capped[5] == 1.0 and capped[-1] < 0.3


def test_step_events_report_the_scheduled_rate() -> None:
    from designer.nn.train_setup import lr_factor
    _, rec = train(small_net(), tiny(epochs=2, lr=0.1, schedule="cosine", warmup_epochs=0.5))
    steps = rec.of(Step)
    assert [s.lr for s in steps] == pytest.approx(
        [0.1 * lr_factor(i, len(steps), 4, "cosine") for i in range(len(steps))])


def test_resume_after_a_mid_epoch_stop_repeats_that_epoch(tmp_path: Path) -> None:
    rec = Recorder()

    def stop_in_epoch_two(event: Any) -> None:
        rec(event)
        if isinstance(event, Step) and event.epoch == 2 and event.step == 3:
            rec.trainer.stop()  # type: ignore[union-attr]
    t = Trainer(small_net(), tiny(epochs=3, out_dir=str(tmp_path)), stop_in_epoch_two)
    rec.trainer = t
    t.run()
    ckpt = load_checkpoint(tmp_path / "last.pt")
    assert ckpt["epoch"] == 1 and ckpt["global_step"] == 8 + 3
    _, rec2 = train(small_net(), tiny(epochs=3), resume_from=tmp_path / "last.pt")
    steps = rec2.of(Step)
    assert [e.epoch for e in rec2.of(EpochEnd)] == [2, 3]
    assert steps[0].epoch == 2 and steps[0].step == 1 and steps[0].global_step == 9
    assert len(steps) == 16


def test_late_loss_reading_changes_nothing_but_timing() -> None:
    """The GPU mode (each loss read one step late) forced on the CPU."""
    plain, rec_plain = train(small_net(), tiny(epochs=2))
    lagged = Trainer(small_net(), tiny(epochs=2), rec_lag := Recorder())
    lagged.report_lag = True
    lagged.run()
    a, b = plain.state_dict(), lagged.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    key = [(s.epoch, s.step, s.global_step, s.loss, s.lr) for s in rec_plain.of(Step)]
    assert key == [(s.epoch, s.step, s.global_step, s.loss, s.lr) for s in rec_lag.of(Step)]
    rec = Recorder()

    def stop_at_three(event: Any) -> None:
        rec(event)
        if isinstance(event, Step) and event.global_step == 3:
            rec.trainer.stop()  # type: ignore[union-attr]
    t = Trainer(small_net(), tiny(epochs=3), stop_at_three)
    t.report_lag, rec.trainer = True, t
    t.run()
    assert len(rec.of(Step)) == 4 and rec.of(Finished)[0].metrics["steps_done"] == 4
    nan = Trainer(load(LENET), tiny(lr=1e6, schedule="constant", warmup_epochs=0, epochs=3),
                  rec_nan := Recorder())
    nan.report_lag = True
    nan.run()
    assert "NaN" in rec_nan.failed() or "infinite" in rec_nan.failed()


@pytest.mark.parametrize("epoch, expected", [(1, "none"), (2, "epoch 1")])
def test_stop_now_skips_evaluating_the_stopped_model(epoch: int, expected: str) -> None:
    rec = Recorder()

    def stop_now(event: Any) -> None:
        rec(event)
        if isinstance(event, Step) and event.epoch == epoch and event.step == 3:
            rec.trainer.stop()  # type: ignore[union-attr]
            rec.trainer.stop()  # type: ignore[union-attr]  -- the second one: now
    t = Trainer(small_net(), tiny(epochs=3), stop_now)
    rec.trainer = t
    t.run()
    fin = rec.of(Finished)[0]
    assert fin.stopped and fin.metrics["evaluated"] == expected
    if epoch == 1:
        assert fin.metrics["test_acc"] != fin.metrics["test_acc"]  # NaN: nothing evaluated
    else:
        assert fin.metrics["test_acc"] == rec.of(EpochEnd)[0].test_acc


def test_a_plain_stop_evaluates_the_stopped_model() -> None:
    _, rec = train(small_net(), tiny(epochs=1))
    assert rec.of(Finished)[0].metrics["evaluated"] == "final model"
