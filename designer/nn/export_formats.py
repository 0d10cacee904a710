"""Export the built module as ONNX or TorchScript (for deployment tools).

ONNX needs the optional `onnx` package (`pip install cnn-designer[onnx]`).
The TorchScript-based ONNX exporter is used first: it is fast and quiet and
handles every layer of the catalogue; the dynamo exporter (needs onnxscript)
is the fallback where a torch release no longer offers it.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from designer.core.analysis import Analysis, analyse
from designer.core.model import Design
from designer.io.files import atomic_path
from designer.nn.build import BuildError, build

OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "output"
ONNX_MAX_BYTES = 2**31  # protobuf's limit for one file


class FormatExportError(RuntimeError):
    """An export that could not be done, with the reason in words."""


def onnx_available() -> bool:
    return importlib.util.find_spec("onnx") is not None


def available_memory() -> int | None:
    """Bytes of memory this process can still use, or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB"


def check_memory(analysis: Analysis, what: str, available: int | None = None) -> None:
    """Refuse, with the estimate, an export that cannot fit in memory: the
    module's float32 weights, a copy while writing, and two samples' activations."""
    weights = analysis.total_params * 4
    needed = 2 * weights + 2 * analysis.total_memory
    available = available_memory() if available is None else available
    if available is not None and needed > available:
        raise FormatExportError(
            f"{what} export needs about {_gb(needed)} of memory ({analysis.total_params:,} "
            f"parameters are {_gb(weights)} as float32, written from a copy) and this machine "
            f"has {_gb(available)} available: export the code (-o model.py) instead, or make "
            f"the design smaller")


def _module(design: Design, analysis: Analysis | None,
            state_dict: dict[str, torch.Tensor] | None,
            what: str = "this") -> tuple[torch.nn.Module, torch.Tensor]:
    analysis = analysis or analyse(design)
    check_memory(analysis, what)
    try:
        module = build(design, analysis)
    except BuildError as e:
        raise FormatExportError(f"cannot export: {e}") from None
    if state_dict is not None:
        from designer.nn.checkpoint import check_fits
        check_fits(module, state_dict)
        module.load_state_dict(state_dict)
    module.eval()
    example = torch.randn(2, *analysis.input_shape)  # 2: batch 1 would be specialised
    return module, example


def _atomic_target(path: str | os.PathLike[str]) -> contextlib.AbstractContextManager[Path]:
    """A temporary path beside `path`, renamed onto it if the block succeeds."""
    return atomic_path(path, make_parents=True)


def _quiet() -> contextlib.ExitStack:
    """No warnings, prints or torch.onnx log lines while exporting."""
    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
    for name in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript"):
        logger = logging.getLogger(name)
        stack.callback(logger.setLevel, logger.level)
        logger.setLevel(logging.ERROR)
    return stack


def _reason(error: Exception) -> str:
    """The informative first sentence of an exporter's error."""
    while error.__cause__ is not None:   # the dynamo exporter wraps the real cause
        error = error.__cause__  # type: ignore[assignment]
    plain = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    text = plain.splitlines()[0] if plain else ""
    text = text.split(" Please feel free to request support")[0].rstrip(". ")
    if len(text) > 240:
        text = text[:237] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def export_onnx(design: Design, path: str | os.PathLike[str],
                state_dict: dict[str, torch.Tensor] | None = None,
                analysis: Analysis | None = None, opset: int = OPSET) -> Path:
    """Write an ONNX model (batch dimension dynamic) and check it with onnx.checker."""
    if not onnx_available():
        raise FormatExportError("ONNX export needs the 'onnx' package: "
                                "pip install 'cnn-designer[onnx]' (or pip install onnx onnxscript)")
    import onnx
    analysis = analysis or analyse(design)
    if analysis.total_params * 4 >= ONNX_MAX_BYTES:
        raise FormatExportError(
            f"ONNX files hold at most 2 GB of weights and this design has "
            f"{analysis.total_params:,} parameters ({_gb(analysis.total_params * 4)} as "
            f"float32): use TorchScript or the PyTorch code export instead")
    module, example = _module(design, analysis, state_dict, "ONNX")
    errors: list[str] = []
    with _atomic_target(path) as tmp:
        for dynamo in (False, True):
            try:
                with _quiet():
                    _torch_onnx_export(module, example, tmp, opset, dynamo)
                onnx.checker.check_model(onnx.load(str(tmp)))
                break
            except Exception as e:  # noqa: BLE001 - try the other exporter, then report both
                errors.append(f"{'dynamo' if dynamo else 'TorchScript-based'} exporter: "
                              f"{_reason(e)}")
        else:
            raise FormatExportError("ONNX cannot express this design as exported by torch "
                                    "(" + "; ".join(errors) + ")")
    return Path(path)


def _torch_onnx_export(module: torch.nn.Module, example: torch.Tensor, path: Path,
                       opset: int, dynamo: bool) -> None:
    kwargs: dict[str, Any] = {"input_names": [INPUT_NAME], "output_names": [OUTPUT_NAME],
                              "opset_version": opset, "dynamo": dynamo}
    if dynamo:
        kwargs["dynamic_shapes"] = ({0: torch.export.Dim("batch")},)
        kwargs["external_data"] = False
    else:
        kwargs["dynamic_axes"] = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}}
    torch.onnx.export(module, (example,), str(path), **kwargs)


def export_torchscript(design: Design, path: str | os.PathLike[str],
                       state_dict: dict[str, torch.Tensor] | None = None,
                       analysis: Analysis | None = None) -> Path:
    """Write a traced TorchScript module (load it with torch.jit.load; eval mode)."""
    module, example = _module(design, analysis, state_dict, "TorchScript")
    with _atomic_target(path) as tmp:
        try:
            with _quiet(), torch.no_grad():
                traced = torch.jit.trace(module, example)
                torch.jit.save(traced, str(tmp))
        except Exception as e:  # noqa: BLE001 - tracing errors come in many types
            hint = ""
            if any(lay.type == "MaxUnpool2d" for lay in design.layers):
                # torch's own MaxUnpool2d size check cannot be traced (torch 2.13)
                hint = " (PyTorch cannot trace MaxUnpool2d; use --onnx for this design)"
            raise FormatExportError(f"TorchScript export failed: {type(e).__name__}: "
                                    f"{str(e).splitlines()[0] if str(e) else ''}{hint}") from None
    return Path(path)
