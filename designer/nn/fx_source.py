"""Load SOURCE = path/file.py:NAME into an nn.Module.

This runs the user's Python file: that is the point of importing a model.
A design file, by contrast, is never executed.
"""
from __future__ import annotations

import importlib.util
import inspect
import sys
import uuid
from pathlib import Path

from torch import nn

from designer.nn.fx_report import first_line, place_from_exception


class SourceError(ValueError):
    """SOURCE is missing or unreadable (exit 2)."""


def split_source(source: str) -> tuple[Path, str]:
    path, sep, name = source.rpartition(":")
    if not sep or not path or not name or "/" in name or "\\" in name:
        raise SourceError(f"{source!r}: give SOURCE as path/file.py:NAME (NAME: an nn.Module "
                          f"class that takes no arguments, or a function that returns one)")
    return Path(path), name


def load_module(source: str) -> nn.Module:
    path, name = split_source(source)
    if not path.is_file():
        raise SourceError(f"{path}: no such file" if not path.exists()
                          else f"{path}: not a file")
    try:
        spec = importlib.util.spec_from_file_location(f"_cnn_import_{uuid.uuid4().hex}", path)
        if spec is None or spec.loader is None:
            raise SourceError(f"{path}: not a Python file")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # dataclasses and pickling look modules up here
        folder = str(path.resolve().parent)
        added = folder not in sys.path
        if added:
            sys.path.insert(0, folder)  # so the file can import its neighbours
        try:
            spec.loader.exec_module(mod)
        finally:
            if added:
                sys.path.remove(folder)
    except SourceError:
        raise
    except SyntaxError as e:
        raise SourceError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    except BaseException as e:  # noqa: BLE001 - the user's file may raise anything
        if isinstance(e, KeyboardInterrupt):
            raise
        where = place_from_exception(e)
        at = f" (line {where.line}: {where.code})" if where.line else ""
        raise SourceError(f"{path}: running the file failed{at}: {first_line(e)}") from None
    obj = getattr(mod, name, None)
    if obj is None:
        found = sorted(k for k, v in vars(mod).items()
                       if inspect.isclass(v) and issubclass(v, nn.Module)
                       and v.__module__ == mod.__name__)
        hint = f"; modules defined there: {', '.join(found)}" if found else ""
        raise SourceError(f"{path}: defines no '{name}'{hint}")
    return _instantiate(obj, f"{path}:{name}")


def _instantiate(obj: object, label: str) -> nn.Module:
    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise SourceError(f"{label} is not an nn.Module class or a function returning one")
    try:
        made = obj()  # type: ignore[operator]
    except TypeError as e:
        if "argument" in str(e):
            raise SourceError(f"{label} needs arguments ({first_line(e)}); give a class that "
                              f"takes none, or a function that builds it with its "
                              f"arguments") from None
        raise SourceError(f"{label}: building it failed: {first_line(e)}") from None
    except BaseException as e:  # noqa: BLE001
        if isinstance(e, KeyboardInterrupt):
            raise
        where = place_from_exception(e)
        at = f" (line {where.line}: {where.code})" if where.line else ""
        raise SourceError(f"{label}: building it failed{at}: {first_line(e)}") from None
    if not isinstance(made, nn.Module):
        raise SourceError(f"{label} returned {type(made).__name__}, not an nn.Module")
    return made
