"""Time to accuracy on real CIFAR-10 with the engine, over several seeded runs.

    python tests/benchmarks/time_to_accuracy.py --sample fast_cifar_cpu --runs 3 --marks 5,10
    python tests/benchmarks/time_to_accuracy.py --sample fast_cifar --device cuda --runs 3 \\
        --target 0.935 --marks 0.0667
    python tests/benchmarks/time_to_accuracy.py --sample lenet5 --target 0.60 --minutes 5

Each run is timed from pressing Start (Trainer.run(): dataset loading, the
whitening fit and every evaluation included; the dataset cache is emptied
before each run) to its final test accuracy (with test-time augmentation when
the settings ask for it). Runs use seeds --seed, --seed + 1, ... . Printed per
run: the test accuracy after each epoch with the elapsed time, the final
accuracy and time, the best accuracy reached within each time mark (--marks,
in minutes); then the mean and spread (sample standard deviation, min-max)
over the runs. --minutes stops a run at that limit (its stopped model is
still evaluated, within the timing).

Settings: the sample's own "training" object (fast_cifar: airbench94's recipe
for a GPU; fast_cifar_cpu: the narrow CPU variant), or --recipe, then single
options; --epochs scales the warm-up, the averaging start and the whitening
bias epochs with it (the run keeps its shape). CIFAR-10 is found or built as in train_throughput.py (--data-dir).
Exit 0 when the mean final accuracy reaches --target (if given) within
--minutes, 1 otherwise. The shared CIFAR-10 copy was stored as JPEG, which
costs 1-3 points against the original pixels: say so with the figures.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from train_throughput import ensure_cifar  # noqa: E402  (also puts the repo on sys.path)

from designer.core.recipes import RECIPES, recipe  # noqa: E402
from designer.core.training_config import TrainConfig  # noqa: E402
from designer.io import load  # noqa: E402
from designer.nn import train_setup  # noqa: E402
from designer.nn.events import EpochEnd, Failed, Finished, Started  # noqa: E402
from designer.nn.trainer import Trainer  # noqa: E402

# Samples without a "training" object of their own.
DEFAULTS: dict[str, dict[str, Any]] = {
    # LeNet-5 is small: light augmentation (flip only) and a short one-cycle.
    # Measured: 62% after epoch 4 of 5 (27 s, 1 thread, 2-core CPU).
    "lenet5": dict(epochs=5, batch_size=128, optimizer="sgd", lr=0.08, momentum=0.9,
                   nesterov=True, weight_decay=5e-4, schedule="onecycle", warmup_epochs=1,
                   augment_crop=False, augment_flip=True, label_smoothing=0.0),
}
OPTIONS = ("epochs", "batch_size", "lr", "weight_decay", "label_smoothing", "optimizer",
           "schedule", "warmup_epochs", "threads", "precision", "cutout", "tta",
           "channels_last")
TEXT = ("optimizer", "schedule", "precision", "tta", "channels_last")
WHOLE = ("epochs", "batch_size", "threads", "cutout")


def settings_for(args: argparse.Namespace, design: Any) -> dict[str, Any]:
    settings = dict(DEFAULTS.get(args.sample) or TrainConfig.from_dict(
        design.training).to_dict())
    if args.recipe:
        settings.update(recipe(args.recipe))
    planned = settings.get("epochs")
    settings.update({k: getattr(args, k) for k in OPTIONS if getattr(args, k) is not None})
    if args.epochs and planned and args.epochs != planned:
        # a shorter or longer run keeps its shape: the epoch-counted settings scale with it
        for key in ("warmup_epochs", "average_start_epoch", "whiten_bias_epochs"):
            if key in settings and getattr(args, key, None) is None:
                settings[key] = round(settings[key] * args.epochs / planned, 2)
    for machine in ("dataset", "data_dir", "device", "out_dir", "train_limit", "test_limit",
                    "download", "seed"):
        settings.pop(machine, None)
    if settings.get("threads") is None:
        settings["threads"] = os.cpu_count()   # headless: every core
    return settings


def one_run(design: Any, config: TrainConfig, limit_s: float | None,
            target: float | None) -> dict[str, Any]:
    """Timings and accuracies of one run, from pressing Start."""
    train_setup._cache.clear()            # each run loads the dataset, as a fresh Start
    state: dict[str, Any] = {"epochs": [], "final": None, "final_s": None, "reached": None}
    start = time.perf_counter()

    def callback(event: Any) -> None:
        elapsed = time.perf_counter() - start
        if isinstance(event, Started):
            state["started_s"] = elapsed
            print(f"  {event.device}, {event.precision}, channels_last={event.channels_last}, "
                  f"threads={event.threads}, {event.steps_per_epoch} steps/epoch; "
                  f"setup {elapsed:.1f} s", flush=True)
            for note in event.notes:
                print(f"  note: {note}", flush=True)
        elif isinstance(event, EpochEnd):
            state["epochs"].append((elapsed, event.test_acc))
            print(f"  epoch {event.epoch:2d}  test acc {event.test_acc:.4f}  train acc "
                  f"{event.train_acc:.4f}  loss {event.train_loss:.3f}  {elapsed:7.1f} s",
                  flush=True)
            if target is not None and event.test_acc >= target and state["reached"] is None:
                state["reached"] = elapsed
        elif isinstance(event, Finished):
            state["final"], state["final_s"] = event.metrics["test_acc"], elapsed
            state["evaluated"] = event.metrics.get("evaluated")
        elif isinstance(event, Failed):
            print(f"  failed: {event.message}", file=sys.stderr, flush=True)
            state["failed"] = event.message

    trainer = Trainer(design, config, callback)
    if limit_s is not None:
        threading.Thread(target=_watch, args=(trainer, state, start, limit_s),
                         daemon=True).start()
    trainer.run()
    if target is not None and state["final"] is not None and state["final"] >= target:
        state["reached"] = min(state["reached"] or state["final_s"], state["final_s"])
    return state


def best_within(state: dict[str, Any], seconds: float) -> float | None:
    points = list(state["epochs"])
    if state["final"] is not None:
        points.append((state["final_s"], state["final"]))
    accs = [acc for t, acc in points if t <= seconds]
    return max(accs) if accs else None


def spread(values: list[float], unit: str = "", scale: float = 1.0, fmt: str = ".4f") -> str:
    if not values:
        return "n/a"
    v = [x * scale for x in values]
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return (f"mean {statistics.mean(v):{fmt}}{unit} sd {sd:{fmt}}{unit} "
            f"(min {min(v):{fmt}}, max {max(v):{fmt}}; {len(v)} run{'s' * (len(v) > 1)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default="fast_cifar_cpu",
                        help="a sample name (samples/NAME.json)")
    parser.add_argument("--recipe", choices=RECIPES, help="settings from this recipe")
    parser.add_argument("--runs", type=int, default=1, help="runs, seeds --seed, --seed+1...")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", type=float, help="accuracy to reach (e.g. 0.93)")
    parser.add_argument("--minutes", type=float, help="stop each run after this long")
    parser.add_argument("--marks", default="5,10",
                        help="minutes at which to report the best accuracy reached")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-dir")
    for name in OPTIONS:
        kind = str if name in TEXT else int if name in WHOLE else float
        parser.add_argument("--" + name.replace("_", "-"), type=kind)
    args = parser.parse_args()
    marks = [float(m) for m in args.marks.split(",") if m.strip()]

    data_dir = ensure_cifar(args.data_dir)
    design = load(ROOT.parents[1] / "samples" / f"{args.sample}.json")
    settings = settings_for(args, design)
    print(f"{args.sample}: {args.runs} run(s); load average {os.getloadavg()[0]:.2f}; "
          f"settings {settings}", flush=True)
    limit_s = args.minutes * 60 if args.minutes else None
    results = []
    for i in range(args.runs):
        seed = args.seed + i
        print(f"run {i + 1}/{args.runs} (seed {seed})", flush=True)
        config = TrainConfig(dataset="cifar10", data_dir=str(data_dir), device=args.device,
                             seed=seed, **settings)
        state = one_run(design, config, limit_s, args.target)
        results.append(state)
        if state["final"] is None:
            return 1
        line = [f"  final test accuracy {state['final']:.4f} ({state.get('evaluated')}) "
                f"at {state['final_s']:.1f} s from Start"]
        for m in marks:
            best = best_within(state, m * 60)
            line.append(f"best within {m:g} min: " + (f"{best:.4f}" if best else "none"))
        print("; ".join(line), flush=True)

    print(f"\nsummary over {len(results)} run(s), seeds {args.seed}..{args.seed + args.runs - 1}"
          f" (real CIFAR-10 stored as JPEG: 1-3 points below the original pixels)")
    print("  final accuracy:", spread([r["final"] for r in results], "%", 100, ".2f"))
    print("  time from Start to final accuracy:",
          spread([r["final_s"] for r in results], " s", 1, ".1f"))
    for m in marks:
        bests = [best_within(r, m * 60) for r in results]
        got = [b for b in bests if b is not None]
        print(f"  best accuracy within {m:g} min:", spread(got, "%", 100, ".2f")
              + (f" ({len(bests) - len(got)} run(s) had no result by then)"
                 if len(got) < len(bests) else ""))
    if args.target is None:
        return 0
    reached = [r["reached"] for r in results if r["reached"] is not None]
    print(f"  reached {args.target:.2%} in {len(reached)}/{len(results)} runs"
          + (f"; time to it: {spread(reached, ' s', 1, '.1f')}" if reached else ""))
    mean_final = statistics.mean(r["final"] for r in results)
    in_time = limit_s is None or statistics.mean(r["final_s"] for r in results) <= limit_s
    return 0 if mean_final >= args.target and in_time else 1


def _watch(trainer: Trainer, state: dict[str, Any], start: float, limit_s: float) -> None:
    while state["final"] is None and "failed" not in state:
        time.sleep(0.5)
        if time.perf_counter() - start > limit_s:
            trainer.stop()
            return


if __name__ == "__main__":
    sys.exit(main())
