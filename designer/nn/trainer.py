"""The training engine: a Qt-free loop that reports events to a callback.

    trainer = Trainer(design, config, callback, resume_from=None)
    trainer.run()            # blocks; never raises: failures become a Failed event
    trainer.pause() / resume() / stop()   # thread-safe, honoured between steps

The whole dataset lives as uint8 tensors on the training device; each batch is
gathered, augmented (crop, flip, cutout) and normalised on tensors.
With config.out_dir set, every epoch writes last.pt, best.pt (best validation
accuracy; test accuracy when there is no validation split), metrics.csv and
metrics.json; a stopped run rewrites last.pt with the model as it was.
Resuming: pass resume_from=<checkpoint path> (a last.pt/best.pt written by a
run); weights, optimizer, scaler, random state and history are restored and
training continues up to config.epochs (a run stopped mid-epoch repeats that
epoch from its start, with the weights it had).
After a stop the current model is evaluated once on the test set for Finished
(stop(now=True), or a second stop(), skips that: metrics["evaluated"] says
what the reported results belong to).
"""
from __future__ import annotations

import math
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from designer.core.analysis import analyse
from designer.core.model import Design
from designer.core.plan_time import eval_batch_size, slow_in_cpu_bf16
from designer.core.training_config import TrainConfig, TrainConfigError, setting_problem
from designer.nn import allocator, recipe
from designer.nn import train_setup as setup
from designer.nn.augment import Normaliser, augment_batch, cutout
from designer.nn.build import BuildError, build
from designer.nn.checkpoint import (CheckpointError, check_fits, load_checkpoint, make_checkpoint,
                                    save_checkpoint)
from designer.nn.data import Dataset, DatasetError
from designer.nn.events import Event, EpochEnd, Failed, Finished, Paused, Started, Step
from designer.nn.train_eval import (Evaluation, EvaluationSkipped, evaluate,
                                   predict_logits)
from designer.nn.train_files import BEST, LAST, write_metrics


class TrainingFailed(Exception):
    """Ends a run with a Failed event carrying this plain message."""

    def __init__(self, message: str, kind: str = "training") -> None:
        super().__init__(message)
        self.kind = kind


class _Stopped(Exception):
    pass


class Trainer:
    def __init__(self, design: Design, config: TrainConfig, callback: Callable[[Event], None],
                 resume_from: str | Path | None = None) -> None:
        self.design = design.copy()
        self.config = config
        self.resume_from = resume_from
        self._callback = callback
        self._stop = threading.Event()
        self._now = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self.model: torch.nn.Module | None = None
        self.failure: Failed | None = None       # the Failed event of a failed run
        self.data: Dataset | None = None
        self.device = torch.device("cpu")
        self.precision = "fp32"
        self.history: list[dict[str, Any]] = []
        self.epoch = 0                       # epochs completed
        self.global_step = 0
        self._optimizer: torch.optim.Optimizer | None = None
        self._scaler: Any = None
        # an out-of-range seed fails in run() with a message (config.check)
        seed_ok = setting_problem("seed", config.seed) is None
        self._generator = torch.Generator().manual_seed(int(config.seed) if seed_ok else 0)
        self._normalise: Normaliser | None = None
        self._best: float | None = None
        self._paused_s = 0.0
        self._timer = _Throughput(config.batch_size)
        self._epoch_rng = self._generator.get_state()  # at the start of the next epoch
        self.report_lag = False      # read each loss one step late (set for GPUs in run)
        self._average: recipe.WeightAverage | None = None
        self._whitened: torch.nn.Conv2d | None = None
        self._flip_bits: torch.Tensor | None = None

    # --- control, from any thread ---------------------------------------------
    def stop(self, now: bool = False) -> None:
        """Stop after the current step. now=True (or a second stop) also skips
        evaluating the stopped model: Finished then reports the last epoch's
        test results (NaN accuracy when no epoch was completed)."""
        if now or self._stop.is_set():
            self._now.set()
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        if not self._stop.is_set():
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    # --- results ----------------------------------------------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        if self.model is None:
            return {}
        return {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}

    def _averaged(self) -> Any:
        """Evaluations and checkpoints see the averaged weights (EMA/Lookahead)."""
        return self._average.applied() if self._average is not None else nullcontext()

    def checkpoint(self, metrics: dict[str, Any] | None = None) -> dict[str, Any]:
        extra: dict[str, Any] = {"epoch": self.epoch, "global_step": self.global_step,
                                 "history": self.history, "best_metric": self._best,
                                 "generator": self._epoch_rng,
                                 "dataset": self.data.label if self.data else None}
        if self._optimizer is not None:
            extra["optimizer"] = self._optimizer.state_dict()
        if self._scaler is not None:
            extra["scaler"] = self._scaler.state_dict()
        state = self.state_dict()
        if self._average is not None and self._average.average is not None:
            extra["raw_state"] = state   # the weights training continues from
            with self._averaged():
                state = self.state_dict()
        last = self.history[-1] if self.history else {}
        return make_checkpoint(self.design, state, self.config.to_dict(),
                               metrics if metrics is not None else dict(last), extra)

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """float32 logits (CPU) for uint8 images N x C x H x W."""
        if self.model is None or self._normalise is None:
            raise RuntimeError("no trained model")
        images = images.to(self.device)
        logits = predict_logits(self.model, images, self._normalise,
                                lambda: setup.autocast(self.device, self.precision),
                                batch=eval_batch(images))
        return logits.cpu()

    # --- the run ----------------------------------------------------------------
    def run(self) -> None:
        threads_before = torch.get_num_threads()
        try:
            with allocator.keep_freed_memory():
                self._run()
        except _Stopped:
            self._fail(Failed("stopped before training began"))
        except TrainingFailed as e:
            self._fail(Failed(str(e), e.kind))
        except DatasetError as e:
            self._fail(Failed(str(e), "data"))
        except setup.SetupError as e:
            self._fail(Failed(str(e), e.kind))
        except BuildError as e:
            self._fail(Failed(str(e), "design"))
        except CheckpointError as e:
            self._fail(Failed(str(e)))
        except BaseException as e:  # noqa: BLE001 -- the engine must never raise
            self._fail(Failed(_describe(e, self.config)))
        finally:
            if torch.get_num_threads() != threads_before:
                torch.set_num_threads(threads_before)

    def _fail(self, event: Failed) -> None:
        self.failure = event
        try:
            self._emit(event)
        except Exception:  # noqa: BLE001 -- a broken callback must not make run() raise
            pass

    def _emit(self, event: Event) -> None:
        self._callback(event)

    def _run(self) -> None:
        import torch._dynamo  # noqa: F401 -- the first optimizer imports it (1-2 s); do it here
        from designer.nn import threads

        cfg = self.config
        analysis = analyse(self.design)
        if not analysis.ok:
            where, issue = analysis.all_errors[0]
            raise TrainingFailed(f"the design has {analysis.error_count} error(s); first: "
                                 + (f"{where}: " if where else "") + issue.message, "design")
        try:
            cfg.check()
        except TrainConfigError as e:
            raise TrainingFailed(f"the training setting {e}") from None
        notes: list[str] = []
        self.device = setup.resolve_device(cfg.device)
        self.precision = setup.resolve_precision(cfg.precision, self.device, notes,
                                                 analysis.total_macs, slow_in_cpu_bf16(analysis))
        n_threads = threads.configure(cfg.threads) if self.device.type == "cpu" else 0
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed batch shapes: pick the fastest kernels
        self.report_lag = self.report_lag or self.device.type != "cpu"
        torch.manual_seed(cfg.seed)
        data = setup.load_dataset(cfg, self._stop.is_set, analysis.input_shape,
                                  analysis.output_shape, notes)
        if not setup.is_image_shape(analysis.input_shape) and (
                cfg.augment_crop or cfg.augment_flip or cfg.cutout > 0):
            notes.append("crop, flip and cutout augment 2-D images only: off for this "
                         f"{setup.rank_name(analysis.input_shape)} design")
        self._check_stop()
        train, val = _split(data, cfg.val_split, cfg.seed)
        if len(train[0]) == 0:
            raise TrainingFailed("no training images left (check the limit and validation split)")
        setup.check_design_fits(analysis.input_shape, analysis.output_shape, data)
        self.data = data

        model = build(self.design, analysis)
        resume = self._load_resume(model)
        model.to(self.device)
        channels_last = setup.resolve_channels_last(cfg.channels_last, self.device, model,
                                                    len(analysis.input_shape))
        if channels_last:
            model.to(memory_format=torch.channels_last)
        self.model = model
        mean, std = data.mean_std()
        self._normalise = Normaliser(mean, std, self.device, channels_last)
        dev = self.device
        self._whitened = recipe.prepare_model(
            model, cfg, train[0][:recipe.WHITEN_IMAGES].to(dev), self._normalise, notes,
            resume is not None)
        self._optimizer = setup.make_optimizer(model, cfg)
        steps = max(1, len(train[0]) // cfg.batch_size)
        if cfg.averaging != "off":
            self._average = recipe.WeightAverage(
                model, cfg.averaging, cfg.average_decay, cfg.average_every,
                int(round(cfg.average_start_epoch * steps)))
        if cfg.augment_flip and cfg.flip_alternate:
            self._flip_bits = recipe.flip_bits(len(train[0]), cfg.seed).to(dev)
        if self.precision == "fp16":
            self._scaler = torch.amp.GradScaler("cuda")
        if resume is not None:
            self._restore_state(resume)

        tensors = {"train_x": train[0].to(dev), "train_y": train[1].to(dev),
                   "val_x": val[0].to(dev), "val_y": val[1].to(dev),
                   "test_x": data.test_x.to(dev), "test_y": data.test_y.to(dev)}
        setup.lr_factor(0, 1, 0, cfg.schedule)  # an unknown schedule fails before Started
        # a run stopped mid-epoch resumes at the start of that epoch
        self.global_step = min(self.global_step, self.epoch * steps)
        if self.epoch >= cfg.epochs:
            raise TrainingFailed(f"the checkpoint has already trained {self.epoch} epochs; "
                                 f"set more than {self.epoch} epochs to continue")
        self._emit(Started(cfg.epochs, steps, len(train[0]), len(data.test_x), str(dev),
                           data.label, list(data.class_names), self.precision, channels_last,
                           n_threads, self.epoch, notes))
        self._loop(tensors, steps)

    def _loop(self, t: dict[str, torch.Tensor], steps: int) -> None:
        cfg = self.config
        assert self.data is not None and self.model is not None
        total = steps * cfg.epochs
        warmup = int(round(cfg.warmup_epochs * steps))
        start = time.perf_counter()
        self._paused_s = 0.0
        self._timer = timer = _Throughput(cfg.batch_size)
        eval_s = 0.0
        final: Evaluation | None = None
        stopped = False
        while self.epoch < cfg.epochs:
            if self._stop.is_set():
                stopped = True
                break
            epoch_start = time.perf_counter()
            paused_before = self._paused_s
            timer.restart()
            train_loss, train_acc, stopped = self._train_epoch(t, steps, total, warmup, timer,
                                                               eval_s)
            if stopped:
                break
            eval_start = time.perf_counter()
            try:
                val = self._evaluate(t["val_x"], t["val_y"]) if len(t["val_x"]) else None
                final = self._evaluate(t["test_x"], t["test_y"])
            except EvaluationSkipped:
                stopped = True
                break
            eval_s = time.perf_counter() - eval_start
            self.epoch += 1
            self._epoch_rng = self._generator.get_state()
            seconds = time.perf_counter() - epoch_start - (self._paused_s - paused_before)
            self._end_epoch(train_loss, train_acc, val, final, seconds)
        evaluated = "stopped model"
        if self._average is not None:
            self._average.finish()
        try:
            if cfg.tta != "off" and not self._now.is_set():
                final = self._evaluate(t["test_x"], t["test_y"], cfg.tta)
                evaluated = f"{'stopped' if stopped else 'final'} model, TTA {cfg.tta}"
            elif stopped or final is None:  # the model as it is now, mid-epoch
                final = self._evaluate(t["test_x"], t["test_y"])
            else:
                evaluated = "final model"
        except EvaluationSkipped:
            evaluated = f"epoch {self.epoch}" if final is not None else "none"
            classes = self.data.num_classes
            final = final or Evaluation(float("nan"), float("nan"),
                                        [[0] * classes for _ in range(classes)])
        elapsed = time.perf_counter() - start - self._paused_s
        metrics = {"test_acc": final.acc, "test_loss": final.loss, "epochs_done": self.epoch,
                   "steps_done": self.global_step, "seconds": elapsed,
                   "dataset": self.data.label, "device": str(self.device),
                   "precision": self.precision, "evaluated": evaluated}
        if self.history:
            metrics.update({k: self.history[-1][k] for k in ("train_loss", "train_acc",
                                                             "val_loss", "val_acc")})
        self._write_outputs(metrics, stopped)
        self._emit(Finished(stopped, metrics, final.per_class_acc, final.confusion,
                            list(self.data.class_names)))

    def _train_epoch(self, t: dict[str, torch.Tensor], steps: int, total: int, warmup: int,
                     timer: "_Throughput", eval_s: float
                     ) -> tuple[float, float, bool]:
        """(mean loss, accuracy, stopped) over the steps done this epoch.

        On a GPU each step's loss is read (a device sync) only after the next
        step has been queued, so the GPU never waits for Python; on the CPU
        there is nothing to overlap and each step reports at once."""
        cfg = self.config
        model, opt = self.model, self._optimizer
        assert model is not None and opt is not None and self._normalise is not None
        model.train()
        order = torch.randperm(len(t["train_x"]), generator=self._generator).to(self.device)
        sums = {"loss": torch.zeros((), device=self.device),
                "correct": torch.zeros((), device=self.device, dtype=torch.long), "seen": 0}
        pending: tuple[int, torch.Tensor, float] | None = None
        stopped = False
        for step in range(1, steps + 1):
            if not self._between_steps():
                stopped = True
                break
            done = self.global_step + (pending is not None)   # optimizer steps so far
            factor = setup.lr_factor(done, total, warmup, cfg.schedule, cfg.lr_start_factor,
                                     cfg.lr_end_factor)
            for g in opt.param_groups:
                g["lr"] = float(cfg.lr) * factor * g.get("lr_scale", 1.0)
            self._freeze_whitening_bias(done, steps)
            idx = order[(step - 1) * cfg.batch_size: step * cfg.batch_size]
            loss = self._train_step(t["train_x"][idx], t["train_y"][idx], sums, idx)
            if self._average is not None:
                self._average.step(done + 1)
            if pending is not None:
                self._report(*pending, steps, total, timer, eval_s)
            pending = (step, loss, lr_now(opt))
            if not self.report_lag:
                self._report(*pending, steps, total, timer, eval_s)
                pending = None
        if pending is not None:
            self._report(*pending, steps, total, timer, eval_s)
        seen = max(1, sums["seen"])
        return sums["loss"].item() / seen, sums["correct"].item() / seen, stopped

    def _freeze_whitening_bias(self, done: int, steps: int) -> None:
        bias = self._whitened.bias if self._whitened is not None else None
        if bias is not None and bias.requires_grad \
                and done >= self.config.whiten_bias_epochs * steps:
            bias.requires_grad_(False)
            bias.grad = None

    def _train_step(self, images: torch.Tensor, y: torch.Tensor,
                    sums: dict[str, Any], idx: torch.Tensor | None = None) -> torch.Tensor:
        cfg = self.config
        model, opt = self.model, self._optimizer
        assert model is not None and opt is not None and self._normalise is not None
        if images.dim() == 4:
            mirror = None
            if self._flip_bits is not None and idx is not None:
                mirror = recipe.alternate_flips(self._flip_bits, idx, self.epoch)
            x = self._normalise(augment_batch(images, cfg.augment_crop, cfg.augment_flip,
                                              self._generator, cfg.crop_pad, cfg.crop_fill,
                                              mirror))
            if cfg.cutout > 0:
                x = cutout(x, cfg.cutout, self._generator)
        else:  # 1-D signals, 3-D clips: a flip would change a clip's motion (its class)
            x = self._normalise(images)
        with setup.autocast(self.device, self.precision):
            out = model(x)
        loss = F.cross_entropy(out.float() * cfg.logit_scale, y,
                               label_smoothing=cfg.label_smoothing)
        opt.zero_grad(set_to_none=True)
        if self._scaler is not None:
            self._scaler.scale(loss).backward()
            self._scaler.step(opt)
            self._scaler.update()
        else:
            loss.backward()
            opt.step()
        loss = loss.detach()
        sums["loss"] += loss * len(y)
        sums["correct"] += (out.argmax(dim=1) == y).sum()
        sums["seen"] += len(y)
        return loss

    def _report(self, step: int, loss: torch.Tensor, lr: float, steps: int, total: int,
                timer: "_Throughput", eval_s: float) -> None:
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingFailed(
                f"the loss became {'NaN' if math.isnan(value) else 'infinite'} at epoch "
                f"{self.epoch + 1}, step {step} (learning rate {lr:.3g}): the learning rate "
                "is probably too high, or a layer produces invalid values; try a smaller "
                "learning rate")
        self.global_step += 1
        ips, step_s = timer.tick()
        eta = (total - self.global_step) * step_s + eval_s * (self.config.epochs - self.epoch)
        self._emit(Step(self.epoch + 1, step, self.global_step, value, lr, ips, eta))

    def _between_steps(self) -> bool:
        """False when stopped; blocks while paused."""
        if self._stop.is_set():
            return False
        if not self._running.is_set():
            self._emit(Paused(True))
            t0 = time.perf_counter()
            while not self._running.wait(0.1):
                pass
            self._paused_s += time.perf_counter() - t0
            self._timer.restart()
            if self._stop.is_set():
                return False
            self._emit(Paused(False))
        return True

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise _Stopped()

    def _evaluate(self, x: torch.Tensor, y: torch.Tensor, tta: str = "off") -> Evaluation:
        assert self.model is not None and self.data is not None and self._normalise is not None
        scale = self.config.logit_scale
        views = tta if x.dim() == 4 else "off"  # mirror views are for 2-D images only

        def predict(*args: Any, **kwargs: Any) -> torch.Tensor:  # the loss as in training
            return recipe.tta_logits(*args, mode=views, **kwargs) * scale
        with self._averaged():
            return evaluate(self.model, x, y, self.data.num_classes, self._normalise,
                            lambda: setup.autocast(self.device, self.precision),
                            self._now.is_set, eval_batch(x), predict)

    def _end_epoch(self, train_loss: float, train_acc: float, val: Evaluation | None,
                   test: Evaluation, seconds: float) -> None:
        assert self._optimizer is not None
        row = {"epoch": self.epoch, "train_loss": train_loss, "train_acc": train_acc,
               "val_loss": val.loss if val else None, "val_acc": val.acc if val else None,
               "test_loss": test.loss, "test_acc": test.acc, "lr": lr_now(self._optimizer),
               "seconds": seconds}
        self.history.append(row)
        score = val.acc if val is not None else test.acc
        best = self._best is None or score > self._best
        if best:
            self._best = score
        self._write_epoch_files(row, best)
        self._emit(EpochEnd(self.epoch, train_loss, train_acc, row["val_loss"], row["val_acc"],
                            test.loss, test.acc, seconds, row["lr"], best))

    # --- files ------------------------------------------------------------------
    def _out_dir(self) -> Path | None:
        return Path(self.config.out_dir).expanduser() if self.config.out_dir else None

    def _write_epoch_files(self, row: dict[str, Any], best: bool) -> None:
        out = self._out_dir()
        if out is None:
            return
        ckpt = self.checkpoint(dict(row))
        try:
            save_checkpoint(out / LAST, ckpt)
            if best:
                save_checkpoint(out / BEST, ckpt)
            write_metrics(out, self.history, self._summary({}, False))
        except OSError as e:
            raise TrainingFailed(f"cannot write to the output folder {out}: "
                                 f"{e.strerror or e}") from None

    def _write_outputs(self, metrics: dict[str, Any], stopped: bool) -> None:
        out = self._out_dir()
        if out is None:
            return
        try:
            if stopped:  # the model as it was when stopped, mid-epoch
                save_checkpoint(out / LAST, self.checkpoint(dict(metrics)))
            write_metrics(out, self.history, self._summary(metrics, stopped))
        except OSError as e:
            raise TrainingFailed(f"cannot write to the output folder {out}: "
                                 f"{e.strerror or e}") from None

    def _summary(self, final: dict[str, Any], stopped: bool) -> dict[str, Any]:
        assert self.data is not None
        return {"design": self.design.name, "dataset": self.data.label,
                "device": str(self.device), "precision": self.precision,
                "config": self.config.to_dict(), "stopped": stopped,
                "best_metric": self._best, "final": final}

    # --- resume -------------------------------------------------------------------
    def _load_resume(self, model: torch.nn.Module) -> dict[str, Any] | None:
        if not self.resume_from:
            return None
        ckpt = load_checkpoint(self.resume_from)
        raw = ckpt.get("raw_state")   # a run with weight averaging: state_dict is the average
        weights = raw if isinstance(raw, dict) else ckpt["state_dict"]
        check_fits(model, weights)
        model.load_state_dict(weights)
        return ckpt

    def _restore_state(self, ckpt: dict[str, Any]) -> None:
        assert self._optimizer is not None
        try:
            if "optimizer" in ckpt:
                self._optimizer.load_state_dict(ckpt["optimizer"])
            if self._scaler is not None and "scaler" in ckpt:
                self._scaler.load_state_dict(ckpt["scaler"])
            if self._average is not None and isinstance(ckpt.get("raw_state"), dict):
                self._average.load_state_dict(ckpt["state_dict"])
            if isinstance(ckpt.get("generator"), torch.Tensor):
                self._generator.set_state(ckpt["generator"])
                self._epoch_rng = self._generator.get_state()
        except (ValueError, KeyError, RuntimeError, TypeError) as e:
            raise TrainingFailed(f"{self.resume_from}: its optimizer state does not fit these "
                                 f"settings ({e}); resume with the same optimizer") from None
        self.epoch = int(ckpt.get("epoch", 0) or 0)
        self.global_step = int(ckpt.get("global_step", 0) or 0)
        history = ckpt.get("history")
        self.history = [dict(r) for r in history] if isinstance(history, list) else []
        best = ckpt.get("best_metric")
        self._best = float(best) if isinstance(best, (int, float)) else None


class _Throughput:
    """Images per second and seconds per step over the recent steps."""

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self.last = time.perf_counter()
        self.step_s: float | None = None

    def restart(self) -> None:
        """Forget the time since the last step (a pause, an evaluation)."""
        self.last = time.perf_counter()

    def tick(self) -> tuple[float, float]:
        now = time.perf_counter()
        dt, self.last = max(now - self.last, 1e-9), now
        self.step_s = dt if self.step_s is None else 0.9 * self.step_s + 0.1 * dt
        return self.batch / self.step_s, self.step_s


def eval_batch(x: torch.Tensor) -> int:
    """EVAL_BATCH CIFAR-sized images, fewer of larger samples (a 3-D clip is
    hundreds of images' worth); the time plan assumes the same."""
    return eval_batch_size(max(1, x[0].numel()) if len(x) else 1)


def lr_now(opt: torch.optim.Optimizer) -> float:
    return float(opt.param_groups[0]["lr"])


def _split(data: Dataset, val_split: int, seed: int
           ) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """(train, validation): val_split training images held out by a seeded draw."""
    n = len(data.train_x)
    k = max(0, min(int(val_split or 0), n - 1))
    if k == 0:
        empty = data.train_x[:0], data.train_y[:0]
        return (data.train_x, data.train_y), empty
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 7919))
    tr, va = order[:n - k].sort().values, order[n - k:].sort().values
    return (data.train_x[tr], data.train_y[tr]), (data.train_x[va], data.train_y[va])


def _describe(e: BaseException, config: TrainConfig) -> str:
    if isinstance(e, KeyboardInterrupt):
        return "training aborted (interrupted)"
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if isinstance(e, MemoryError) or "out of memory" in str(e).lower() \
            or type(e).__name__ == "OutOfMemoryError":
        return (f"out of memory with batch size {config.batch_size}: try a smaller batch size "
                "or a smaller design")
    if isinstance(e, RuntimeError):
        return f"the design failed while training: {text}"
    return f"training stopped by an unexpected error: {type(e).__name__}: {text}"
