"""Catalogue parameters from a torch module's attributes and from the
arguments of functional calls (F.relu, F.max_pool2d, ...)."""
from __future__ import annotations

from typing import Any

import torch

from designer.core.catalogue import get_type
from designer.core.params import REQUIRED


def json_value(v: Any) -> Any:
    """A constructor argument as the file writes it: tuples as lists, a pair of
    equal numbers as one number (torch treats 3 and (3, 3) alike)."""
    if isinstance(v, torch.Size):
        v = tuple(v)
    if isinstance(v, (tuple, list)):
        items = [json_value(x) for x in v]
        if len(items) == 2 and items[0] == items[1] and isinstance(items[0], (int, float)):
            return items[0]
        return items
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return v.item()
    return v


def _is_default(spec_default: Any, value: Any) -> bool:
    if spec_default is REQUIRED:
        return False
    default = json_value(spec_default)
    if isinstance(default, bool) or isinstance(value, bool):
        return default is value
    return type(default) is type(value) and default == value or (
        isinstance(default, (int, float)) and isinstance(value, (int, float))
        and default == value)


def module_params(module: torch.nn.Module, type_name: str,
                  with_inferred: bool = False) -> dict[str, Any]:
    """The catalogue parameters of `type_name` read from the module's attributes;
    defaults are left out, input sizes only with `with_inferred`."""
    out: dict[str, Any] = {}
    for spec in get_type(type_name).params:
        if spec.inferred and not with_inferred:
            continue
        if not hasattr(module, spec.name):
            continue
        value = getattr(module, spec.name)
        if spec.name == "bias" and (value is None or isinstance(value, torch.Tensor)):
            value = value is not None
        value = json_value(value)
        if not spec.inferred and _is_default(spec.default, value):
            continue
        out[spec.name] = value
    return out


def bind(args: tuple[Any, ...], kwargs: dict[str, Any], names: list[str],
         defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Positional and keyword arguments by parameter name (a light inspect.bind
    that also works for torch's builtins)."""
    out = dict(defaults or {})
    for name, value in zip(names, args):
        out[name] = value
    out.update(kwargs)
    return out


def given_params(type_name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Catalogue parameters of a functional call, defaults left out."""
    t = get_type(type_name)
    out: dict[str, Any] = {}
    for spec in t.params:
        if spec.inferred or spec.name not in values:
            continue
        value = json_value(values[spec.name])
        if value is None and spec.default is not REQUIRED and spec.default is not None:
            continue
        if _is_default(spec.default, value):
            continue
        out[spec.name] = value
    return out
