"""Checkpoints: design JSON + state_dict + training settings + metrics in one file.

Loaded with torch.load(weights_only=True): a checkpoint holds tensors and
plain containers only, never pickled code. The same format is written by the
exported train.py, so its checkpoints load back into the app.
"""
from __future__ import annotations

import os
import pickle
import zipfile
from typing import Any

import torch

from designer import __version__
from designer.core.model import Design
from designer.io.design_file import from_dict, to_dict
from designer.core.training_config import MAX_EPOCHS
from designer.io.files import NotRegularFileError, atomic_path, check_regular

FORMAT = "cnn-designer-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the design."""


def make_checkpoint(design: Design, state_dict: dict[str, torch.Tensor],
                    training: dict[str, Any] | None = None,
                    metrics: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "app_version": __version__,
            "design": to_dict(design),
            "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
            "training": dict(training or {}), "metrics": dict(metrics or {}),
            **(extra or {})}


def save_checkpoint(path: str | os.PathLike[str], checkpoint: dict[str, Any]) -> None:
    """Atomic, like design files: a temporary file beside it, fsync, rename."""
    with atomic_path(path, make_parents=True) as tmp:
        torch.save(checkpoint, tmp)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a checkpoint: every value the app uses is validated here,
    before anything (weights, a run) is applied."""
    try:
        check_regular(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except NotRegularFileError as e:
        raise CheckpointError(f"{path}: this is {e.kind}, not a checkpoint") from None
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{path}: cannot read the file: "
                              f"{getattr(e, 'strerror', None) or e}") from None
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except Exception as e:  # torch raises many kinds for corrupt or unsafe files
        raise CheckpointError(f"{path}: {_unreadable(path, e)}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a CNN Designer checkpoint")
    if not isinstance(ckpt.get("state_dict"), dict) or not isinstance(ckpt.get("design"), dict):
        raise CheckpointError(f"{path}: the checkpoint lacks its design or weights")
    problem = checkpoint_problem(ckpt)
    if problem is not None:
        raise CheckpointError(f"{path}: not a valid CNN Designer checkpoint: {problem}")
    return ckpt


def _unreadable(path: str | os.PathLike[str], error: Exception) -> str:
    if not zipfile.is_zipfile(path):
        return "not a CNN Designer checkpoint (not a file saved by PyTorch)"
    if isinstance(error, pickle.UnpicklingError):
        return ("not a CNN Designer checkpoint: it holds objects other than tensors and "
                "plain values, which are not loaded (they could run code)")
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"not a readable checkpoint ({type(error).__name__}{': ' + text if text else ''})"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _whole(v: Any, lo: int, hi: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def checkpoint_problem(ckpt: dict[str, Any]) -> str | None:
    """What is wrong with a checkpoint's values, or None."""
    for k, v in ckpt["state_dict"].items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            return (f"the weights must map names to tensors; {str(k)[:40]!r} holds "
                    f"{type(v).__name__}")
    raw = ckpt.get("raw_state")   # weight averaging: the weights training continues from
    if raw is not None and not (isinstance(raw, dict) and all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in raw.items())):
        return '"raw_state" must map names to tensors'
    for key in ("training", "metrics"):
        if ckpt.get(key) is not None and not isinstance(ckpt[key], dict):
            return f'"{key}" must be an object; got {type(ckpt[key]).__name__}'
    metrics = ckpt.get("metrics") or {}
    if "per_class_acc" in metrics and not (
            isinstance(metrics["per_class_acc"], list)
            and all(_is_number(x) for x in metrics["per_class_acc"])):
        return '"metrics.per_class_acc" must be a list of numbers'
    if "class_names" in metrics and not (
            isinstance(metrics["class_names"], list)
            and all(isinstance(x, str) for x in metrics["class_names"])):
        return '"metrics.class_names" must be a list of strings'
    if "confusion" in metrics and not (
            isinstance(metrics["confusion"], list)
            and all(isinstance(r, list) and all(_is_number(x) for x in r)
                    for r in metrics["confusion"])):
        return '"metrics.confusion" must be a list of rows of numbers'
    if ckpt.get("epoch") is not None and not _whole(ckpt["epoch"], 0, MAX_EPOCHS):
        return (f'"epoch" must be a whole number from 0 to {MAX_EPOCHS}; '
                f"got {str(ckpt['epoch'])[:40]}")
    if ckpt.get("global_step") is not None and not _whole(ckpt["global_step"], 0, 10**12):
        return (f'"global_step" must be a whole number from 0 to 10**12; '
                f"got {str(ckpt['global_step'])[:40]}")
    history = ckpt.get("history")
    if history is not None and not (isinstance(history, list)
                                    and all(isinstance(r, dict) for r in history)):
        return '"history" must be a list of objects'
    best = ckpt.get("best_metric")
    if best is not None and not _is_number(best):
        return '"best_metric" must be a number'
    return None


def checkpoint_design(ckpt: dict[str, Any]) -> Design:
    return from_dict(ckpt["design"])


def check_fits(module: torch.nn.Module, state_dict: dict[str, torch.Tensor]) -> None:
    """Raise CheckpointError naming the first mismatch between weights and module."""
    own = module.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    wrong = [k for k in own if k in state_dict and tuple(own[k].shape) != tuple(state_dict[k].shape)]
    if missing or unexpected or wrong:
        parts = []
        if wrong:
            k = wrong[0]
            parts.append(f"'{k}' has shape {tuple(state_dict[k].shape)} in the checkpoint but "
                         f"{tuple(own[k].shape)} in the design")
        if missing:
            parts.append(f"the checkpoint has no '{missing[0]}'" +
                         (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        if unexpected:
            parts.append(f"the design has no '{unexpected[0]}'" +
                         (f" (and {len(unexpected) - 1} more)" if len(unexpected) > 1 else ""))
        raise CheckpointError("the checkpoint does not match this design: " + "; ".join(parts))


def load_weights_into(module: torch.nn.Module, ckpt: dict[str, Any]) -> None:
    check_fits(module, ckpt["state_dict"])
    module.load_state_dict(ckpt["state_dict"])
