"""A short calibration of the training device for the time estimate
(designer/core/plan_time.py): throughput of a dense and a depthwise
convolution, a matrix product and memory-bound layers, forward plus backward,
with the precision and memory format the trainer would use. Measured once per
device, thread count and precision (about 1-3 s on a CPU) and cached as JSON."""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from designer.core.plan_time import Calibration
from designer.nn import train_setup as setup

STATE_ENV = "CNN_DESIGNER_STATE_DIR"
CACHE_NAME = "calibration.json"


def default_cache_dir() -> Path:
    override = os.environ.get(STATE_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cnn-designer"


def device_key(device: torch.device, precision: str, channels_last: bool) -> str:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        threads = 0
    else:
        name = platform.processor() or platform.machine()
        threads = torch.get_num_threads()
    return f"{device.type}|{name}|{threads} threads|{precision}|cl={int(channels_last)}"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_train(module: nn.Module, x: torch.Tensor, device: torch.device, precision: str,
                reps: int) -> list[float]:
    """Seconds of forward + backward, after one warm-up, per repetition."""
    module.to(device)
    x = x.to(device).requires_grad_(True)
    times = []
    for i in range(reps + 1):
        _sync(device)
        start = time.perf_counter()
        with setup.autocast(device, precision):
            out = module(x)
        out.float().sum().backward()
        _sync(device)
        if i:
            times.append(time.perf_counter() - start)
        module.zero_grad(set_to_none=True)
        x.grad = None
    return times


class Interrupted(Exception):
    """The calibration gave way (a training run started)."""


def measure(device: torch.device, precision: str = "fp32", channels_last: bool = False,
            scale: float = 1.0, reps: int = 3,
            should_stop: Callable[[], bool] | None = None) -> Calibration:
    """Measure the throughputs now (scale < 1 shrinks the problems, for tests);
    raises Interrupted as soon as should_stop() says so."""
    big = device.type == "cuda"
    b = max(1, int((64 if big else 8) * scale))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    spreads: list[float] = []

    def rate(work: float, module: nn.Module, x: torch.Tensor) -> float:
        if should_stop is not None and should_stop():
            raise Interrupted()
        if x.dim() == 4:
            module = module.to(memory_format=fmt)
            x = x.contiguous(memory_format=fmt)
        times = _time_train(module, x, device, precision, reps)
        best = min(times)
        spreads.append((statistics.median(times) - best) / best if best > 0 else 0.0)
        return work / max(best, 1e-9)

    side = 32
    conv = nn.Conv2d(64, 64, 3, padding=1, bias=False)
    conv_rate = rate(3 * b * 64 * 64 * 9 * side * side, conv, torch.randn(b, 64, side, side))
    # a convolution with a short reduction (C_in·k·k = 72) runs far below peak
    small = nn.Conv2d(8, 16, 3, padding=1, bias=False)
    small_rate = rate(3 * 4 * b * 16 * 8 * 9 * side * side, small,
                      torch.randn(4 * b, 8, side, side))
    dw = nn.Conv2d(128, 128, 3, padding=1, groups=128, bias=False)
    dw_rate = rate(3 * b * 128 * 9 * side * side, dw, torch.randn(b, 128, side, side))
    n = max(16, int((1024 if big else 256) * scale))
    gemm_rate = rate(3 * n * 1024 * 1024, nn.Linear(1024, 1024, bias=False),
                     torch.randn(n, 1024))
    # BatchNorm + ReLU on maps larger than the caches (as in real networks): two
    # layers, each reading and writing the map in both passes
    eb = 4 * b
    elems = eb * 64 * side * side
    itemsize = 2 if precision in ("bf16", "fp16") else 4
    ew = nn.Sequential(nn.BatchNorm2d(64), nn.ReLU())
    bytes_rate = rate(2 * 2 * elems * itemsize * 2.5, ew, torch.randn(eb, 64, side, side))
    # fixed costs: a layer (tiny convolutions and activations, in turn) and a
    # whole step (loss, zero_grad, optimizer) beyond its layers
    tiny = nn.Sequential(*[m for _ in range(10) for m in (nn.Conv2d(4, 4, 1), nn.ReLU())])
    overhead = min(_time_train(tiny, torch.randn(2, 4, 4, 4), device, precision, reps)) / 20
    step = _step_overhead(device, precision, reps) - 3 * overhead
    return Calibration(device_label(device), conv_rate, dw_rate, gemm_rate, bytes_rate,
                       overhead, min(0.5, statistics.median(spreads)) if spreads else 0.0,
                       small_rate, max(0.0, step))


def _step_overhead(device: torch.device, precision: str, reps: int) -> float:
    """A whole training step of a three-layer net, as the trainer takes it."""
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 10)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    x = torch.randn(2, 3, 8, 8, device=device)
    y = torch.randint(0, 10, (2,), device=device)
    times = []
    for i in range(reps + 1):
        _sync(device)
        start = time.perf_counter()
        with setup.autocast(device, precision):
            out = model(x)
        loss = nn.functional.cross_entropy(out.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        _sync(device)
        if i:
            times.append(time.perf_counter() - start)
    return min(times)


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({torch.get_num_threads()} threads)"


def cached(device: torch.device, precision: str = "fp32", channels_last: bool = False,
           cache_dir: Path | None = None,
           measure_fn: Callable[..., Calibration] | None = None,
           should_stop: Callable[[], bool] | None = None) -> Calibration:
    """The calibration for this device from the cache, measured (and stored) if absent."""
    path = (cache_dir or default_cache_dir()) / CACHE_NAME
    key = device_key(device, precision, channels_last)
    data: dict = {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            data = {}
        return Calibration.from_dict(data[key])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    cal = (measure_fn or measure)(device, precision, channels_last, should_stop=should_stop)
    data[key] = cal.to_dict()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass   # an unwritable cache only means measuring again next time
    return cal
