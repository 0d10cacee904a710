"""The formulas shown on request: with the numbers plugged in, each arithmetic
formula evaluates to the result it states, and that result is the analysis'."""
from __future__ import annotations

import math
import re

from hypothesis import given, settings

from designer.core import Design, analyse
from test_core_torch_equivalence import designs

_ALLOWED = re.compile(r"^[0-9+\-*/(). ]+$")


def evaluate(expr: str) -> float | None:
    """The value of a formula's arithmetic, or None if it is not pure arithmetic."""
    note = re.search(r" \(([^)]*)\)$", expr)
    if note and not re.fullmatch(r"[0-9+\-*/. ]*", note.group(1)):
        expr = expr[:note.start()]  # a trailing remark in words
    py = (expr.replace("·", "*").replace("−", "-").replace("⌊", "math.floor(")
          .replace("⌋", ")").replace("⌈", "math.ceil(").replace("⌉", ")").replace(",", ""))
    if not _ALLOWED.match(py.replace("math.floor(", "(").replace("math.ceil(", "(")):
        return None
    return eval(py, {"math": math})  # noqa: S307 - only digits and operators


def check_formulas(design: Design) -> int:
    a = analyse(design)
    checked = 0
    for lay in design.layers:
        info = a.layers[lay.id]
        for formula in info.formulas:
            parts = [p.strip() for p in formula.split(" = ")]
            if len(parts) < 3:
                continue
            stated = parts[-1].split(" ")[0].replace(",", "")
            value = evaluate(parts[1].replace(" − 1 (the last window would start in the "
                                              "padding)", " - 1"))
            if value is None or not re.fullmatch(r"\d+", stated):
                continue
            assert value == int(stated), (lay.type, formula)
            name = parts[0]
            expected = {"H_out": info.output_shape[1] if len(info.output_shape or ()) == 3 else None,
                        "W_out": info.output_shape[2] if len(info.output_shape or ()) == 3 else None,
                        "params": info.params, "MACs": info.macs}.get(name)
            if expected is not None:
                assert int(stated) == expected, (lay.type, formula)
            checked += 1
    return checked


@settings(max_examples=150)
@given(designs(valid=True, branches=True))
def test_formulas_evaluate_to_the_analysis(design: Design) -> None:
    check_formulas(design)


def test_known_formulas() -> None:
    d = Design()
    d.add_layer("Conv2d", {"out_channels": 8, "kernel_size": 3, "groups": 1, "stride": 2})
    d.add_layer("MaxPool2d", {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True})
    d.add_layer("Flatten")
    d.add_layer("Linear", {"out_features": 10})
    assert check_formulas(d) == 8
    a = analyse(d)
    assert a.layers["conv1"].formulas[0] == "H_out = ⌊(32 + 2·0 − 1·(3−1) − 1)/2⌋ + 1 = 15"
    assert a.layers["pool1"].formulas[0] == ("H_out = ⌈(15 + 2·1 − 1·(2−1) − 1)/2⌉ + 1 − 1 "
                                             "(the last window would start in the padding) = 8")
