"""Training throughput: the engine against a tutorial loop and a hand-tuned loop.

For each sample (LeNet-5 and the fast CIFAR net by default) on real CIFAR-10,
with the same model, batch size, optimizer and augmentation, times:
- engine:   designer.nn.trainer.Trainer (events, pause/stop checks included);
- tutorial: a per-sample Dataset + DataLoader with per-sample transforms (pad,
            random crop, flip, to-float, normalise per image), fp32, default
            memory format -- the way the PyTorch CIFAR-10 tutorial does it
            (num_workers=2 as there; --tutorial-workers changes it);
All variants use the same torch thread count (default: every core, as the
CLI does; the app's engine leaves one core to the window).
- tuned:    a hand-written loop over tensor-resident data (crop and flip as
            one gather) with the engine's
            precision, memory format and thread count, nothing else.
Prints images/s for each and the ratios (target: engine >= 1.5x tutorial,
within 5% of tuned).

    python tests/benchmarks/train_throughput.py [--data-dir DIR] [--samples lenet5,fast_cifar]

CIFAR-10 is looked for in --data-dir, then the app's data folder; otherwise it
is built once into --data-dir (default /tmp/cnn-designer-bench-data) from
/work/shared/data with its build_cifar10.py.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from designer.core.training_config import TrainConfig  # noqa: E402
from designer.io import load  # noqa: E402
from designer.nn import train_setup as setup  # noqa: E402
from designer.nn.build import build  # noqa: E402
from designer.nn.data import default_data_dir, find_cifar10, load_cifar10  # noqa: E402
from designer.nn.events import Failed, Started, Step  # noqa: E402
from designer.nn.threads import configure  # noqa: E402
from designer.nn.trainer import Trainer  # noqa: E402

BUILD_SCRIPT = Path("/work/shared/data/build_cifar10.py")
DEFAULT_DIR = Path("/tmp/cnn-designer-bench-data")
STEPS = {"lenet5": 100, "fast_cifar": 8}
WARMUP = {"lenet5": 20, "fast_cifar": 3}


def ensure_cifar(data_dir: str | None, build_script: Path = BUILD_SCRIPT) -> Path:
    """A folder holding cifar-10-batches-py, built from the shared JPEGs if need be."""
    for candidate in ([Path(data_dir)] if data_dir else []) + [default_data_dir(), DEFAULT_DIR]:
        if find_cifar10(candidate) is not None:
            return candidate
    target = Path(data_dir) if data_dir else DEFAULT_DIR
    if not build_script.is_file():
        sys.exit(f"CIFAR-10 not found and {build_script} is missing: pass --data-dir")
    print(f"building CIFAR-10 into {target} (once, ~30 s) ...", file=sys.stderr)
    subprocess.run([sys.executable, str(build_script), str(target)], check=True,
                   stdout=subprocess.DEVNULL)
    return target


def engine(design: Any, cfg: TrainConfig, steps: int, warmup: int) -> tuple[float, dict[str, Any]]:
    times: list[float] = []
    info: dict[str, Any] = {}

    def callback(event: Any) -> None:
        if isinstance(event, Step):
            times.append(time.perf_counter())
            if len(times) >= steps:
                trainer.stop()
        elif isinstance(event, Started):
            info.update(precision=event.precision, channels_last=event.channels_last,
                        threads=event.threads, device=event.device)
        elif isinstance(event, Failed):
            sys.exit(f"engine failed: {event.message}")
    trainer = Trainer(design, cfg, callback)
    trainer.run()
    return cfg.batch_size * (len(times) - 1 - warmup) / (times[-1] - times[warmup]), info


class TutorialDataset(torch.utils.data.Dataset):
    """Per-sample work, as torchvision's RandomCrop/Flip/ToTensor/Normalize would do."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, mean: list[float],
                 std: list[float]) -> None:
        self.images = images.transpose(0, 2, 3, 1)  # HWC, as PIL images are
        self.labels = labels
        self.mean = np.asarray(mean, np.float32).reshape(3, 1, 1)
        self.std = np.asarray(std, np.float32).reshape(3, 1, 1)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        img = np.pad(self.images[i], ((4, 4), (4, 4), (0, 0)))
        y, x = np.random.randint(0, 9, size=2)
        img = img[y:y + 32, x:x + 32]
        if np.random.rand() < 0.5:
            img = img[:, ::-1]
        chw = img.transpose(2, 0, 1).astype(np.float32) / 255.0
        return torch.from_numpy((chw - self.mean) / self.std), int(self.labels[i])


def tutorial(design: Any, data: Any, cfg: TrainConfig, steps: int, warmup: int,
             workers: int) -> float:
    torch.manual_seed(0)
    model = build(design)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr * 0.1, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    mean, std = data.mean_std()
    ds = TutorialDataset(data.train_x.numpy(), data.train_y.numpy(), mean, std)
    loader = torch.utils.data.DataLoader(ds, batch_size=cfg.batch_size, shuffle=True,
                                         num_workers=workers, drop_last=True)
    times = []
    model.train()
    for x, y in loader:
        out = model(x)
        loss = F.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter())
        if len(times) >= steps:
            break
    return cfg.batch_size * (len(times) - 1 - warmup) / (times[-1] - times[warmup])


def tuned(design: Any, data: Any, cfg: TrainConfig, info: dict[str, Any], steps: int,
          warmup: int) -> float:
    torch.manual_seed(0)
    dev = torch.device(info["device"])
    model = build(design).to(dev)
    cl = info["channels_last"]
    if cl:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr * 0.1, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    x_all, y_all = data.train_x.to(dev), data.train_y.to(dev)
    mean, std = data.mean_std()
    m = torch.tensor(mean, device=dev).view(1, 3, 1, 1) * 255
    s = torch.tensor(std, device=dev).view(1, 3, 1, 1) * 255
    b = cfg.batch_size
    order = torch.randperm(len(x_all), device=dev)
    rows = torch.arange(32, device=dev).view(1, 32, 1)
    cols = torch.arange(32, device=dev).view(1, 1, 32)
    times = []
    for i in range(steps):
        idx = order[i * b:(i + 1) * b]
        padded = F.pad(x_all[idx], (4, 4, 4, 4)).view(b, 3, 40 * 40)
        dy = torch.randint(0, 9, (b, 1, 1), device=dev)
        dx = torch.randint(0, 9, (b, 1, 1), device=dev)
        flip = torch.rand(b, 1, 1, device=dev) < 0.5
        flat = (rows + dy) * 40 + torch.where(flip, 31 - cols, cols) + dx  # crop + flip
        xb = padded.gather(2, flat.view(b, 1, 1024).expand(b, 3, 1024)).view(b, 3, 32, 32)
        x = (xb.float() - m) / s
        if cl:
            x = x.contiguous(memory_format=torch.channels_last)
        with setup.autocast(dev, info["precision"]):
            out = model(x)
        loss = F.cross_entropy(out.float(), y_all[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter())
    return b * (len(times) - 1 - warmup) / (times[-1] - times[warmup])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--samples", default="lenet5,fast_cifar")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, help="timed steps per variant (default per sample)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, help="torch threads for every variant "
                        "(default: all cores, as the CLI and a tutorial script use)")
    parser.add_argument("--tutorial-workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from designer.nn.threads import cpu_count
    threads = args.threads or cpu_count()
    data_dir = ensure_cifar(args.data_dir)
    data = load_cifar10(data_dir)
    print(f"CIFAR-10 from {data_dir}; {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.2f}; torch {torch.__version__}")
    rows = []
    for sample in args.samples.split(","):
        design = load(ROOT / "samples" / f"{sample}.json")
        steps = args.steps or STEPS.get(sample, 20)
        warmup = min(WARMUP.get(sample, 3), steps // 3)
        cfg = TrainConfig(dataset="cifar10", data_dir=str(data_dir), epochs=1,
                          batch_size=args.batch_size, train_limit=args.batch_size * (steps + 2),
                          test_limit=args.batch_size, device=args.device, threads=threads,
                          schedule="constant", warmup_epochs=0)
        runs: dict[str, list[float]] = {"engine": [], "tuned": [], "tutorial": []}
        for _ in range(args.rounds):  # interleaved; the best of each resists other load
            e, info = engine(design, cfg, steps, warmup)
            runs["engine"].append(e)
            configure(info["threads"] or None)
            runs["tuned"].append(tuned(design, data, cfg, info, steps, warmup))
            runs["tutorial"].append(tutorial(design, data, cfg, steps, warmup,
                                             args.tutorial_workers))
        e, h, t = (max(runs[k]) for k in ("engine", "tuned", "tutorial"))
        rows.append((sample, e, t, h, info))
        print(f"{sample:11s} engine {e:8.0f} img/s  tutorial {t:8.0f}  tuned {h:8.0f}  "
              f"engine/tutorial {e / t:5.2f}x  engine/tuned {e / h:5.2f}  "
              f"({info['device']}, {info['precision']}, channels_last={info['channels_last']}, "
              f"threads={info['threads']}, batch {args.batch_size}, best of {args.rounds} x "
              f"{steps} steps)", flush=True)
    ok = all(e >= 1.5 * t and e >= 0.95 * h for _, e, t, h, _ in rows)
    print("targets met (>= 1.5x tutorial, within 5% of tuned)" if ok else
          "targets NOT met (>= 1.5x tutorial, within 5% of tuned)")


if __name__ == "__main__":
    main()
