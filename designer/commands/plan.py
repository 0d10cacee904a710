"""Plan a training step before training: memory per layer (what backward
keeps), parameters, gradients, optimizer state, the peak, the largest batch
that fits a memory size, and the time per epoch on this device
(exit 0 ok, 1 design errors, 2 unreadable file)."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from designer.core.analysis import analyse
from designer.core.plan_report import parse_size, plan_dict, plan_table, settings_for
from designer.core.plan_time import TimeEstimate, slow_in_cpu_bf16
from designer.core.planner import Plan, PlanError, plan
from designer.core.training_config import TrainConfig
from designer.io import DesignFileError, load

OPTIMIZER_CHOICES = ("sgd", "sgd-momentum", "adam", "adamw")
CIFAR_TRAIN, CIFAR_TEST, SYNTHETIC_TRAIN, SYNTHETIC_TEST = 50000, 10000, 10000, 2000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="design file (.json)")
    parser.add_argument("--batch-size", type=int, help="default: the design's training "
                        "settings (128)")
    parser.add_argument("--optimizer", choices=OPTIMIZER_CHOICES,
                        help="default: the design's training settings (sgd-momentum)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"),
                        help="autocast precision (default: the design's, auto)")
    parser.add_argument("--device", help="auto, cpu, cuda or mps (default: the design's, auto); "
                        "a device this machine lacks is planned without a time estimate")
    parser.add_argument("--channels-last", choices=("auto", "on", "off"))
    parser.add_argument("--memory", help="memory to fit, e.g. 8GB, 24GiB, 512MiB: prints "
                        "the largest batch that fits")
    parser.add_argument("--no-time", action="store_true",
                        help="skip the time estimate (and the device calibration)")
    parser.add_argument("--threads", type=int, help="CPU threads for the time estimate "
                        "(default: every core)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def resolve(config: TrainConfig, macs: int, has_conv: bool, slow_bf16: list[str] | None = None
            ) -> tuple[str, str, bool, bool, list[str]]:
    """(device type, precision, channels_last, device present, notes); torch
    decides what auto means where the device exists."""
    notes: list[str] = []
    from designer.nn import train_setup as setup
    name = (config.device or "auto").lower()
    try:
        device = setup.resolve_device(name)
        present, kind = True, device.type
        precision = setup.resolve_precision(config.precision, device, notes, macs, slow_bf16)
        if kind == "cpu" and precision in ("bf16", "fp16") and not setup.cpu_has_fast_bf16():
            notes.append(f"{precision} is slow on this CPU (no native support: it is emulated, "
                         "often ~10x slower than fp32)")
    except setup.SetupError as e:
        kind = "cuda" if name.startswith("cuda") else name
        if kind not in ("cpu", "cuda", "mps"):
            raise PlanError(str(e)) from None
        present = False
        wanted = (config.precision or "auto").lower()
        precision = "bf16" if wanted == "auto" and kind == "cuda" else (
            "fp32" if wanted == "auto" else wanted)
        notes.append(f"no {kind} device here: planned for it without a time estimate")
    cl = (config.channels_last or "auto").lower()
    channels_last = cl in ("on", "true", "yes") or (
        cl == "auto" and has_conv and kind in ("cuda", "cpu"))
    return kind, precision, channels_last, present, notes


def time_estimate(design: Any, analysis: Any, p: Plan, config: TrainConfig,
                  cache_dir: Any = None) -> TimeEstimate:
    import torch

    from designer.core.plan_time import estimate
    from designer.nn.calibrate import cached
    device = torch.device("cuda" if p.settings.device == "cuda" else p.settings.device)
    cal = cached(device, p.settings.precision, p.settings.channels_last, cache_dir)
    synthetic = (config.dataset or "").lower() == "synthetic"
    train = config.train_limit or (SYNTHETIC_TRAIN if synthetic else CIFAR_TRAIN)
    test = config.test_limit or (SYNTHETIC_TEST if synthetic else CIFAR_TEST)
    train_images = max(0, train - int(config.val_split or 0))
    return estimate(design, analysis, cal, p.batch_size, train_images,
                    test + int(config.val_split or 0), p.settings.precision,
                    p.settings.optimizer, p.gradients, p.settings.momentum > 0,
                    augment=config.augment_crop or config.augment_flip)


def _config(design: Any, args: argparse.Namespace) -> TrainConfig:
    config = TrainConfig.from_dict(design.training)
    if args.batch_size is not None:
        config.batch_size = args.batch_size
    if args.optimizer:
        config.optimizer = "sgd" if args.optimizer.startswith("sgd") else args.optimizer
        if args.optimizer == "sgd":
            config.momentum = 0.0
        elif args.optimizer == "sgd-momentum" and config.momentum <= 0:
            config.momentum = 0.9
    for name in ("precision", "device", "channels_last"):
        if getattr(args, name):
            setattr(config, name, getattr(args, name))
    return config


def run(args: argparse.Namespace) -> int:
    try:
        design = load(args.file)
    except DesignFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        memory = parse_size(args.memory) if args.memory else None
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    analysis = analyse(design)
    if not analysis.ok:
        messages = [(f"{where}: " if where else "") + issue.message
                    for where, issue in analysis.all_errors]
        if args.json:
            print(json.dumps({"errors": messages}, indent=2))
        else:
            print(f"the design has {len(messages)} error(s), so it cannot be planned:",
                  file=sys.stderr)
            for m in messages:
                print(f"  {m}", file=sys.stderr)
        return 1
    config = _config(design, args)
    if config.batch_size < 1:
        print("error: the batch size must be at least 1", file=sys.stderr)
        return 2
    has_conv = any(info.type.startswith("Conv") for info in analysis.layers.values())
    try:
        kind, precision, channels_last, present, notes = resolve(
            config, analysis.total_macs, has_conv, slow_in_cpu_bf16(analysis))
        p = plan(design, settings_for(config, kind, precision, channels_last), analysis)
    except PlanError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    estimate = None
    note = "; ".join(notes)
    if present and not args.no_time:
        if args.threads and kind == "cpu":
            import torch
            torch.set_num_threads(args.threads)
        estimate = time_estimate(design, analysis, p, config)
        note = note or f"on this {kind}"
    if args.json:
        print(json.dumps(plan_dict(p, memory, estimate), indent=2))
    else:
        print(plan_table(p, design.name, memory, estimate, note))
    return 0
