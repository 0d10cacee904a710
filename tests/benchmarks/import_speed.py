"""How fast is importing a 400-layer PyTorch model?

Writes a residual network of 400 layers (stem, 56 blocks of
conv-BN-ReLU-conv-BN-add-ReLU with projections where the width changes,
pooling, classifier) as a Python file, then times, end to end in this
process: loading the file, tracing, the meta-device shape pass, mapping,
validation and analysis, layout, writing the design and the weights
checkpoint. The baseline, in the same run: plain torch.fx.symbolic_trace of
the same module (tracing only, no shapes, no design).

    python tests/benchmarks/import_speed.py [--repeat N] [--cli]

--cli also times `cnn-designer import` in a fresh interpreter (adds Python
and torch start-up). Numbers on a shared machine are noisy: compare the two
figures of one run.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

MODEL = '''
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.proj = None
        if stride != 1 or c_in != c_out:
            self.proj = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                      nn.BatchNorm2d(c_out))

    def forward(self, x):
        skip = x if self.proj is None else self.proj(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + skip)


class Deep(nn.Module):
    def __init__(self, blocks=BLOCKS):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(16), nn.ReLU())
        widths = [16] * (blocks // 3) + [32] * (blocks // 3) + [64] * (blocks - 2 * (blocks // 3))
        layers, c = [], 16
        for w in widths:
            layers.append(Block(c, w, 2 if w != c else 1))
            c = w
        self.blocks = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, 10)

    def forward(self, x):
        x = self.pool(self.blocks(self.stem(x)))
        return self.fc(torch.flatten(x, 1))
'''
BLOCKS = 56  # 3 + 56 * 7 + 2 projections * 2 + 3 = 402 layers


def import_once(source: str, out: Path) -> tuple[float, int]:
    from designer.io.design_file import save
    from designer.nn.checkpoint import make_checkpoint, save_checkpoint
    from designer.nn.fx_import import import_source, import_weights
    start = time.perf_counter()
    module, result = import_source(source, (3, 32, 32))
    assert result.ok, result.report.text()
    save(result.design, out / "deep.json")
    save_checkpoint(out / "deep.pt", make_checkpoint(result.design,
                                                     import_weights(module, result)))
    return time.perf_counter() - start, len(result.design.layers)


def trace_once(source: str) -> float:
    import torch.fx
    from designer.nn.fx_source import load_module
    module = load_module(source)
    start = time.perf_counter()
    torch.fx.symbolic_trace(module)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cli", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "deep.py").write_text(MODEL.replace("BLOCKS", str(BLOCKS)))
        source = f"{folder / 'deep.py'}:Deep"
        first, layers = import_once(source, folder)  # includes one-time imports
        runs = [import_once(source, folder)[0] for _ in range(args.repeat)]
        traces = [trace_once(source) for _ in range(args.repeat)]
        print(f"import of a {layers}-layer model, end to end (load, trace, shapes, map, "
              f"validate, analyse, lay out, write design + weights):")
        print(f"  first in this process  {first:6.2f} s")
        print(f"  median of {args.repeat}            {statistics.median(runs):6.2f} s"
              f"   (target < 5 s)")
        print(f"  baseline torch.fx.symbolic_trace alone: median "
              f"{statistics.median(traces):6.2f} s")
        if args.cli:
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "designer", "import", source, "-o",
                                   str(folder / "cli.json"), "--input", "3x32x32",
                                   "--weights", str(folder / "cli.pt")],
                                  cwd=ROOT, capture_output=True, text=True)
            print(f"  cnn-designer import in a fresh interpreter: "
                  f"{time.perf_counter() - start:6.2f} s (exit {done.returncode})")
        return 0 if statistics.median(runs) < 5.0 else 1


if __name__ == "__main__":
    sys.exit(main())
