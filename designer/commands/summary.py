"""Print a per-layer summary of a design file (exit 0 valid, 1 design errors, 2 unreadable)."""
from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from designer.core.analysis import analyse
from designer.core.report import summary_dict, summary_table
from designer.io import DesignFileError, load


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="design file (.json)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _tolerant(stream: TextIO) -> None:
    """Print × and names on consoles that cannot show them (e.g. cp1252) with
    replacement characters instead of failing with a traceback."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="replace")


def run(args: argparse.Namespace) -> int:
    _tolerant(sys.stdout)
    _tolerant(sys.stderr)
    try:
        design = load(args.file)
    except DesignFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    analysis = analyse(design)
    if args.json:
        utf = (getattr(sys.stdout, "encoding", "") or "").lower().replace("-", "") == "utf8"
        print(json.dumps(summary_dict(design, analysis), indent=2, ensure_ascii=not utf))
    else:
        print(summary_table(design, analysis))
    return 0 if analysis.ok else 1
