"""Checkpoints: design JSON + state_dict + training settings + metrics in one file.

Loaded with torch.load(weights_only=True): a checkpoint holds tensors and
plain containers only, never pickled code. The same format is written by the
exported train.py, so its checkpoints load back into the app.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from designer import __version__
from designer.core.model import Design
from designer.io.design_file import from_dict, to_dict

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
    """Atomic: a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(checkpoint, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except Exception as e:  # torch raises many kinds for corrupt or unsafe files
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a CNN Designer checkpoint")
    if not isinstance(ckpt.get("state_dict"), dict) or not isinstance(ckpt.get("design"), dict):
        raise CheckpointError(f"{path}: the checkpoint lacks its design or weights")
    return ckpt


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
