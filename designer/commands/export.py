"""Export a design as PyTorch code (model.py, optionally train.py beside it), ONNX
or TorchScript. Exit 0 on success, 1 for a design with errors or a failed
export, 2 for an unreadable design file."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from designer.core.analysis import Analysis, analyse
from designer.core.model import Design
from designer.core.training_config import TrainConfig
from designer.export.common import ExportError, module_name_problem, one_line
from designer.export.pytorch_code import generate_model_code, model_class_name
from designer.export.train_script import cifar_mismatch, generate_train_script
from designer.io import DesignFileError, load
from designer.io.files import write_text_atomic


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="design file (.json)")
    parser.add_argument("-o", "--output", metavar="OUT.py",
                        help="write the model's PyTorch code here")
    parser.add_argument("--train-script", action="store_true",
                        help="also write train.py next to OUT.py (CIFAR-10 training, "
                             "torchrun-ready)")
    parser.add_argument("--onnx", metavar="OUT.onnx", help="write an ONNX model")
    parser.add_argument("--torchscript", metavar="OUT.pt",
                        help="write a TorchScript model (torch.jit.load)")
    parser.add_argument("--weights", metavar="CHECKPOINT",
                        help="put these weights (a checkpoint of training or of "
                             "`cnn-designer import --weights`) into the ONNX/TorchScript "
                             "files; with -o OUT.py also write OUT_weights.pt, a state_dict "
                             "for the exported class")


class _Failed(Exception):
    """An export step failed; the message is for the user."""


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _print_design_errors(path: str, analysis: Analysis) -> None:
    errors = analysis.all_errors
    print(f"error: {path}: the design has {len(errors)} error(s); fix them before "
          f"exporting:", file=sys.stderr)
    for where, issue in errors:
        place = f"layer '{one_line(where, 60)}': " if where else ""
        print(f"  - {place}{issue.message}", file=sys.stderr)


def _checked_weights(design: Design, analysis: Analysis, path: str) -> dict:
    """The checkpoint's state_dict, checked against the design (read before
    anything is written, so a wrong checkpoint leaves no files)."""
    from designer.nn.build import build
    from designer.nn.checkpoint import check_fits, load_checkpoint
    state_dict = load_checkpoint(path)["state_dict"]
    check_fits(build(design, analysis), state_dict)
    return state_dict


def _weights_path(out: Path) -> Path:
    return out.with_name(out.stem + "_weights.pt")


def _write_code(design: Design, analysis: Analysis, args: argparse.Namespace,
                state_dict: dict | None = None) -> None:
    out = Path(args.output)
    if out.is_dir() or args.output.endswith(("/", os.sep)):
        raise _Failed(f"{args.output} is a folder: give the model file's name, e.g. "
                      f"{out / 'model.py'}")
    if out.suffix != ".py":  # train.py imports it, so it must be a Python module
        out = out.with_name(out.name + ".py")
    if out.is_dir():
        raise _Failed(f"{out} is a folder: give the model file's name, e.g. {out / 'model.py'}")
    problem = module_name_problem(out.stem, imported=args.train_script)
    if problem is not None:
        raise _Failed(problem)
    code = generate_model_code(design, analysis)
    train = None
    if args.train_script:
        train_path = out.with_name("train.py" if out.name != "train.py" else "train_model.py")
        train = generate_train_script(design, TrainConfig.from_dict(design.training),
                                      analysis, model_module=out.stem)
    try:
        write_text_atomic(out, code)
        print(f"wrote {out} (class {model_class_name(design)}, "
              f"{analysis.total_params:,} parameters)")
        if train is not None:
            write_text_atomic(train_path, train)
            print(f"wrote {train_path} (run: python {train_path.name} --data-dir DIR)")
            problem = cifar_mismatch(analysis)
            if problem:
                print(f"warning: {problem}; train.py will refuse to start until the "
                      f"design fits CIFAR-10", file=sys.stderr)
        if state_dict is not None:
            from designer.nn.checkpoint import save_checkpoint
            weights = _weights_path(out)
            save_checkpoint(weights, state_dict)
            print(f"wrote {weights} (model.load_state_dict(torch.load('{weights.name}', "
                  f"weights_only=True)))")
    except OSError as e:
        raise _Failed(f"cannot write {e.filename or out}: {e.strerror}") from None


def _write_binary(design: Design, analysis: Analysis, args: argparse.Namespace,
                  state_dict: dict | None = None) -> None:
    from designer.nn.checkpoint import CheckpointError
    from designer.nn.export_formats import (FormatExportError, export_onnx,
                                            export_torchscript)
    try:
        if args.onnx:
            export_onnx(design, args.onnx, state_dict, analysis)
            print(f"wrote {args.onnx} (ONNX, checked)")
        if args.torchscript:
            export_torchscript(design, args.torchscript, state_dict, analysis)
            print(f"wrote {args.torchscript} (TorchScript)")
    except (CheckpointError, FormatExportError) as e:
        raise _Failed(str(e)) from None
    except OSError as e:
        raise _Failed(f"cannot write {e.filename or 'the output'}: {e.strerror}") from None


def run(args: argparse.Namespace) -> int:
    if not (args.output or args.onnx or args.torchscript):
        return _fail("nothing to export: give -o OUT.py, --onnx OUT.onnx or "
                     "--torchscript OUT.pt")
    if args.train_script and not args.output:
        return _fail("--train-script needs -o OUT.py (train.py is written beside it)")
    try:
        design = load(args.file)
    except DesignFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    analysis = analyse(design)
    if not analysis.ok:
        _print_design_errors(args.file, analysis)
        return 1
    state_dict = None
    if args.weights:
        from designer.nn.checkpoint import CheckpointError
        try:
            state_dict = _checked_weights(design, analysis, args.weights)
        except CheckpointError as e:
            return _fail(str(e))
    try:
        if args.output:
            _write_code(design, analysis, args, state_dict)
        if args.onnx or args.torchscript:
            _write_binary(design, analysis, args, state_dict)
    except (_Failed, ExportError) as e:
        return _fail(str(e))
    return 0
