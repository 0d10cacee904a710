"""Import a PyTorch model (path/file.py:NAME) as a design file.

Runs the given Python file (that is how its module is made), traces the
module with torch.fx and writes the design. Exit 0 written; 1 with an import
report when something cannot be represented; 2 when SOURCE is missing or
unreadable.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from designer.commands.summary import _tolerant
from designer.io.design_file import save


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE",
                        help="path/file.py:NAME, NAME an nn.Module class taking no arguments "
                             "or a function returning a module (the file is run)")
    parser.add_argument("-o", "--output", metavar="DESIGN.json", required=True,
                        help="write the design here")
    parser.add_argument("--input", metavar="CxHxW", default="3x224x224",
                        help="the sample input's shape without the batch (default 3x224x224)")
    parser.add_argument("--weights", metavar="OUT.pt",
                        help="also write the module's weights as a checkpoint "
                             "(export --weights and the app read it)")
    parser.add_argument("--report", action="store_true",
                        help="print the import report even when the import succeeds")


def parse_shape(text: str) -> tuple[int, ...]:
    parts = text.lower().replace("×", "x").split("x")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"--input {text!r}: give the shape as CxHxW, e.g. 3x224x224") from None
    if not 1 <= len(dims) <= 4 or any(d < 1 or d > 16384 for d in dims):
        raise ValueError(f"--input {text!r}: give 1 to 4 sizes from 1 to 16384, e.g. 3x224x224")
    return dims


def run(args: argparse.Namespace) -> int:
    _tolerant(sys.stdout)
    _tolerant(sys.stderr)
    try:
        shape = parse_shape(args.input)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from designer.nn.fx_import import import_source, import_weights
    from designer.nn.fx_source import SourceError
    try:
        module, result = import_source(args.source, shape)
    except SourceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.output)
    written = False
    if result.design is not None and result.complete:
        try:
            save(result.design, out)
            written = True
        except OSError as e:
            print(f"error: cannot write {e.filename or out}: {e.strerror}", file=sys.stderr)
            return 1
    if not result.ok:
        print(result.report.text(), file=sys.stderr)
        print(f"wrote {out} with these errors marked on its layers; open it to fix them"
              if written else "nothing was written", file=sys.stderr)
        return 1
    if args.report:
        print(result.report.text())
    print(f"wrote {out} ({result.report.layers} layers, {result.report.params:,} parameters)")
    if args.weights:
        from designer.nn.checkpoint import make_checkpoint, save_checkpoint
        state = import_weights(module, result)
        try:
            save_checkpoint(args.weights, make_checkpoint(
                result.design, state, extra={"source": args.source}))
        except OSError as e:
            print(f"error: cannot write {e.filename or args.weights}: {e.strerror}",
                  file=sys.stderr)
            return 1
        print(f"wrote {args.weights} (weights of {len(state)} tensors)")
    return 0
