"""Time to a target test accuracy on real CIFAR-10 with the engine.

    python tests/benchmarks/time_to_accuracy.py --sample lenet5 --target 0.60 --minutes 5
    python tests/benchmarks/time_to_accuracy.py --sample fast_cifar --target 0.85 --minutes 15
    python tests/benchmarks/time_to_accuracy.py --sample fast_cifar --device cuda --target 0.93

Trains with per-sample default settings (below; options override), prints
test accuracy after every epoch with the elapsed time (training + evaluation,
data loading excluded), and stops at the target or the time limit. Exit 0
when the target was reached in time, 1 otherwise. CIFAR-10 is found or built
as in train_throughput.py (--data-dir).
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from train_throughput import ensure_cifar  # noqa: E402  (also puts the repo on sys.path)

from designer.core.training_config import TrainConfig  # noqa: E402
from designer.io import load  # noqa: E402
from designer.nn.events import EpochEnd, Failed, Finished, Started  # noqa: E402
from designer.nn.trainer import Trainer  # noqa: E402

# Epoch counts size the one-cycle schedule: the run is planned to end there.
DEFAULTS: dict[str, dict[str, Any]] = {
    # LeNet-5 is small: light augmentation (flip only) and a short one-cycle.
    # Measured: 62% after epoch 4 of 5 (27 s, 1 thread, 2-core CPU).
    "lenet5": dict(epochs=5, batch_size=128, optimizer="sgd", lr=0.08, momentum=0.9,
                   nesterov=True, weight_decay=5e-4, schedule="onecycle", warmup_epochs=1,
                   augment_crop=False, augment_flip=True, label_smoothing=0.0),
    # airbench-like: big batches, label smoothing 0.2, crop + flip, short one-cycle.
    "fast_cifar": dict(epochs=12, batch_size=512, optimizer="sgd", lr=0.2, momentum=0.9,
                       nesterov=True, weight_decay=5e-4, schedule="onecycle", warmup_epochs=2,
                       augment_crop=True, augment_flip=True, label_smoothing=0.2,
                       threads=os.cpu_count()),   # headless: every core (wide convs scale)
}
OPTIONS = ("epochs", "batch_size", "lr", "weight_decay", "label_smoothing", "optimizer",
           "schedule", "warmup_epochs", "threads", "precision", "cutout")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default="lenet5", help="lenet5, fast_cifar or a sample name")
    parser.add_argument("--target", type=float, default=0.60)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-dir")
    for name in OPTIONS:
        kind = str if name in ("optimizer", "schedule", "precision") else \
            int if name in ("epochs", "batch_size", "threads", "cutout") else float
        parser.add_argument("--" + name.replace("_", "-"), type=kind)
    args = parser.parse_args()

    data_dir = ensure_cifar(args.data_dir)
    settings = dict(DEFAULTS.get(args.sample, DEFAULTS["fast_cifar"]))
    if args.sample == "fast_cifar" and args.epochs is None and not _gpu(args.device):
        # measured 131 s per epoch (2 CPU threads, bf16): plan a one-cycle that ends in time
        settings["epochs"] = 6
    settings.update({k: getattr(args, k) for k in OPTIONS if getattr(args, k) is not None})
    config = TrainConfig(dataset="cifar10", data_dir=str(data_dir), device=args.device,
                         **settings)
    design = load(ROOT.parents[1] / "samples" / f"{args.sample}.json")
    print(f"{args.sample}: target {args.target:.2%} within {args.minutes:g} min; "
          f"load average {os.getloadavg()[0]:.2f}; settings {settings}", flush=True)

    state: dict[str, Any] = {"start": None, "reached": None, "result": None}
    limit_s = args.minutes * 60

    def callback(event: Any) -> None:
        if isinstance(event, Started):
            state["start"] = time.perf_counter()
            print(f"{event.device}, {event.precision}, channels_last={event.channels_last}, "
                  f"threads={event.threads}, {event.steps_per_epoch} steps/epoch", flush=True)
        elif isinstance(event, EpochEnd):
            elapsed = time.perf_counter() - state["start"]
            print(f"epoch {event.epoch:2d}  test acc {event.test_acc:.4f}  train acc "
                  f"{event.train_acc:.4f}  loss {event.train_loss:.3f}  {elapsed:7.1f} s",
                  flush=True)
            if event.test_acc is not None and event.test_acc >= args.target \
                    and state["reached"] is None:
                state["reached"] = elapsed
                trainer.stop()
        elif isinstance(event, Finished):
            state["result"] = event
        elif isinstance(event, Failed):
            print(f"failed: {event.message}", file=sys.stderr)

    trainer = Trainer(design, config, callback)
    watchdog = threading.Thread(target=_watch, args=(trainer, state, limit_s), daemon=True)
    watchdog.start()
    trainer.run()
    reached = state["reached"]
    if reached is not None and reached <= limit_s:
        print(f"reached {args.target:.2%} in {reached:.1f} s ({reached / 60:.2f} min)")
        return 0
    final = state["result"].metrics["test_acc"] if state["result"] else float("nan")
    print(f"target {args.target:.2%} NOT reached in {args.minutes:g} min "
          f"(final test accuracy {final:.4f})")
    return 1


def _gpu(device: str) -> bool:
    import torch
    return device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())


def _watch(trainer: Trainer, state: dict[str, Any], limit_s: float) -> None:
    while True:
        time.sleep(0.5)
        start = state["start"]
        if state["result"] is not None or state["reached"] is not None:
            return
        if start is not None and time.perf_counter() - start > limit_s:
            trainer.stop()
            return


if __name__ == "__main__":
    sys.exit(main())
