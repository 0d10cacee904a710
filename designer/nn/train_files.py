"""What a run writes to its output folder: metrics.csv, metrics.json,
best.pt and last.pt (checkpoints in designer.nn.checkpoint's format)."""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from designer.io import files

CSV_FIELDS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc",
              "lr", "seconds"]
BEST, LAST = "best.pt", "last.pt"


def write_text_atomic(path: Path, text: str) -> None:
    files.write_text_atomic(path, text, newline="", make_parents=True)


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def write_metrics(out_dir: Path, history: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in history:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in CSV_FIELDS})
    write_text_atomic(out_dir / "metrics.csv", buf.getvalue())
    write_text_atomic(out_dir / "metrics.json",
                      json.dumps(_clean({**summary, "history": history}), indent=2) + "\n")
