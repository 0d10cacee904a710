"""Helpers shared by the code generators: safe identifiers, comments and literals.

User-written text (the design name, layer ids) reaches generated code only
through `comment_text` (inside a comment) or `literal` (a repr'd string).
"""
from __future__ import annotations

import builtins
import keyword
import math
import re
import sys
import unicodedata
from typing import Any

from designer.core.analysis import Analysis
from designer.core.model import Design

LINE_LENGTH = 79
INDENT = "    "
# Module-level names the generated files use themselves.
_TAKEN = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | {
    "torch", "nn", "F", "model", "main", "x", "args", "Add", "Concat", "Tensor",
}
MAX_CLASS_NAME = 40


# Modules the generated files (or torch itself, when a script runs from the
# folder holding them) import: a model file of that name would hide them.
_THIRD_PARTY = frozenset({"torch", "numpy", "sympy", "networkx", "jinja2", "fsspec",
                          "filelock", "typing_extensions", "mpmath", "setuptools", "triton",
                          "onnx", "onnxscript"})


def module_name_problem(stem: str, imported: bool = True) -> str | None:
    """Why `stem`.py cannot be the exported model's module, or None. With
    imported=False (no train.py imports it) only names that hide a module count."""
    if imported and not stem.isidentifier():
        return (f"train.py cannot import a module named {stem!r}: name the model file with "
                f"letters, digits and underscores")
    if imported and keyword.iskeyword(stem):
        return (f"a model file named '{stem}.py' cannot be imported: '{stem}' is a Python "
                f"keyword; choose another name, e.g. {stem}_model.py")
    if stem in sys.stdlib_module_names or stem in _THIRD_PARTY:
        return (f"a model file named '{stem}.py' would hide the module '{stem}' that the "
                f"exported code (or torch) imports; choose another name, e.g. "
                f"{stem}_model.py")
    return None


class ExportError(ValueError):
    """A design that cannot be exported (it has errors), with the reasons."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


def check_exportable(design: Design, analysis: Analysis) -> None:
    """Raise ExportError listing the design's errors, if any."""
    if analysis.ok:
        return
    problems = [(f"{where}: " if where else "") + issue.message
                for where, issue in analysis.all_errors]
    raise ExportError(f"the design '{one_line(design.name, 60)}' has "
                      f"{len(problems)} error(s) and cannot be exported; first: "
                      f"{one_line(problems[0], 200)}", problems)


def class_name(design_name: str) -> str:
    """A CamelCase class name from a design name ('LeNet-5' -> 'LeNet5')."""
    text = unicodedata.normalize("NFKD", design_name).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", text)
    name = "".join(w[0].upper() + w[1:] for w in words)[:MAX_CLASS_NAME]
    if not name or name[0].isdigit():
        name = "Model" + name
        name = name[:MAX_CLASS_NAME]
    if name in _TAKEN:
        name += "Model"
    return name


def one_line(text: str, limit: int) -> str:
    """Text on one printable line: control, format and separator characters
    (newlines, \\u2028, bidi overrides...) become spaces; cut to `limit`."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        out.append(" " if cat[0] in "CZ" else ch)
    flat = re.sub(r" +", " ", "".join(out)).strip()
    if len(flat) > limit:
        flat = flat[:max(limit - 3, 0)].rstrip() + "..."
    return flat


def comment_text(text: str, limit: int = 60) -> str:
    """User text safe to put after '# ' in generated code."""
    return one_line(text, limit)


def literal(value: Any) -> str:
    """A Python literal for a parameter value (ints, reals, bools, strings, None,
    and lists/tuples of those, written as tuples)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExportError(f"cannot write the number {value!r} into code")
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        items = [literal(v) for v in value]
        return "(" + items[0] + ",)" if len(items) == 1 else "(" + ", ".join(items) + ")"
    raise ExportError(f"cannot write a value of type {type(value).__name__} into code")


def fmt_dims(shape: tuple[int, ...] | None) -> str:
    return "?" if shape is None else "x".join(str(d) for d in shape)


def wrap(indent: str, head: str, items: list[str], tail: str, sep: str = ", ") -> list[str]:
    """`head item, item tail` on one line if it fits, else hanging indents
    (head ends with an opening bracket, tail starts with the closing one)."""
    one = f"{indent}{head}{sep.join(items)}{tail}"
    if len(one) <= LINE_LENGTH or not items:
        return [one]
    inner = indent + INDENT
    joined = f"{inner}{sep.join(items)}"
    if len(joined) <= LINE_LENGTH:
        return [f"{indent}{head}", joined, f"{indent}{tail}"]
    if sep == ", ":
        body = [f"{inner}{item}," for item in items]
    else:
        body = [f"{inner}{item}" if n == 0 else f"{inner}{sep.strip()} {item}"
                for n, item in enumerate(items)]
    return [f"{indent}{head}", *body, f"{indent}{tail}"]
