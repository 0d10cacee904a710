"""How fast are synthetic 1-D signals and 3-D clips generated?

Times designer.nn.data_synthetic_nd.generate on 64 clips of 3×16×112×112 and
2,000 signals of 1×1000 (the sizes the training panel uses), and, in the same
run, the floor of any generator: drawing as many random bytes with torch. A
generator that loops in Python per pixel takes minutes (hundreds of times the
baseline); the vectorised one stays within a few tens of it.

    python tests/benchmarks/synthetic_nd_speed.py [--repeat N]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402

from designer.nn import data_synthetic_nd as nd  # noqa: E402

CASES = [((3, 16, 112, 112), 64), ((1, 1000), 2000)]


def best_of(repeat: int, job) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for shape, count in CASES:
        elements = count * int(torch.tensor(shape).prod())
        generate = best_of(args.repeat, lambda: nd.generate(shape, count, 10, seed=0))
        baseline = best_of(args.repeat, lambda: torch.randint(0, 256, (elements,),
                                                              dtype=torch.uint8))
        print(f"{count} x {'x'.join(map(str, shape))}: generate {generate:.3f} s, "
              f"baseline (random bytes) {baseline:.3f} s, ratio {generate / baseline:.0f}x")
    print(f"(best of {args.repeat} runs each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
