"""Command-line entry points (DESIGN.md §6).

    cnn-designer [FILE]                      open the app
    cnn-designer summary FILE [--json]       per-layer table; exit 0/1/2
    cnn-designer export FILE -o OUT.py [--train-script] [--onnx OUT.onnx]
    cnn-designer train FILE --dataset cifar10|synthetic ...
    cnn-designer import path/file.py:NAME -o DESIGN.json [--input CxHxW] [--weights OUT.pt]
    cnn-designer plan FILE [--batch-size B] [--optimizer NAME] [--memory SIZE] [--json]
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {"summary": "designer.commands.summary", "export": "designer.commands.export",
            "train": "designer.commands.train", "import": "designer.commands.import_model",
            "plan": "designer.commands.plan"}


def main(argv: list[str] | None = None) -> int:
    from designer.nn.allocator import use_one_arena
    use_one_arena()   # before any other thread: the trainer's thread keeps its memory
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        module = importlib.import_module(COMMANDS[argv[0]])
        parser = argparse.ArgumentParser(prog=f"cnn-designer {argv[0]}",
                                         description=module.__doc__)
        module.add_arguments(parser)
        args = parser.parse_args(argv[1:])
        try:
            return int(module.run(args))
        except BrokenPipeError:
            return _closed_pipe()
    parser = argparse.ArgumentParser(
        prog="cnn-designer",
        description="Design convolutional networks visually. Sub-commands: "
                    "summary, export, train, import, plan (cnn-designer COMMAND --help).")
    parser.add_argument("file", nargs="?", help="design file to open (default: LeNet-5 sample)")
    args = parser.parse_args(argv)
    from designer.gui.app import run_app
    return int(run_app(args.file))


def _closed_pipe() -> int:
    """The reader of our output went away (`... | head -1`): stop quietly, as
    Unix tools do. Python's own flush at exit would fail again, so stdout is
    pointed at the null device first."""
    import os
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by it


if __name__ == "__main__":
    sys.exit(main())
