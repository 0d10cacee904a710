"""Benchmark: time from process start to the designer window shown (LeNet-5
sample), and whether torch was imported by then. Target: < 2 s, no torch.

    python tests/benchmarks/gui_startup.py [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = "import sys; from designer.gui.app import run_app; sys.exit(run_app())"


def one_run(state_dir: str) -> tuple[float, bool]:
    env = dict(os.environ, CNN_DESIGNER_QUIT_AFTER_SHOW="1", CNN_DESIGNER_STATE_DIR=state_dir,
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    start = time.time()
    out = subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("shown_at=")), None)
    if line is None:
        raise SystemExit(f"the app did not report being shown:\n{out.stdout}\n{out.stderr}")
    shown = re.search(r"shown_at=([0-9.]+)", line)
    torch = re.search(r"torch_imported=(True|False)", line)
    assert shown and torch, line
    return float(shown.group(1)) - start, torch.group(1) == "True"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cnn-startup-") as state:
        results = [one_run(state) for _ in range(args.runs)]
    times = [t for t, _ in results]
    torch_loaded = any(flag for _, flag in results)
    median = statistics.median(times)
    print(f"platform={os.environ.get('QT_QPA_PLATFORM', 'offscreen')} runs={args.runs}")
    print(f"process start -> window shown: median {median:.2f} s, "
          f"min {min(times):.2f} s, max {max(times):.2f} s "
          f"(target < 2 s: {'OK' if median < 2 else 'SLOW'})")
    print(f"torch imported at first show: {torch_loaded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
