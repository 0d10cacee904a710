"""Incremental re-analysis after a parameter edit equals a full analysis."""
from __future__ import annotations

import random

import pytest

from designer.core import analyse
from designer.core.incremental import analyse_after, reanalyse
from designer.core.model import INPUT_ID, Design, InputSpec, Layer
from designer.io import load

from conftest import SAMPLES


def _edits(design: Design, rng: random.Random):
    """(layer id, param, value) edits that change shapes, fields or validity."""
    for lay in design.layers:
        if lay.type == "Conv2d":
            yield lay.id, "out_channels", rng.choice([1, 4, 16, 33])
            yield lay.id, "kernel_size", rng.choice([1, 3, 5, 99])
            yield lay.id, "padding", rng.choice([0, 1, 2])
            yield lay.id, "stride", rng.choice([1, 2])
        elif lay.type in ("MaxPool2d", "AvgPool2d"):
            yield lay.id, "kernel_size", rng.choice([1, 2, 3])
        elif lay.type == "Linear":
            yield lay.id, "out_features", rng.choice([3, 10, 0])


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_reanalyse_equals_full_analysis_on_samples(path):
    design = load(path)
    rng = random.Random(path.stem)
    analysis = analyse(design)
    for lid, name, value in _edits(design, rng):
        design.set_param(lid, name, value)
        incremental = reanalyse(design, analysis, lid)
        assert incremental is not None
        analysis, changed = incremental
        assert lid in changed
        assert analysis == analyse(design), (lid, name, value)
        if rng.random() < 0.5:
            design.set_frozen(lid, not design.layer(lid).frozen)
            analysis, _ = analyse_after(design, analysis, "frozen_changed", lid)
            assert analysis == analyse(design)


def test_a_channel_edit_in_a_long_chain_recomputes_two_layers():
    design = Design("chain", InputSpec(3, 16, 16))
    design.set_layers([Layer(f"c{i + 1}", "Conv2d",
                             {"out_channels": 4, "kernel_size": 3, "padding": 1},
                             [f"c{i}" if i else INPUT_ID]) for i in range(300)])
    analysis = analyse(design)
    design.set_param("c100", "out_channels", 9)
    analysis, changed = reanalyse(design, analysis, "c100")
    # c101's output is unchanged; c102 still reads c101's input shape (what feeds
    # its source), then the walk stops
    assert changed == {"c100", "c101", "c102"}
    assert analysis == analyse(design)
    design.set_param("c100", "padding", 0)   # now every shape downstream changes
    analysis, changed = reanalyse(design, analysis, "c100")
    assert len(changed) == 201 and analysis == analyse(design)


def test_structure_changes_fall_back_to_full_analysis():
    design = load(SAMPLES[0])
    analysis = analyse(design)
    lid = design.layers[1].id
    design.remove_layer(lid)
    assert reanalyse(design, analysis, design.layers[1].id) is None
    result, changed = analyse_after(design, analysis, "layer_removed", lid)
    assert changed is None and result == analyse(design)


def test_an_extra_output_keeps_its_error_when_edited():
    design = Design("two ends", InputSpec(3, 16, 16))
    design.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 3}, [INPUT_ID], "a")
    design.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 3}, [INPUT_ID], "dangling")
    design.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 3}, ["a"], "end")
    analysis = analyse(design)
    assert analysis.layers["dangling"].errors
    for lid in ("dangling", "end", "a"):
        design.set_param(lid, "out_channels", 7)
        analysis, _ = reanalyse(design, analysis, lid)
        assert analysis == analyse(design)


def test_totals_summed_in_steps_equal_the_plain_sums() -> None:
    """Analysis.totals_steps (a sliced analysis sums them so) gives each total
    the property computes on its own, errors and warnings included."""
    from designer.core.analysis import analyse, run_steps
    from designer.core.model import INPUT_ID, Design, InputSpec, Layer
    design = Design("t", InputSpec(3, 16, 16))
    layers = [Layer(f"c{i}", "Conv2d", {"out_channels": 4 + i % 3, "kernel_size": 3, "padding": 1},
                    [f"c{i - 1}" if i else INPUT_ID], frozen=i % 4 == 0) for i in range(450)]
    layers.append(Layer("bad", "Conv2d", {"out_channels": 4, "kernel_size": 99}, ["c449"]))
    design.set_layers(layers)
    stepped, plain = analyse(design), analyse(design)
    run_steps(stepped.totals_steps())
    names = ("total_params", "trainable_params", "frozen_params", "total_macs", "total_memory",
             "error_count", "warning_count")
    got = {name: getattr(stepped, name) for name in names}
    assert got == {name: getattr(plain, name) for name in names}
    assert got["frozen_params"] > 0 and got["error_count"] > 0
