"""Parameter specifications: one per constructor argument of a layer type.

A ParamSpec knows its kind, PyTorch default, range and help text, and checks a
value from a design file (JSON forms: ints, floats, bools, strings, lists).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

# Kinds of parameter value.
INT = "int"              # whole number
FLOAT = "float"          # real number
BOOL = "bool"
CHOICE = "choice"        # one of `choices`
PAIR = "pair"            # int or [h, w]
PADDING = "padding"      # int, [h, w], "same" or "valid"
OPT_PAIR = "opt_pair"    # None, int or [h, w]
ADAPTIVE = "adaptive"    # int or [h|None, w|None]
OPT_INT = "opt_int"      # None or int
OPT_FLOAT = "opt_float"  # None or real
OPT_BOOL = "opt_bool"    # None or bool
SHAPE = "shape"          # None or list of ints (LayerNorm.normalized_shape)
SECTIONS = "sections"    # int or non-empty list of ints (Split.split_size_or_sections)


class ParamError(ValueError):
    """A parameter value that the layer type cannot take."""


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    initial: Any = None       # value given to a new layer when default is REQUIRED
    inferred: bool = False    # input-size argument: inferred, never shown or written
    advanced: bool = False    # shown folded in the property editor
    rank: int = 2             # spatial axes of PAIR/PADDING/OPT_PAIR/ADAPTIVE lists (0: any)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def new_value(self) -> Any:
        """The value a freshly added layer gets."""
        return self.initial if self.required else self.default

    def check(self, value: Any) -> Any:
        """Return the value if valid for this spec, else raise ParamError."""
        checker = _CHECKERS[self.kind]
        return checker(self, value)

    def describe_range(self) -> str:
        if self.kind == CHOICE:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        parts = []
        if self.minimum is not None:
            parts.append(f"≥ {_fmt(self.minimum)}")
        if self.maximum is not None:
            parts.append(f"≤ {_fmt(self.maximum)}")
        return " and ".join(parts)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and v == v and v not in (float("inf"), float("-inf")))


def _range_check(spec: ParamSpec, v: float, what: str) -> None:
    if spec.minimum is not None and v < spec.minimum:
        raise ParamError(f"{spec.name} must be {what} ≥ {_fmt(spec.minimum)}; got {v!r}")
    if spec.maximum is not None and v > spec.maximum:
        raise ParamError(f"{spec.name} must be {what} ≤ {_fmt(spec.maximum)}; got {v!r}")


def _check_int(spec: ParamSpec, v: Any) -> int:
    if not _is_int(v):
        raise ParamError(f"{spec.name} must be a whole number; got {v!r}")
    _range_check(spec, v, "a whole number")
    return v


def _check_float(spec: ParamSpec, v: Any) -> float:
    if not _is_real(v):
        raise ParamError(f"{spec.name} must be a number; got {v!r}")
    _range_check(spec, v, "a number")
    return v


def _check_bool(spec: ParamSpec, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ParamError(f"{spec.name} must be true or false; got {v!r}")
    return v


def _check_choice(spec: ParamSpec, v: Any) -> Any:
    if v not in spec.choices or isinstance(v, bool) != isinstance(spec.choices[0], bool):
        raise ParamError(f"{spec.name} must be {spec.describe_range()}; got {v!r}")
    return v


AXIS_LETTERS = {1: ("l",), 2: ("h", "w"), 3: ("d", "h", "w")}


def axes_list(rank: int) -> str:
    """How a per-axis list is written in messages: [l], [h, w] or [d, h, w]."""
    return "[" + ", ".join(AXIS_LETTERS.get(rank, ("?",) * rank)) + "]"


def _per_axis(rank: int) -> str:
    if rank == 0:
        return "a list with one size per axis"
    return "a pair [h, w]" if rank == 2 else f"a list {axes_list(rank)}"


def _rank_ok(spec: "ParamSpec", n: int) -> bool:
    """A per-axis list's length: the spec's rank, or 1-3 for rank 0 (any rank)."""
    return n == spec.rank or (spec.rank == 0 and 1 <= n <= 3)


def _check_pair(spec: ParamSpec, v: Any) -> Any:
    if _is_int(v):
        _range_check(spec, v, "a whole number")
        return v
    if (isinstance(v, (list, tuple)) and _rank_ok(spec, len(v))
            and all(_is_int(x) for x in v)):
        for x in v:
            _range_check(spec, x, "a whole number")
        return list(v)
    raise ParamError(f"{spec.name} must be a whole number or {_per_axis(spec.rank)}; "
                     f"got {v!r}")


def _check_padding(spec: ParamSpec, v: Any) -> Any:
    if v in ("same", "valid"):
        return v
    try:
        return _check_pair(spec, v)
    except ParamError:
        raise ParamError(f"{spec.name} must be a whole number, {_per_axis(spec.rank)}, "
                         f"\"same\" or \"valid\"; got {v!r}") from None


def _check_opt_pair(spec: ParamSpec, v: Any) -> Any:
    return None if v is None else _check_pair(spec, v)


def _check_adaptive(spec: ParamSpec, v: Any) -> Any:
    if _is_int(v):
        _range_check(spec, v, "a whole number")
        return v
    if (isinstance(v, (list, tuple)) and len(v) == spec.rank
            and all(x is None or _is_int(x) for x in v)):
        for x in v:
            if x is not None:
                _range_check(spec, x, "a whole number")
        return list(v)
    raise ParamError(f"{spec.name} must be a whole number or {_per_axis(spec.rank)} "
                     f"(null keeps the input size); got {v!r}")


def _check_opt_int(spec: ParamSpec, v: Any) -> Any:
    return None if v is None else _check_int(spec, v)


def _check_opt_float(spec: ParamSpec, v: Any) -> Any:
    return None if v is None else _check_float(spec, v)


def _check_opt_bool(spec: ParamSpec, v: Any) -> Any:
    return None if v is None else _check_bool(spec, v)


def _check_shape(spec: ParamSpec, v: Any) -> Any:
    if v is None:
        return None
    if _is_int(v) and v >= 1:
        return v
    if isinstance(v, (list, tuple)) and v and all(_is_int(x) and x >= 1 for x in v):
        return list(v)
    raise ParamError(f"{spec.name} must be a list of positive whole numbers; got {v!r}")


def _check_sections(spec: ParamSpec, v: Any) -> Any:
    if _is_int(v):
        _range_check(spec, v, "a whole number")
        return v
    if isinstance(v, (list, tuple)) and v and all(_is_int(x) for x in v):
        for x in v:
            _range_check(spec, x, "a whole number")
        return list(v)
    raise ParamError(f"{spec.name} must be a whole number (the size of each section) or a "
                     f"list of section sizes; got {v!r}")


_CHECKERS = {
    INT: _check_int, FLOAT: _check_float, BOOL: _check_bool, CHOICE: _check_choice,
    PAIR: _check_pair, PADDING: _check_padding, OPT_PAIR: _check_opt_pair,
    ADAPTIVE: _check_adaptive, OPT_INT: _check_opt_int, OPT_FLOAT: _check_opt_float,
    OPT_BOOL: _check_opt_bool, SHAPE: _check_shape, SECTIONS: _check_sections,
}


def pair(v: Any) -> tuple[int, int]:
    """An int or [h, w] as a (h, w) tuple."""
    if isinstance(v, (list, tuple)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


def ntuple(v: Any, rank: int) -> tuple[int, ...]:
    """An int or a per-axis list as a tuple of `rank` ints."""
    if isinstance(v, (list, tuple)):
        return tuple(int(x) for x in v)
    return (int(v),) * rank


def short(values: tuple[int, ...] | list[int]) -> int | list[int]:
    """A per-axis value as a file writes it: one number when every axis agrees."""
    values = list(values)
    return values[0] if len(set(values)) == 1 else values


@dataclass
class Fix:
    """A concrete remedy: parameter changes on the layer (None removes the key),
    or a layer type to insert before it."""
    label: str
    params: dict[str, Any] = field(default_factory=dict)
    insert_before: str | None = None
