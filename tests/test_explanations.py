"""Every catalogue type carries an explanation (what, when, formula, parameters)."""
from __future__ import annotations

from designer.core.catalogue import all_types
from designer.core.explanations import EXPLANATIONS, as_text


def test_every_catalogue_type_has_a_full_explanation() -> None:
    missing = [t.name for t in all_types() if t.explanation is None]
    assert not missing, f"no explanation for {missing}"
    for t in all_types():
        e = t.explanation
        for field in (e.computes, e.use, e.formula, e.params):
            assert field.strip(), f"{t.name}: an empty part"
        assert "Formula:" in as_text(t.name)


def test_explanations_name_their_parameters() -> None:
    """The parameters text mentions each visible, non-inferred parameter by name
    (or says there are none), so it stays in step with the catalogue."""
    for t in all_types():
        text = t.explanation.params
        names = [s.name for s in t.visible_params]
        if not names:
            continue
        missing = [n for n in names if n not in text and not text.startswith("as ")]
        assert len(missing) < len(names), f"{t.name}: mentions none of {names}"


def test_the_types_being_added_have_explanations_ready() -> None:
    for name in ("Split", "Mul", "ReLU6", "Hardswish", "Hardsigmoid", "PReLU", "Mish",
                 "MaxUnpool2d"):
        assert name in EXPLANATIONS
