"""The memory plan in words: sizes, the per-layer table, the JSON object of
`cnn-designer plan --json` (DESIGN.md section 6) and the one-line summary the
Train mode shows next to Start. Pure Python."""
from __future__ import annotations

import re
from typing import Any

from designer.core.plan_time import TimeEstimate, format_seconds
from designer.core.planner import Plan, PlanSettings
from designer.core.training_config import TrainConfig

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 10 ** 3, "kib": 1 << 10, "m": 1 << 20,
          "mb": 10 ** 6, "mib": 1 << 20, "g": 1 << 30, "gb": 10 ** 9, "gib": 1 << 30,
          "t": 1 << 40, "tb": 10 ** 12, "tib": 1 << 40}
OPTIMIZER_LABELS = {"sgd": "SGD", "sgd-momentum": "SGD with momentum", "adam": "Adam",
                    "adamw": "AdamW"}
PHASES = {"forward": "at the end of the forward pass", "backward": "during backward",
          "optimizer step": "during the optimizer step"}


def parse_size(text: str) -> int:
    """'8GB' (10^9), '8GiB' or '8G' (2^30), '512MiB', '1.5 GB', '123456' (bytes)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    unit = m.group(2).lower() if m else None
    if m is None or unit not in _UNITS:
        raise ValueError(f"'{text}' is not a memory size: write e.g. 8GB, 8GiB or 512MiB")
    return int(float(m.group(1)) * _UNITS[unit])


def fmt_bytes(n: float) -> str:
    """Decimal units, as drive and GPU makers print them: 1.2 GB."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{int(n)} B"


def optimizer_name(config: TrainConfig) -> str:
    """sgd, sgd-momentum, adam or adamw, from the training settings."""
    name = (config.optimizer or "sgd").lower()
    if name == "sgd" and config.momentum > 0:
        return "sgd-momentum"
    return name


def settings_for(config: TrainConfig, device_type: str, precision: str,
                 channels_last: bool, data_bytes: int = 0) -> PlanSettings:
    """Plan settings from training settings, with device, precision and memory
    format already resolved (torch decides what "auto" means)."""
    name = optimizer_name(config)
    return PlanSettings(batch_size=int(config.batch_size),
                        optimizer="sgd" if name.startswith("sgd") else name,
                        momentum=float(config.momentum) if name == "sgd-momentum" else 0.0,
                        nesterov=bool(config.nesterov), weight_decay=float(config.weight_decay),
                        precision=precision, channels_last=channels_last, device=device_type,
                        data_bytes=data_bytes)


def plan_dict(plan: Plan, memory: int | None = None,
              time: TimeEstimate | None = None) -> dict[str, Any]:
    s = plan.settings
    out: dict[str, Any] = {
        "peak_bytes": plan.peak,
        "breakdown": plan.breakdown,
        "layers": [{"id": lp.id, "type": lp.type, "saved_bytes": lp.saved_bytes}
                   for lp in plan.layers],
        "batch_size": s.batch_size, "optimizer": s.optimizer, "momentum": s.momentum,
        "precision": s.precision, "channels_last": s.channels_last, "device": s.device,
        "peak_phase": plan.phase,
    }
    if memory is not None:
        out["memory_bytes"] = memory
        out["max_batch_size"] = plan.max_batch_size(memory)
    out["epoch_seconds"] = None if time is None else round(time.epoch_s, 3)
    if time is not None:
        low, high = time.epoch_range
        out["epoch_seconds_range"] = [round(low, 3), round(high, 3)]
        out["step_seconds"] = round(time.step_s, 5)
        out["steps_per_epoch"] = time.steps_per_epoch
        out["eval_seconds"] = round(time.eval_s, 3)
    return out


def plan_table(plan: Plan, name: str, memory: int | None = None,
               time: TimeEstimate | None = None, time_note: str = "") -> str:
    s = plan.settings
    lines = [f"Training-step memory plan for {name}: batch {s.batch_size}, "
             f"{_optimizer_label(plan)}, {s.precision}"
             + (", channels_last" if s.channels_last else "") + f", {s.device}", ""]
    width = max([len(lp.id) for lp in plan.layers] + [5])
    types = max([len(lp.type) for lp in plan.layers] + [4])
    lines.append(f"{'layer':<{width}}  {'type':<{types}}  {'kept for backward':>17}  what")
    for lp in plan.layers:
        what = ", ".join(label for label, _ in lp.parts)
        size = fmt_bytes(lp.saved_bytes) if lp.saved_bytes else "-"
        lines.append(f"{lp.id:<{width}}  {lp.type:<{types}}  {size:>17}  {what}")
    lines.append("")
    for key, value in plan.breakdown.items():
        lines.append(f"{key:<12} {fmt_bytes(value):>10}")
    lines.append(f"{'peak':<12} {fmt_bytes(plan.peak):>10}  ({PHASES.get(plan.phase, plan.phase)})")
    if memory is not None:
        best = plan.max_batch_size(memory)
        lines.append(f"largest batch that fits in {fmt_bytes(memory)}: "
                     + (str(best) if best else "none (the model alone does not fit)"))
    if time is not None:
        low, high = time.epoch_range
        lines.append(f"time: ~{format_seconds(time.epoch_s)} per epoch "
                     f"({format_seconds(low)}-{format_seconds(high)}), "
                     f"{format_seconds(time.step_s)} per step x {time.steps_per_epoch}"
                     + (f" + {format_seconds(time.eval_s)} evaluating" if time.eval_s else "")
                     + (f", {time_note}" if time_note else ""))
    elif time_note:
        lines.append(f"time: {time_note}")
    return "\n".join(lines)


def one_line(plan: Plan, time: TimeEstimate | None = None) -> str:
    """'1.2 GB at batch 128, ~50 s per epoch here'."""
    text = f"{fmt_bytes(plan.peak)} at batch {plan.batch_size}"
    if time is not None:
        text += f", ~{format_seconds(time.epoch_s)} per epoch here"
    return text


def _optimizer_label(plan: Plan) -> str:
    s = plan.settings
    if s.optimizer == "sgd":
        return OPTIMIZER_LABELS["sgd-momentum" if s.momentum > 0 else "sgd"]
    return OPTIMIZER_LABELS.get(s.optimizer, s.optimizer)
