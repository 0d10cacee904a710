"""Exported code against the built module on random valid designs: same
state_dict (keys, shapes, order), parameter count, frozen flags and outputs."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from designer.core import Design
from test_export_helpers import check_export_matches_build, valid_designs


@pytest.fixture(scope="module")
def code_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("exported")


@settings(max_examples=150)
@given(design=valid_designs(branches=False))
def test_random_stacks_export_exactly(design: Design, code_dir: Path) -> None:
    check_export_matches_build(design, code_dir)


@settings(max_examples=180)
@given(design=valid_designs(branches=True))
def test_random_branched_designs_export_exactly(design: Design, code_dir: Path) -> None:
    check_export_matches_build(design, code_dir)


def test_a_split_into_many_outputs_keeps_lines_short(tmp_path: Path) -> None:
    # found in random order: 8 outputs made the assignment's first line 96 characters
    from designer.core.model import InputSpec
    design = Design("many", InputSpec(2, 3, 5))
    design.add_layer("Flatten", {}, None, "flatten1")
    design.add_layer("Split", {"split_size_or_sections": 4, "dim": 1}, ["flatten1"], "split2")
    design.add_layer("Concat", {}, ["split2"] + [f"split2:{i}" for i in range(1, 8)], "cat")
    check_export_matches_build(design, tmp_path)   # exact, and every line <= 79
