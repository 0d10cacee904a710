"""The import report: what could not be represented, where, and what to do."""
from __future__ import annotations

import linecache
import os
import sys
import traceback
from dataclasses import dataclass, field

import torch

_TORCH_DIR = os.path.dirname(torch.__file__)
_OWN_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclass
class Place:
    """Where an op is written: its module path and the user's source line."""
    module: str = ""
    file: str = ""
    line: int = 0
    code: str = ""
    node: str = ""   # the fx node's name, to find its source line later

    def text(self) -> str:
        parts = []
        if self.module:
            parts.append(f"module '{self.module}'")
        if self.file:
            parts.append(f"{os.path.basename(self.file)}:{self.line}")
        head = ", ".join(parts)
        return head + (f": {self.code}" if self.code else "")


@dataclass
class Problem:
    what: str     # the op, e.g. "nn.LSTM" or "x.view(-1, 8192)"
    why: str      # what is wrong, in plain words
    todo: str     # what to do
    place: Place = field(default_factory=Place)

    def text(self) -> str:
        where = self.place.text()
        lines = [f"- {self.what}" + (f" ({where})" if where else ""), f"    {self.why}"]
        if self.todo:
            lines.append(f"    what to do: {self.todo}")
        return "\n".join(lines)


@dataclass
class ImportReport:
    source: str
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    layers: int = 0
    params: int = 0
    module_params: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, what: str, why: str, todo: str, place: Place | None = None) -> None:
        self.problems.append(Problem(what, why, todo, place or Place()))

    def text(self) -> str:
        if self.ok:
            head = (f"import of {self.source}: {self.layers} layers, "
                    f"{self.params:,} parameters (the module has {self.module_params:,})")
        else:
            n = len(self.problems)
            head = (f"import of {self.source}: {n} thing{'s' if n != 1 else ''} cannot be "
                    f"represented as a design:")
        lines = [head] + [p.text() for p in self.problems]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def user_frame(depth: int = 1) -> tuple[str, int, str] | None:
    """The innermost caller outside torch and this package (cheap: no
    traceback objects, unlike fx's record_stack_traces)."""
    frame = sys._getframe(depth)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(_TORCH_DIR) and not name.startswith(_OWN_DIR) \
                and not name.startswith("<"):
            line = frame.f_lineno
            return name, line, linecache.getline(name, line).strip()
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _user_frames(frames: list[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
    return [f for f in frames if not f[0].startswith(_TORCH_DIR) and "<" not in f[0][:1]]


def place_from_exception(exc: BaseException, module: str = "") -> Place:
    """The innermost frame of the user's code in an exception's traceback."""
    frames = [(f.filename, f.lineno or 0, (f.line or "").strip())
              for f in traceback.extract_tb(exc.__traceback__)]
    user = [f for f in _user_frames(frames) if not f[0].startswith(os.path.dirname(
        os.path.dirname(__file__)))]
    if not user:
        return Place(module)
    file, line, code = user[-1]
    return Place(module, file, line, code)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
