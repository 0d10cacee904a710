"""Design -> a standalone train.py that sits next to the exported model.py.

The script trains on CIFAR-10 from its python folder with the app's
settings (TrainConfig), runs unchanged under torchrun (DDP) and saves a
checkpoint in the app's format. Text only: no torch here.
"""
from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from string import Template

from designer import __version__
from designer.core.analysis import Analysis, analyse
from designer.core.model import Design
from designer.core.training_config import TrainConfig
from designer.export.common import (INDENT, ExportError, check_exportable, comment_text,
                                    literal, module_name_problem)
from designer.export.pytorch_code import model_class_name
from designer.export.train_recipe_code import RECIPE_CODE
from designer.export.train_template import TEMPLATE
from designer.core.serialise import to_dict

__all__ = ["ExportError", "generate_train_script", "cifar_mismatch"]

CHUNK = 64
CIFAR_INPUT = (3, 32, 32)
CIFAR_CLASSES = 10
# Settings the script reads; the rest of TrainConfig is the app's business.
_SETTINGS = ("epochs", "batch_size", "optimizer", "lr", "momentum", "nesterov",
             "weight_decay", "schedule", "warmup_epochs", "label_smoothing", "augment_crop",
             "augment_flip", "cutout", "device", "precision", "seed", "train_limit",
             "test_limit", "data_dir", "lr_start_factor", "lr_end_factor", "crop_pad",
             "crop_fill", "flip_alternate", "tta", "averaging", "average_decay",
             "average_every", "average_start_epoch", "norm_bias_lr_scale",
             "freeze_norm_weights", "bn_momentum", "decay_all", "decoupled_decay",
             "dirac_init", "whiten_init", "whiten_bias_epochs", "logit_scale")
_CHOICES = {"optimizer": ("sgd", "adam", "adamw"),
            "schedule": ("constant", "step", "cosine", "onecycle", "triangular"),
            "crop_fill": ("zero", "reflect"), "tta": ("off", "mirror", "mirror_translate"),
            "averaging": ("off", "ema", "lookahead"),
            "device": ("auto", "cpu", "cuda", "mps"),
            "precision": ("auto", "fp32", "bf16", "fp16")}


def cifar_mismatch(analysis: Analysis) -> str | None:
    """Why the design cannot train on CIFAR-10 as is, or None."""
    if tuple(analysis.input_shape) != CIFAR_INPUT:
        return (f"CIFAR-10 images are 3x32x32 but the design takes "
                f"{'x'.join(map(str, analysis.input_shape))}")
    if analysis.output_shape != (CIFAR_CLASSES,):
        shape = "x".join(map(str, analysis.output_shape or ()))
        return f"CIFAR-10 needs 10 class scores but the design outputs {shape}"
    return None


# The 1-D / 3-D synthetic generator, embedded verbatim (read as text: export
# never imports torch or designer.nn).
SYNTHETIC_SOURCE = Path(__file__).resolve().parents[1] / "nn" / "data_synthetic_nd.py"
SYNTHETIC_ND_BYTES = 256 * 2**20   # as designer.nn.train_setup
SYNTHETIC_CLASSES = 10, 2, 24


def synthetic_plan(analysis: Analysis, config: TrainConfig) -> dict[str, object] | None:
    """The synthetic dataset a design that is not 2-D trains on; None for 2-D."""
    shape = tuple(analysis.input_shape)
    if len(shape) == 3:
        return None
    default, least, most = SYNTHETIC_CLASSES
    out = tuple(analysis.output_shape or ())
    classes = out[0] if len(out) == 1 and least <= out[0] <= most else default
    train = min(10000, max(200, SYNTHETIC_ND_BYTES // max(1, math.prod(shape))))
    test = min(2000, max(50, train // 5))
    what = "1-D signals" if len(shape) == 2 else "3-D clips of moving shapes"
    return {"classes": classes, "train": config.train_limit or train,
            "test": config.test_limit or test,
            "label": f"synthetic {what} ({classes} classes; not real data)"}


def synthetic_source() -> str:
    """The generator's functions and constants, without its imports."""
    text = SYNTHETIC_SOURCE.read_text(encoding="utf-8")
    tree = ast.parse(text)
    lines = text.splitlines()
    parts = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.Assign)):
            parts.append("\n".join(lines[node.lineno - 1:node.end_lineno]))
    return "\n\n\n".join(parts) + "\n\n\n"


def _settings(config: TrainConfig) -> dict[str, object]:
    values = config.to_dict()
    out = {}
    for name in _SETTINGS:
        value = values[name]
        if name in _CHOICES and value not in _CHOICES[name]:
            raise ExportError(f"training setting {name}={value!r} is not one of "
                              f"{', '.join(_CHOICES[name])}")
        out[name] = value
    return out


def _dict_literal(values: dict[str, object]) -> str:
    lines = ["{"]
    lines += [f"{INDENT}{literal(k)}: {literal(v)}," for k, v in values.items()]
    lines.append("}")
    return "\n".join(lines)


def _string_literal(text: str) -> str:
    """A long string as implicitly concatenated repr'd pieces, one per line."""
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + CHUNK)
        while end > start + 1 and len(repr(text[start:end])) > CHUNK + 8:
            end -= 1
        pieces.append(text[start:end])
        start = end
    if len(pieces) <= 1:
        return repr(text)
    return "(\n" + "\n".join(f"{INDENT}{piece!r}" for piece in pieces) + "\n)"


def _header(design: Design, config: TrainConfig) -> str:
    return "\n".join([
        f"# Design: {comment_text(design.name, 68)}",
        f"# Defaults: {config.epochs} epochs, batch {config.batch_size}, "
        f"{config.optimizer} lr {config.lr}, {config.schedule} schedule.",
        f"# Generated by CNN Designer {__version__}.",
    ])


def whiten_layer(design: Design, analysis: Analysis) -> str | None:
    """The model attribute of the Conv2d that alone reads the input, else None
    (the script then says that whiten_init cannot apply)."""
    from designer.core.model import INPUT_ID
    from designer.core.naming import layer_names
    readers = [lid for lid in analysis.order
               if any(src == INPUT_ID for src, _ in analysis.layers[lid].sources)]
    if len(readers) != 1 or design.layer(readers[0]).type != "Conv2d":
        return None
    return layer_names(design)[readers[0]]


def generate_train_script(design: Design, config: TrainConfig | None = None,
                          analysis: Analysis | None = None,
                          model_module: str = "model") -> str:
    """The source of train.py; it imports the model class from `model_module`.py."""
    analysis = analysis or analyse(design)
    check_exportable(design, analysis)
    problem = module_name_problem(model_module)
    if problem is not None:
        raise ExportError(problem)
    config = config or TrainConfig()
    plan = synthetic_plan(analysis, config)
    design_json = json.dumps(to_dict(design), ensure_ascii=True, separators=(",", ":"))
    return Template(TEMPLATE).substitute(
        CLASS=model_class_name(design),
        MODULE=model_module,
        HEADER=_header(design, config),
        DESIGN_JSON=_string_literal(design_json),
        SETTINGS=_dict_literal(_settings(config)),
        WHITEN_LAYER=literal(whiten_layer(design, analysis)),
        RECIPE_CODE=RECIPE_CODE,
        APP_VERSION=literal(__version__),
        SYNTHETIC=_synthetic_literal(plan),
        SYNTHETIC_SOURCE=synthetic_source() if plan else "",
    )


def _synthetic_literal(plan: dict[str, object] | None) -> str:
    return "None" if plan is None else _dict_literal(plan)
