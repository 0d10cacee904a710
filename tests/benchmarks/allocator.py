"""Training steps with freed memory kept in the process (designer/nn/allocator.py)
against glibc's default, each in a fresh process, the two alternating.

    python tests/benchmarks/allocator.py [--models lenet5,resnet_small,mobilenet]
        [--batch 64] [--steps 200] [--rounds 2] [--threads 1]

Each child builds a sample, takes the trainer's data path (gather, crop and
flip, normalise) and steps with SGD + momentum in channels_last, then prints
its minor page faults per step and the median step's CPU time (thread_time at
one thread: other processes on a shared host do not count). Prints per model
the faults per step and the median CPU time with and without, and their ratio
(kept / default; below 1 is faster).
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def child(model_name: str, batch: int, steps: int, threads: int, keep: bool) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    import torch
    from torch.nn import functional as F

    from designer.core.training_config import TrainConfig
    from designer.io import load
    from designer.nn import allocator, train_setup
    from designer.nn.augment import Normaliser, augment_batch
    from designer.nn.build import build

    torch.set_num_threads(threads)
    clock = time.thread_time if threads == 1 else time.perf_counter
    design = load(ROOT / "samples" / f"{model_name}.json")
    model = build(design).to(memory_format=torch.channels_last)
    opt = train_setup.make_optimizer(model, TrainConfig(optimizer="sgd", batch_size=batch))
    shape = design.input.shape
    norm = Normaliser([0.5] * shape[0], [0.25] * shape[0], torch.device("cpu"), True)
    pool = torch.randint(0, 256, (50 * batch, *shape), dtype=torch.uint8)
    labels = torch.randint(0, model.output_shape[0], (50 * batch,))
    generator = torch.Generator().manual_seed(0)

    def step() -> None:
        idx = torch.randperm(len(pool), generator=generator)[:batch]
        x = norm(augment_batch(pool[idx], True, True, generator))
        loss = F.cross_entropy(model(x), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()

    with allocator.keep_freed_memory() if keep else nullcontext():
        for _ in range(10):
            step()
        times = []
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(steps):
            start = clock()
            step()
            times.append(clock() - start)
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return {"faults": faults / steps, "median_s": statistics.median(times)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="lenet5,resnet_small,mobilenet")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        name, keep = args.child.split(":")
        print(json.dumps(child(name, args.batch, args.steps, args.threads, keep == "1")))
        return 0
    print(f"batch {args.batch}, {args.steps} steps, {args.threads} thread(s), "
          f"load average {Path('/proc/loadavg').read_text().split()[:3]}")
    print(f"{'model':<14}{'faults/step default':>20}{'kept':>8}"
          f"{'median step default':>21}{'kept':>10}{'ratio':>7}")
    for name in args.models.split(","):
        runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
        for _ in range(args.rounds):
            for keep in (False, True):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", f"{name}:{int(keep)}",
                     "--batch", str(args.batch), "--steps", str(args.steps),
                     "--threads", str(args.threads)],
                    capture_output=True, text=True, check=True)
                runs[keep].append(json.loads(out.stdout.strip().splitlines()[-1]))
        faults = {k: statistics.median(r["faults"] for r in v) for k, v in runs.items()}
        median = {k: statistics.median(r["median_s"] for r in v) for k, v in runs.items()}
        print(f"{name:<14}{faults[False]:>20.0f}{faults[True]:>8.0f}"
              f"{median[False] * 1e3:>19.1f}ms{median[True] * 1e3:>8.1f}ms"
              f"{median[True] / median[False]:>7.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
