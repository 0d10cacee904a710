"""Train a design on CIFAR-10 or the synthetic dataset from the command line.

Writes metrics.csv, metrics.json, last.pt and best.pt to --out (default:
./runs/<design name>). Ctrl+C stops after the current step and still writes
the results; a second Ctrl+C skips evaluating the stopped model, a third aborts. Exit 0 ok (or stopped), 1 training
failed, 2 unreadable design file or dataset.
"""
from __future__ import annotations

import argparse
import re
import signal
import sys
import time
from dataclasses import fields
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from designer.core.training_config import CHOICES, DEVICES, TrainConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="design file (.json)")
    parser.add_argument("--dataset", choices=CHOICES["dataset"], default=None,
                        help="cifar10 (real data) or synthetic (generated, not real data)")
    parser.add_argument("--data-dir", help="folder holding cifar-10-batches-py "
                        "(default: $CNN_DESIGNER_DATA or the user data folder)")
    parser.add_argument("--download", action="store_true",
                        help="download CIFAR-10 (163 MB) when it is not in the data folder")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float, help="peak learning rate")
    parser.add_argument("--optimizer", choices=CHOICES["optimizer"])
    parser.add_argument("--schedule", choices=CHOICES["schedule"])
    parser.add_argument("--weight-decay", type=float)
    parser.add_argument("--label-smoothing", type=float)
    parser.add_argument("--cutout", type=int, help="cutout square size in pixels (0: off)")
    parser.add_argument("--val-split", type=int, help="training images held out for validation")
    parser.add_argument("--device", choices=DEVICES)
    parser.add_argument("--precision", choices=CHOICES["precision"])
    parser.add_argument("--threads", type=int, help="CPU threads (default: all cores; the "
                        "app leaves one core to its window)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--out", help="output folder for checkpoints and metrics")
    parser.add_argument("--limit", type=int, help="use only the first N training images "
                        "(and N/5 test images) for a quick run")
    parser.add_argument("--resume", metavar="CKPT", help="continue from a checkpoint (last.pt)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_recipe_arguments(parser)
    parser.add_argument("--skip-memory-check", action="store_true",
                        help="train even when the memory plan says it will not fit")


def add_recipe_arguments(parser: argparse.ArgumentParser) -> None:
    """--recipe and one flag per fast-training technique (docs/user-guide.md)."""
    g = parser.add_argument_group(
        "fast-training recipe", "--recipe sets all of these (and the optimizer settings); "
        "a flag overrides the recipe, the recipe overrides the design file")
    g.add_argument("--recipe", choices=["default", "fast", "fast-cpu"],
                   help="fast: airbench94's recipe (batch 1024, 10 epochs, for a GPU); "
                   "fast-cpu: the same with batch 256, 4 epochs; default: the app's defaults")
    kinds = {f.name: f.type for f in fields(TrainConfig)}
    for name, text in RECIPE_HELP.items():
        option = "--" + name.replace("_", "-")
        kind = kinds[name]
        if name in CHOICES:
            g.add_argument(option, choices=CHOICES[name], help=text)
        elif kind in (bool, "bool"):
            g.add_argument(option, action=argparse.BooleanOptionalAction, help=text)
        else:
            g.add_argument(option, type=int if "int" in str(kind) else float, help=text)


# One flag per technique: the TrainConfig field, its help (type and choices
# come from TrainConfig and CHOICES).
RECIPE_HELP = {
    "momentum": "SGD momentum",
    "warmup_epochs": "epochs of warm-up (triangular: where the lr peaks)",
    "lr_start_factor": "triangular schedule: lr at the first step, as a fraction of --lr",
    "lr_end_factor": "triangular schedule: lr at the last step, as a fraction of --lr",
    "crop_pad": "translate images by up to N pixels",
    "crop_fill": "what a translation shows at the border",
    "flip_alternate": "flip each image on alternate epochs (random on the first)",
    "tta": "test-time augmentation of the final test: mean of the views' logits",
    "averaging": "average the weights (EMA) or pull them to the average (Lookahead)",
    "average_decay": "weight of the old average per update",
    "average_every": "steps between averaging updates",
    "average_start_epoch": "epochs before averaging starts",
    "norm_bias_lr_scale": "lr multiplier of normalisation-layer biases (airbench: 64)",
    "freeze_norm_weights": "keep normalisation-layer scales at 1",
    "bn_momentum": "BatchNorm running-statistics rate (torch's convention) for every "
                   "BatchNorm layer",
    "decay_all": "weight decay on biases and normalisation parameters too",
    "decoupled_decay": "weight decay per step independent of the learning rate",
    "dirac_init": "start convolutions as identity maps on their centre",
    "whiten_init": "initialise the first Conv2d by patch whitening of training images "
                   "(its weights frozen)",
    "whiten_bias_epochs": "epochs the whitened conv's bias trains",
    "logit_scale": "the loss sees the outputs times this (airbench: 1/9 = 0.111)",
}
RECIPE_FIELDS = tuple(RECIPE_HELP)
OPTION_FIELDS = {"dataset": "dataset", "data_dir": "data_dir", "epochs": "epochs",
                 "batch_size": "batch_size", "lr": "lr", "optimizer": "optimizer",
                 "schedule": "schedule", "weight_decay": "weight_decay",
                 "label_smoothing": "label_smoothing", "cutout": "cutout",
                 "val_split": "val_split", "device": "device", "precision": "precision",
                 "threads": "threads", "seed": "seed", **{f: f for f in RECIPE_FIELDS}}


def make_config(args: argparse.Namespace, design_training: Any) -> Any:
    """Settings: the design file's "training" object, overridden by options."""
    config = TrainConfig.from_dict(design_training)
    if getattr(args, "recipe", None):
        from designer.core.recipes import recipe
        for name, value in recipe(args.recipe).items():
            setattr(config, name, value)
    for option, name in OPTION_FIELDS.items():
        value = getattr(args, option, None)
        if value is not None:
            setattr(config, name, value)
    if args.threads is None and config.threads is None:  # no window here: every core
        from designer.nn.threads import cpu_count
        config.threads = cpu_count()
    if args.download:
        config.download = True
    if args.limit:
        config.train_limit = args.limit
        config.test_limit = max(1, args.limit // 5)
    return config


def _default_out(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "design"
    return str(Path("runs") / slug)


def run(args: argparse.Namespace) -> int:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    from designer.io import DesignFileError, load
    try:
        design = load(args.file)
    except DesignFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    config = make_config(args, getattr(design, "training", None))
    config.out_dir = args.out or _default_out(design.name)
    if config.dataset not in ("cifar10", "synthetic"):
        config.dataset = "cifar10"
    from designer.core.analysis import analyse
    images = len(tuple(analyse(design).input_shape)) == 3   # 1-D / 3-D train on synthetic data
    for check in (lambda: _check_numbers(config, args),
                  lambda: _prepare_data(config, args.quiet) if images else None):
        problem = check()
        if problem is not None:
            print(f"error: {problem}", file=sys.stderr)
            return 2

    if not args.skip_memory_check:
        from designer.nn.memory_check import check
        fit = check(design, config)
        if fit is not None and not fit.fits:
            print(f"error: {fit.message()} (cnn-designer plan shows where it goes; "
                  "--skip-memory-check trains anyway)", file=sys.stderr)
            return 1
    from designer.nn.trainer import Trainer
    reporter = Reporter(sys.stderr, quiet=args.quiet)
    trainer = Trainer(design, config, reporter, resume_from=args.resume)
    previous = _install_interrupt(trainer, reporter)
    try:
        trainer.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    if reporter.failed is not None:
        kind = reporter.failed_kind
        print(f"error: {reporter.failed}", file=sys.stderr)
        return 2 if kind == "data" else 1
    print(f"results in {config.out_dir}", file=sys.stderr)
    return 0


def _check_numbers(config: Any, args: argparse.Namespace | None = None) -> str | None:
    """Every setting in its range (designer.core.training_config.RANGES), named
    as the user gave it: a flag, or the design file's "training" object."""
    from designer.core.training_config import TrainConfigError

    def label(name: str) -> str:
        option = {v: k for k, v in OPTION_FIELDS.items()}.get(name)
        if option is not None and args is not None and getattr(args, option, None) is not None:
            return "--" + option.replace("_", "-")
        if name in ("train_limit", "test_limit") and args is not None and args.limit:
            return "--limit"
        return f"the training setting {name}"
    try:
        config.check(label)
    except TrainConfigError as e:
        return str(e)
    return None


def _prepare_data(config: Any, quiet: bool) -> str | None:
    """Find (or download with a progress bar) CIFAR-10; an error message or None."""
    if config.dataset != "cifar10":
        return None
    from designer.nn.data import DatasetError, cifar10_incomplete, default_data_dir, find_cifar10
    if find_cifar10(config.data_dir) is not None:
        return None
    where = config.data_dir or str(default_data_dir())
    incomplete = cifar10_incomplete(config.data_dir)
    if incomplete is not None:
        return (f"{incomplete}: delete that folder and pass --download to fetch CIFAR-10 "
                f"again (163 MB), or --data-dir to point at a complete copy")
    if not config.download:
        return (f"CIFAR-10 is not in {where}: pass --download to fetch it (163 MB), "
                "--data-dir to point at it, or --dataset synthetic")
    from designer.nn import data
    from designer.nn.data_download import download_cifar10
    bar = ProgressBar(sys.stderr, "download", quiet)
    print(f"downloading CIFAR-10 from {data.OFFICIAL_URL} into {where}", file=sys.stderr)
    try:
        download_cifar10(config.data_dir, progress=bar.bytes, url=data.OFFICIAL_URL,
                         md5=data.OFFICIAL_MD5)
    except DatasetError as e:
        bar.end()
        return str(e)
    bar.end()
    return None


def _install_interrupt(trainer: Any, reporter: "Reporter") -> Any:
    """Ctrl+C: stop after this step; again: also skip the final evaluation;
    a third time: abort."""
    presses = [0]

    def handler(signum: int, frame: FrameType | None) -> None:
        presses[0] += 1
        if presses[0] >= 3:
            raise KeyboardInterrupt
        if presses[0] == 1:
            reporter.note("stopping after this step (Ctrl+C again to skip the final evaluation)")
        trainer.stop(now=presses[0] == 2)
    try:
        return signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread
        return signal.getsignal(signal.SIGINT)


class ProgressBar:
    """One line on stderr rewritten with \\r."""

    WIDTH = 28

    def __init__(self, stream: TextIO, label: str, quiet: bool = False) -> None:
        self.stream, self.label = stream, label
        isatty = getattr(stream, "isatty", None)
        self.quiet = quiet or not (isatty is not None and isatty())  # no \r lines in logs
        self.shown = False
        self._last = 0.0

    def show(self, fraction: float, text: str, force: bool = False) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        fraction = min(1.0, max(0.0, fraction))
        filled = int(self.WIDTH * fraction)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self.stream.write(f"\r{self.label} [{bar}] {fraction * 100:5.1f}% {text}\x1b[K")
        self.stream.flush()
        self.shown = True

    def bytes(self, done: int, total: int) -> None:
        text = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
        self.show(done / total if total else 0.0, text)

    def end(self) -> None:
        if self.shown and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
        self.shown = False


class Reporter:
    """The engine's callback: a progress bar per epoch and a line per epoch."""

    def __init__(self, stream: TextIO, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet
        self.bar = ProgressBar(stream, "epoch", quiet)
        self.failed: str | None = None
        self.failed_kind = "train"
        self.epochs = 0
        self.steps = 0
        self.finished: Any = None

    def note(self, text: str) -> None:
        self.bar.end()
        print(text, file=self.stream)

    def __call__(self, event: Any) -> None:
        from designer.nn import events as ev
        if isinstance(event, ev.Started):
            self.epochs, self.steps = event.epochs, event.steps_per_epoch
            label = event.dataset_label
            what = "samples" if "1-D" in label or "3-D" in label else "images"
            print(f"{event.dataset_label}: {event.train_size} training / {event.test_size} test "
                  f"{what} on {event.device} ({event.precision}"
                  + (f", {event.threads} thread{'s' if event.threads > 1 else ''}"
                     if event.threads else "") + ")",
                  file=self.stream)
            for note in event.notes:
                print(f"note: {note}", file=self.stream)
            if event.start_epoch:
                print(f"resuming after epoch {event.start_epoch}", file=self.stream)
        elif isinstance(event, ev.Step):
            self.bar.label = f"epoch {event.epoch}/{self.epochs}"
            self.bar.show(event.step / max(1, self.steps),
                          f"loss {event.loss:.3f} lr {event.lr:.3g} "
                          f"{event.images_per_s:.0f} img/s ETA {_clock(event.eta_s)}",
                          force=event.step == self.steps)
        elif isinstance(event, ev.EpochEnd):
            self.bar.end()
            parts = [f"epoch {event.epoch}/{self.epochs}", f"train loss {event.train_loss:.4f}",
                     f"acc {event.train_acc:.4f}"]
            if event.val_acc is not None:
                parts.append(f"val acc {event.val_acc:.4f}")
            if event.test_acc is not None:
                parts.append(f"test loss {event.test_loss:.4f} acc {event.test_acc:.4f}")
            parts.append(f"{event.seconds:.1f}s")
            print("  ".join(parts), file=self.stream)
        elif isinstance(event, ev.Paused):
            pass
        elif isinstance(event, ev.Finished):
            self.bar.end()
            self.finished = event
            m = event.metrics
            how = "stopped" if event.stopped else "finished"
            print(f"{how} after {m.get('epochs_done')} epoch(s), {_clock(m.get('seconds', 0))}: "
                  f"test accuracy {m.get('test_acc', 0):.4f}", file=self.stream)
        elif isinstance(event, ev.Failed):
            self.bar.end()
            self.failed = event.message
            self.failed_kind = event.kind


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
