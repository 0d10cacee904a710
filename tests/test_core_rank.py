"""Inputs of any spatial rank (issue 15): the InputSpec API, the file format,
wrong-rank errors, the palette's fitting types, the shape formatter and the
per-axis formulas."""
from __future__ import annotations

import json

import pytest

from conftest import ROOT
from designer.core import Design, InputSpec, analyse
from designer.core.catalogue import (fitting_types, get_type, rank_sibling, shape_layout,
                                     shape_text, type_rank)
from designer.core.report import summary_dict, summary_table
from designer.io import DesignFileError, dumps, from_dict, load, loads, to_dict


def test_input_spec_ranks() -> None:
    image = InputSpec(3, 32, 32)
    assert (image.rank, image.spatial, image.shape, image.keys) == \
        (2, (32, 32), (3, 32, 32), ("height", "width"))
    signal = InputSpec(2, length=100)
    assert (signal.rank, signal.shape, signal.height, signal.width) == (1, (2, 100), None, None)
    clip = InputSpec(3, 112, 112, depth=16)
    assert (clip.rank, clip.shape, clip.keys) == (3, (3, 16, 112, 112),
                                                  ("depth", "height", "width"))
    for shape in [(2, 100), (3, 32, 32), (3, 16, 112, 112)]:
        assert InputSpec.from_shape(shape).shape == shape
    with pytest.raises(ValueError, match="1 to 3 spatial axes"):
        InputSpec.from_shape((3, 1, 2, 3, 4))


def _file(inp: dict[str, int]) -> dict:
    return {"format": "cnn-designer", "schema_version": 2,
            "design": {"name": "x", "input": inp, "layers": [{"id": "a", "type": "Identity"}]}}


@pytest.mark.parametrize("inp, shape", [
    ({"channels": 1, "length": 50}, (1, 50)),
    ({"channels": 3, "depth": 4, "height": 5, "width": 6}, (3, 4, 5, 6)),
    ({"channels": 3, "height": 5, "width": 6}, (3, 5, 6)),
])
def test_files_of_every_rank_round_trip(inp: dict[str, int], shape: tuple[int, ...]) -> None:
    d = from_dict(_file(inp))
    assert d.input.shape == shape and analyse(d).input_shape == shape
    text = dumps(d)
    assert json.loads(text)["design"]["input"] == inp      # the same keys, in file order
    assert list(json.loads(text)["design"]["input"]) == list(inp)
    assert loads(text).input == d.input


@pytest.mark.parametrize("inp, where, words", [
    ({"channels": 1, "length": 50, "height": 4}, "design.input.height", "has no height"),
    ({"channels": 1, "length": 50, "depth": 4}, "design.input.depth", "has no depth"),
    ({"channels": 1, "length": 0}, "design.input.length", "from 1 to"),
    ({"channels": 1, "depth": 4, "width": 5}, "design.input.height", "from 1 to"),
    ({"channels": 1, "depth": True, "height": 4, "width": 5}, "design.input.depth", "from 1 to"),
])
def test_bad_input_combinations_are_refused_where_they_are(inp: dict, where: str,
                                                           words: str) -> None:
    with pytest.raises(DesignFileError, match=words) as e:
        from_dict(_file(inp))
    assert e.value.where == where


def test_v1_files_are_unchanged() -> None:
    """A 2-D sample saves exactly the input it had (no rank keys appear)."""
    for name in ("lenet5", "resnet_small"):
        path = ROOT / "samples" / f"{name}.json"
        raw = json.loads(path.read_text(encoding="utf-8"))["design"]
        assert to_dict(load(path))["design"]["input"] == raw["input"]


@pytest.mark.parametrize("shape, type_name, fix", [
    ((3, 4, 8, 8), "Conv2d", "use Conv3d"),
    ((3, 20), "Conv2d", "use Conv1d"),
    ((3, 8, 8), "Conv3d", "use Conv2d"),
    ((3, 8, 8), "MaxPool1d", "use MaxPool2d"),
    ((3, 4, 8, 8), "AdaptiveAvgPool2d", "use AdaptiveAvgPool3d"),
    ((3, 4, 8, 8), "BatchNorm2d", "use BatchNorm3d"),
    ((3, 20), "BatchNorm3d", "use BatchNorm1d"),
    ((3, 8, 8), "InstanceNorm1d", "use InstanceNorm2d"),
    ((3, 8, 8), "Dropout3d", "use Dropout2d"),
    ((3, 4, 8, 8), "ConvTranspose1d", "use ConvTranspose3d"),
])
def test_a_layer_of_the_wrong_rank_names_the_fix(shape: tuple[int, ...], type_name: str,
                                                 fix: str) -> None:
    d = Design("x", InputSpec.from_shape(shape))
    lay = d.add_layer(type_name, get_type(type_name).new_params())
    errors = analyse(d).layers[lay.id].errors
    assert len(errors) == 1 and fix in errors[0].message, errors
    if shape == (3, 4, 8, 8) and type_name == "Conv2d":
        assert "this input is 3-D (C×D×H×W: 3×4×8×8)" in errors[0].message


def test_fitting_types_follow_the_rank() -> None:
    names = {n: {t.name for t in fitting_types(n)} for n in (1, 2, 3, 4)}
    assert {"Conv1d", "MaxPool1d", "BatchNorm1d", "InstanceNorm1d", "Dropout1d",
            "ConvTranspose1d", "AdaptiveAvgPool1d", "Upsample", "ReLU", "Add"} <= names[2]
    assert {"Conv3d", "MaxPool3d", "BatchNorm3d", "InstanceNorm3d", "Dropout3d",
            "Upsample", "Flatten", "Concat"} <= names[4]
    assert "Conv2d" not in names[4] and "Conv3d" not in names[3] and "Linear" not in names[3]
    assert {"Linear", "BatchNorm1d", "Flatten", "ReLU"} <= names[1]
    assert "Conv1d" not in names[1]
    assert {t.name for t in fitting_types((16, 8, 56, 56))} == names[4]
    # every type that fits accepts such an input in the analysis (new params)
    for n, shape in ((2, (4, 16)), (4, (4, 6, 8, 8))):
        for t in fitting_types(n):
            if t.min_inputs > 1 or t.name == "MaxUnpool2d":
                continue
            d = Design("x", InputSpec.from_shape(shape))
            lay = d.add_layer(t.name, t.new_params())
            info = analyse(d).layers[lay.id]
            assert not any("-D" in e.message and "use " in e.message for e in info.errors), \
                (t.name, info.errors)


def test_shape_formatter_and_type_ranks() -> None:
    assert shape_layout((3, 16, 112, 112)) == "C×D×H×W"
    assert shape_layout((3, 32, 32)) == "C×H×W" and shape_layout(2) == "C×L"
    assert shape_text((32, 100)) == "32×100 (C×L)"
    assert shape_text((120,)) == "120 (N)" and shape_text(None) == "?"
    assert type_rank("Conv3d") == 3 and type_rank("ReLU") is None
    assert rank_sibling("AvgPool2d", 1) == "AvgPool1d" and rank_sibling("MaxUnpool2d", 3) is None


def test_formulas_are_given_per_axis() -> None:
    d = Design("x", InputSpec(3, 32, 24, depth=16))
    d.add_layer("Conv3d", {"out_channels": 8, "kernel_size": [3, 5, 5], "stride": [1, 2, 2],
                           "padding": [1, 2, 2]}, layer_id="c")
    d.add_layer("MaxPool3d", {"kernel_size": [1, 2, 2]}, layer_id="p")
    a = analyse(d)
    f = a.layers["c"].formulas
    assert f[0] == "D_out = ⌊(16 + 2·1 − 1·(3−1) − 1)/1⌋ + 1 = 16"
    assert f[1] == "H_out = ⌊(32 + 2·2 − 1·(5−1) − 1)/2⌋ + 1 = 16"
    assert f[2] == "W_out = ⌊(24 + 2·2 − 1·(5−1) − 1)/2⌋ + 1 = 12"
    assert "params = (3·5·5·3 + 1)·8 = 1808" in f
    assert a.layers["c"].macs == 8 * 16 * 16 * 12 * 3 * 3 * 5 * 5
    assert a.layers["p"].formulas[0].startswith("D_out = ⌊(16 + 2·0 − 1·(1−1) − 1)/1⌋")
    s = Design("s", InputSpec(1, length=100))
    s.add_layer("Conv1d", {"out_channels": 4, "kernel_size": 5, "stride": 2}, layer_id="c")
    assert analyse(s).layers["c"].formulas[0] == "L_out = ⌊(100 + 2·0 − 1·(5−1) − 1)/2⌋ + 1 = 48"


def test_summary_of_a_volume_keeps_lists_without_the_batch() -> None:
    d = load(ROOT / "samples" / "c3d_small.json")
    a = analyse(d)
    data = summary_dict(d, a)
    assert data["input_shape"] == [3, 16, 112, 112]
    conv1 = data["layers"][0]
    assert conv1["output_shape"] == [16, 16, 112, 112]
    assert conv1["receptive_field"]["size"] == [3, 3, 3]
    table = summary_table(d, a)
    assert "3×16×112×112" in table and "1×1×1" in table and "5×8×8" in table
