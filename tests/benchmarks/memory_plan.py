"""The memory and time plan held against real training steps.

For every sample and for ResNet-18/50, VGG-11 and MobileNetV2 at 224x224
(built here as designs, no torchvision), at two batch sizes, each optimizer
and precision: run real steps with the trainer's own code (the learning-rate
update, Trainer._train_step, Trainer._report) and measure the peak of live
tensor storage (CPU: designer.nn.memory_probe.LiveStorage tracks every
storage an op creates until it is freed; CUDA: torch.cuda.max_memory_allocated)
and the step time, then the trainer's evaluation (one batch of its size,
designer/nn/trainer.py eval_batch); print plan vs measured and their ratio.
3-D volumes and clips run at the 224x224 networks' batch sizes; 1-D and 3-D
inputs without channels_last or augmentation, as the trainer runs them.

    python tests/benchmarks/memory_plan.py                 # the default matrix
    python tests/benchmarks/memory_plan.py --quick         # samples only, fewer cases
    python tests/benchmarks/memory_plan.py --models resnet18,lenet5 --batches 2,4 \\
        --optimizers sgd,adam --precisions fp32 --no-time

Acceptance (issue 16): planned peak within 10% of measured on every CPU case,
planned epoch time within 30% of measured. Times on a shared machine are noisy.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from designer.core.analysis import analyse  # noqa: E402
from designer.core.catalogue import is_known  # noqa: E402
from designer.core.model import Design, InputSpec  # noqa: E402
from designer.core.calibration_data import median_of  # noqa: E402
from designer.core.plan_time import estimate, eval_batch_size  # noqa: E402
from designer.core.planner import PlanSettings, plan  # noqa: E402
from designer.core.training_config import TrainConfig  # noqa: E402
from designer.io import load  # noqa: E402
from designer.nn import allocator  # noqa: E402
from designer.nn import train_setup as setup  # noqa: E402
from designer.nn.augment import Normaliser  # noqa: E402
from designer.nn.build import build  # noqa: E402
from designer.nn import calibrate as calibration  # noqa: E402
from designer.nn.calibrate import cached, measure as calibrate  # noqa: E402
from designer.nn.train_eval import predict_logits  # noqa: E402
from designer.nn.trainer import Trainer, _Throughput, lr_now  # noqa: E402
from designer.nn.memory_probe import LiveStorage, state_tensors  # noqa: E402

clock = time.perf_counter   # --cpu-time: time.thread_time
STATISTIC: Callable[[list[float]], float] = statistics.median   # --best: min
WARM_S, TIMED_S, MAX_STEPS = 0.2, 0.5, 400   # a case's warm-up and timed steps
OPTIMIZERS = calibration.OPTIMIZER_SETTINGS   # the plan's names: (optimizer, momentum)


# --- the 224x224 networks, as designs ---------------------------------------------

class _Builder:
    def __init__(self, name: str, classes: int = 1000) -> None:
        self.d = Design(name, InputSpec(3, 224, 224))
        self.classes = classes
        self.n = 0

    def add(self, type_name: str, params: dict[str, Any] | None = None,
            inputs: list[str] | None = None) -> str:
        self.n += 1
        lid = f"{type_name.lower()}{self.n}"
        self.d.add_layer(type_name, params or {}, inputs, layer_id=lid)
        return lid

    def conv_bn(self, x: str, out: int, k: int, s: int = 1, groups: int = 1,
                act: str | None = "ReLU") -> str:
        x = self.add("Conv2d", {"out_channels": out, "kernel_size": k, "stride": s,
                                "padding": k // 2, "groups": groups, "bias": False}, [x])
        x = self.add("BatchNorm2d", {}, [x])
        return self.add(act, {}, [x]) if act else x

    def head(self, x: str, hidden: list[int] | None = None, dropout: float = 0.0) -> Design:
        x = self.add("AdaptiveAvgPool2d", {"output_size": 1 if not hidden else 7}, [x])
        x = self.add("Flatten", {}, [x])
        for h in hidden or []:
            x = self.add("Linear", {"out_features": h}, [x])
            x = self.add("ReLU", {}, [x])
            x = self.add("Dropout", {"p": 0.5}, [x])
        if dropout:
            x = self.add("Dropout", {"p": dropout}, [x])
        self.add("Linear", {"out_features": self.classes}, [x])
        return self.d


def resnet(depth: int) -> Design:
    b = _Builder(f"ResNet-{depth}")
    x = b.conv_bn("input", 64, 7, 2)
    x = b.add("MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1}, [x])
    blocks = {18: [2, 2, 2, 2], 50: [3, 4, 6, 3]}[depth]
    bottleneck = depth >= 50
    channels = 64
    for stage, (n, width) in enumerate(zip(blocks, (64, 128, 256, 512))):
        for i in range(n):
            stride = 2 if stage > 0 and i == 0 else 1
            out = width * 4 if bottleneck else width
            if bottleneck:
                y = b.conv_bn(x, width, 1)
                y = b.conv_bn(y, width, 3, stride)
                y = b.conv_bn(y, out, 1, act=None)
            else:
                y = b.conv_bn(x, width, 3, stride)
                y = b.conv_bn(y, width, 3, act=None)
            skip = x if stride == 1 and channels == out else b.conv_bn(x, out, 1, stride, act=None)
            x = b.add("ReLU", {}, [b.add("Add", {}, [y, skip])])
            channels = out
    return b.head(x)


def vgg11() -> Design:
    b = _Builder("VGG-11")
    x = "input"
    for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
        if v == "M":
            x = b.add("MaxPool2d", {"kernel_size": 2}, [x])
        else:
            x = b.add("Conv2d", {"out_channels": v, "kernel_size": 3, "padding": 1}, [x])
            x = b.add("ReLU", {}, [x])
    return b.head(x, hidden=[4096, 4096])


def mobilenet_v2() -> Design:
    b = _Builder("MobileNetV2")
    act = "ReLU6" if is_known("ReLU6") else "ReLU"
    x = b.conv_bn("input", 32, 3, 2, act=act)
    channels = 32
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = channels * t
            y = b.conv_bn(x, hidden, 1, act=act) if t != 1 else x
            y = b.conv_bn(y, hidden, 3, stride, groups=hidden, act=act)
            y = b.conv_bn(y, c, 1, act=None)
            x = b.add("Add", {}, [y, x]) if stride == 1 and channels == c else y
            channels = c
    x = b.conv_bn(x, 1280, 1, act=act)
    return b.head(x, dropout=0.2)


NETWORKS: dict[str, Callable[[], Design]] = {
    "resnet18": lambda: resnet(18), "resnet50": lambda: resnet(50), "vgg11": vgg11,
    "mobilenetv2": mobilenet_v2}


def designs(names: list[str]) -> dict[str, Design]:
    out = {}
    for name in names:
        path = ROOT / "samples" / f"{name}.json"
        out[name] = load(path) if path.exists() else NETWORKS[name]()
    return out


# --- measuring ------------------------------------------------------------------

def measure(design: Design, device: torch.device, batch: int, optimizer: str,
            precision: str, channels_last: bool, time_steps: int) -> dict[str, Any]:
    """Peak bytes of one steady-state step and the median wall time of steps
    taken by the trainer's own code (designer/nn/trainer.py: the learning-rate
    update, Trainer._train_step with its gather, crop and flip, normalise, loss,
    optimizer and running sums, and Trainer._report reading the loss)."""
    torch.manual_seed(0)
    name, momentum = OPTIMIZERS[optimizer]
    model = build(design).to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    config = TrainConfig(optimizer=name, momentum=momentum, batch_size=batch)
    opt = setup.make_optimizer(model, config)
    shape = design.input.shape
    norm = Normaliser([0.5] * shape[0], [0.25] * shape[0], device, channels_last)
    classes = model.output_shape[0]
    trainer = Trainer(design, config, lambda event: None)
    trainer.model, trainer._optimizer, trainer._normalise = model, opt, norm
    trainer.device, trainer.precision = device, precision
    generator = trainer._generator
    pool = torch.randint(0, 256, (4 * batch, *shape), dtype=torch.uint8, device=device)
    labels = torch.randint(0, classes, (4 * batch,), device=device)
    sums = {"loss": torch.zeros((), device=device),
            "correct": torch.zeros((), device=device, dtype=torch.long), "seen": 0}
    timer = _Throughput(batch)
    steps = 50000 // batch

    def data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        idx = torch.randperm(len(pool), generator=generator)[:batch].to(device)
        return pool[idx], labels[idx], idx

    def step(images: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> None:
        for g in opt.param_groups:   # the trainer's loop body, Trainer._train_epoch
            g["lr"] = float(config.lr) * setup.lr_factor(
                trainer.global_step, steps, steps // 10, config.schedule,
                config.lr_start_factor, config.lr_end_factor) * g.get("lr_scale", 1.0)
        loss = trainer._train_step(images, y, sums, idx)
        trainer._report(1, loss, lr_now(opt), steps, steps, timer, 0.0)

    # warm up as a long run would be: a few milliseconds' step is still
    # settling (caches, the allocator's free blocks) after two
    _run_steps(lambda: step(*data()), device, 2, WARM_S)
    images, y, idx = data()
    # the memory probe's step leaves out augmentation: the plan counts the
    # batch as the model receives it
    trainer.config = replace(config, augment_crop=False, augment_flip=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        step(images, y, idx)
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
    else:
        probe = LiveStorage(state_tensors(model, opt) + [images, y])
        with probe:
            step(images, y, idx)
        peak = probe.peak
    trainer.config = config
    times = _run_steps(lambda: step(*data()), device, time_steps,
                       TIMED_S if time_steps else 0.0)
    return {"peak": peak, "step_s": STATISTIC(times) if times else 0.0,
            "model": model, "norm": norm}


def _run_steps(run: Callable[[], None], device: torch.device, steps: int,
               seconds: float) -> list[float]:
    """Each step's time, for at least this many steps and seconds (a sample
    of a few steps of a few milliseconds measures the host's moods, not the
    epoch's steady pace), at most MAX_STEPS."""
    times: list[float] = []
    while len(times) < steps or (sum(times) < seconds and len(times) < MAX_STEPS):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = clock()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(clock() - start)
    return times


def eval_seconds(model: torch.nn.Module, norm: Normaliser, design: Design,
                 device: torch.device, precision: str, images: int) -> float:
    """Seconds the trainer's evaluation takes for this many images (one batch
    of EVAL_BATCH or fewer, best of two)."""
    x = torch.randint(0, 256, (images, *design.input.shape), dtype=torch.uint8, device=device)
    best = float("inf")
    for _ in range(2):
        start = clock()
        predict_logits(model, x, norm, lambda: setup.autocast(device, precision),
                       batch=images)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, clock() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    with allocator.keep_freed_memory():   # as the trainer runs (Trainer.run)
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", help="comma list: sample names and resnet18, resnet50, "
                    "vgg11, mobilenetv2 (default: all)")
    ap.add_argument("--batches", help="two batch sizes for the samples (default 32,64)")
    ap.add_argument("--big-batches", help="batch sizes at 224x224 (default 2,4)")
    ap.add_argument("--optimizers", default="sgd,sgd-momentum,adam,adamw")
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--big-precisions", default="fp32",
                    help="precisions for the 224x224 networks (bf16 is slow without "
                         "native CPU support)")
    ap.add_argument("--channels-last", choices=("auto", "on", "off"), default="auto")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--time-steps", type=int, default=5, help="timed steps per case, at least (0: none; short steps are timed for TIMED_S)")
    ap.add_argument("--no-time", action="store_true")
    ap.add_argument("--best", action="store_true",
                    help="the fastest timed step rather than the median (a loaded machine "
                         "only ever slows a step down; the calibration takes its best too)")
    ap.add_argument("--quick", action="store_true", help="samples only, sgd-momentum and adam")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run the matrix this many times; report the median over rounds of "
                         "each figure (the calibration's too): the host's speed drifts")
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--cached-calibration", action="store_true",
                    help="read the calibration from the cache (default: measure it afresh "
                         "for each design and precision, just before its cases)")
    ap.add_argument("--cpu-time", action="store_true",
                    help="measure steps and the calibration in CPU time of the one torch "
                         "thread (needs --threads 1): on a loaded machine wall time mostly "
                         "measures the other processes")
    ap.add_argument("--train-images", type=int, default=50000)
    ap.add_argument("--eval-images", type=int, default=10000,
                    help="images the trainer evaluates after each epoch (test + validation)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.best:
        global STATISTIC
        STATISTIC = min
    if args.cpu_time:
        if torch.get_num_threads() != 1:
            ap.error("--cpu-time needs --threads 1")
        global clock
        clock = calibration.clock = time.thread_time
    device = torch.device(args.device)
    samples = sorted(p.stem for p in (ROOT / "samples").glob("*.json"))
    names = args.models.split(",") if args.models else (
        samples if args.quick else samples + list(NETWORKS))
    optimizers = ["sgd-momentum", "adam"] if args.quick else args.optimizers.split(",")
    small = [int(b) for b in (args.batches or "32,64").split(",")]
    big = [int(b) for b in (args.big_batches or "2,4").split(",")]
    time_steps = 0 if args.no_time else args.time_steps
    print(f"device {device}, torch threads {torch.get_num_threads()}, "
          f"load average {Path('/proc/loadavg').read_text().split()[:3]}"
          if Path("/proc/loadavg").exists() else f"device {device}")
    groups = []   # (name, design, analysis, batch, precision, channels_last)
    for name, design in designs(names).items():
        analysis = analyse(design)
        elements = math.prod(design.input.shape)
        is_big = elements >= 3 * 128 * 128   # 224x224 images, 3-D volumes and clips
        has_conv = any(i.type.startswith("Conv") for i in analysis.layers.values())
        # as setup.resolve_channels_last: 2-D images only
        cl = design.input.rank == 2 and (
            args.channels_last == "on" or (args.channels_last == "auto" and has_conv))
        for batch in big if is_big else small:
            for precision in (args.big_precisions if is_big else args.precisions).split(","):
                groups.append((name, design, analysis, batch, precision, cl))
    # each round runs the whole matrix again: the host's speed drifts over
    # seconds to minutes; each figure is the median over rounds of its best
    # in the round (steps, evaluation and calibration alike)
    cals: dict[int, list[Any]] = {}
    found: dict[tuple[int, str], list[dict[str, Any]]] = {}
    evals: dict[int, list[float]] = {}
    for round_ in range(args.rounds):
        if args.rounds > 1:
            print(f"round {round_ + 1}/{args.rounds}", flush=True)
        for g, (name, design, analysis, batch, precision, cl) in enumerate(groups):
            if time_steps:
                cals.setdefault(g, []).append(
                    cached(device, precision, cl) if args.cached_calibration
                    else calibrate(device, precision, cl))
            for optimizer in optimizers:
                m = measure(design, device, batch, optimizer, precision, cl, time_steps)
                if time_steps and optimizer == optimizers[0]:   # the same for every optimizer
                    evals.setdefault(g, []).append(eval_seconds(
                        m["model"], m["norm"], design, device, precision,
                        min(eval_batch_size(math.prod(design.input.shape)), args.eval_images)))
                del m["model"], m["norm"]
                found.setdefault((g, optimizer), []).append(m)
    print(f"{'design':<14}{'batch':>6} {'optimizer':<13}{'prec':<5}{'cl':<3}"
          f"{'planned':>10}{'measured':>10}{'ratio':>7}  {'step est':>9}{'step real':>10}"
          f"{'ratio':>7}{'epoch':>7}")
    rows = []
    for g, (name, design, analysis, batch, precision, cl) in enumerate(groups):
        cal = median_of(cals[g]) if time_steps else None
        eval_s = statistics.median(evals[g]) if time_steps else 0.0
        # the evaluation batch: the trainer's (20 at 3x224x224)
        eval_batch = min(eval_batch_size(math.prod(design.input.shape)), args.eval_images)
        for optimizer in optimizers:
            opt_name, momentum = OPTIMIZERS[optimizer]
            p = plan(design, PlanSettings(batch_size=batch, optimizer=opt_name,
                                          momentum=momentum, precision=precision,
                                          channels_last=cl, device=device.type), analysis)
            runs = found[(g, optimizer)]
            m = {"peak": max(r["peak"] for r in runs),
                 "step_s": statistics.median(r["step_s"] for r in runs)}
            row = {"design": name, "batch": batch, "optimizer": optimizer,
                   "precision": precision, "channels_last": cl,
                   "planned": p.peak, "measured": m["peak"],
                   "ratio": p.peak / m["peak"], "phase": p.phase}
            line = (f"{name:<14}{batch:>6} {optimizer:<13}{precision:<5}{int(cl):<3}"
                    f"{p.peak / 1e6:>9.1f}M{m['peak'] / 1e6:>9.1f}M{row['ratio']:>7.3f}")
            if cal is not None:
                est = estimate(design, analysis, cal, batch, args.train_images,
                               args.eval_images, precision, opt_name, p.gradients,
                               momentum > 0, eval_batch)
                real_epoch = (est.steps_per_epoch * m["step_s"]
                              + args.eval_images / eval_batch * eval_s)
                row.update(calibration=cal.to_dict(), eval_planned=est.eval_s,
                           eval_measured=args.eval_images / eval_batch * eval_s)
                row.update(step_planned=est.step_s, step_measured=m["step_s"],
                           epoch_planned=est.epoch_s, epoch_measured=real_epoch,
                           epoch_ratio=est.epoch_s / real_epoch)
                line += (f"  {est.step_s * 1000:>7.0f}ms{m['step_s'] * 1000:>8.0f}ms"
                         f"{est.step_s / m['step_s']:>7.2f}{row['epoch_ratio']:>7.2f}")
            print(line, flush=True)
            rows.append(row)
    ratios = [r["ratio"] for r in rows]
    within = sum(abs(r - 1) <= 0.10 for r in ratios)
    print(f"\nmemory: {within}/{len(rows)} cases within 10% "
          f"(ratio min {min(ratios):.3f}, max {max(ratios):.3f})")
    if time_steps:
        er = [r["epoch_ratio"] for r in rows]
        print(f"epoch time: {sum(abs(r - 1) <= 0.30 for r in er)}/{len(er)} within 30% "
              f"(ratio min {min(er):.2f}, median {statistics.median(er):.2f}, max {max(er):.2f});"
              " noisy on a shared machine")
        steps = [r["step_planned"] / r["step_measured"] for r in rows]
        print(f"step time: {sum(abs(r - 1) <= 0.30 for r in steps)}/{len(steps)} within 30% "
              f"(ratio min {min(steps):.2f}, median {statistics.median(steps):.2f}, "
              f"max {max(steps):.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0 if within == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
