"""Print a per-layer summary of a design file (exit 0 valid, 1 design errors, 2 unreadable)."""
from __future__ import annotations

import argparse
import json
import sys

from designer.core.analysis import analyse
from designer.core.report import summary_dict, summary_table
from designer.io import DesignFileError, load


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="design file (.json)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    try:
        design = load(args.file)
    except DesignFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    analysis = analyse(design)
    if args.json:
        print(json.dumps(summary_dict(design, analysis), indent=2, ensure_ascii=False))
    else:
        print(summary_table(design, analysis))
    return 0 if analysis.ok else 1
