"""Schema version 2: output ports ("id:port" inputs) in the model, the analysis,
the design file (migration from v1, round trips) and the summary; the new
layers' own checks (Split, Mul, MaxUnpool2d, PReLU)."""
from __future__ import annotations

import copy
import json

import pytest

from designer.core import Design, InputSpec, analyse
from designer.core.model import split_ref
from designer.core.report import summary_dict, summary_table
from designer.core.serialise import SCHEMA_VERSION
from designer.io import DesignFileError, from_dict, loads, to_dict
from test_core_torch_equivalence import check_against_torch


def unpool_design() -> Design:
    d = Design("unpool", InputSpec(3, 9, 7))
    d.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, layer_id="c")
    d.add_layer("MaxPool2d", {"kernel_size": 2, "return_indices": True}, layer_id="pool")
    d.add_layer("ReLU6", layer_id="act")
    d.add_layer("MaxUnpool2d", {"kernel_size": 2}, inputs=["act", "pool:indices"],
                layer_id="unpool")
    return d


def errors(d: Design, lid: str) -> list[str]:
    return [e.message for e in analyse(d).layers[lid].errors]


# --- references and the model ------------------------------------------------------

def test_a_reference_names_a_layer_and_a_port() -> None:
    ids = {"split", "a:b"}
    assert split_ref("split", ids) == ("split", None)
    assert split_ref("split:1", ids) == ("split", "1")
    assert split_ref("split:indices", ids) == ("split", "indices")
    assert split_ref("a:b", ids) == ("a:b", None)          # a whole v1 id wins
    assert split_ref("a:b:2", ids) == ("a:b", "2")
    assert split_ref("input:0", ids) == ("input", "0")
    assert split_ref("nope:1", ids) == ("nope:1", None)


def test_model_edits_keep_port_suffixes() -> None:
    d = unpool_design()
    assert d.sources("unpool") == ["act", "pool"]
    assert [lay.id for lay in d.consumers("pool")] == ["act", "unpool"]
    d.rename_layer("pool", "p1")
    assert d.layer("unpool").inputs == ["act", "p1:indices"]
    d.disconnect("p1", "unpool")       # the only reference to p1's ports
    assert d.layer("unpool").inputs == ["act"]
    d.connect("p1:1", "unpool")
    assert d.layer("unpool").inputs == ["act", "p1:1"]
    with pytest.raises(ValueError, match="already feeds"):
        d.connect("p1:1", "unpool")
    with pytest.raises(ValueError, match="cycle"):
        d.connect("unpool:0", "c")
    layer, index, consumers = d.remove_layer("p1")
    assert d.layer("unpool").inputs == ["act"] and d.layer("act").inputs == []
    d.restore_layer(layer, index, consumers)
    assert d.layer("unpool").inputs == ["act", "p1:1"]
    assert "p1" not in d.output_ids()


# --- analysis ----------------------------------------------------------------------

def test_ports_have_shapes_and_unpool_restores_the_odd_size() -> None:
    a = analyse(unpool_design())
    assert a.ok, a.all_errors
    pool = a.layers["pool"]
    assert pool.port_names == ["out", "indices"] and pool.port_shapes == [(4, 4, 3)] * 2
    assert a.layers["unpool"].output_shape == (4, 9, 7)        # not the default 8×6
    assert a.layers["unpool"].call_kwargs == {"output_size": (9, 7)}
    assert a.layers["unpool"].sources == [("act", 0), ("pool", 1)]
    check_against_torch(unpool_design())


@pytest.mark.parametrize("ref, words", [
    ("pool:2", "has no output '2'"), ("pool:mask", "its outputs: 0 (out), 1 (indices)"),
    ("c:1", "'c' (Conv2d) has no output '1'"),
])
def test_a_port_that_does_not_exist_is_an_error(ref: str, words: str) -> None:
    d = unpool_design()
    d.set_inputs("unpool", ["act", ref])
    assert any(words in m for m in errors(d, "unpool")), errors(d, "unpool")


def test_indices_need_return_indices_and_matching_settings() -> None:
    d = unpool_design()
    d.set_param("pool", "return_indices", False)
    assert "gives no indices: turn on return_indices" in errors(d, "unpool")[0]
    d = unpool_design()
    d.set_inputs("unpool", ["act", "c"])
    assert "must be the 'indices' output of a MaxPool2d" in errors(d, "unpool")[0]
    d = unpool_design()
    d.set_param("unpool", "kernel_size", 3)
    issue = analyse(d).layers["unpool"].errors[0]
    assert "must equal those of 'pool'" in issue.message
    assert issue.fix is not None and issue.fix.params["kernel_size"] == 2
    for name, value in issue.fix.params.items():   # None removes the key
        d.set_param("unpool", name, value)
    assert analyse(d).ok
    d = unpool_design()
    d.set_inputs("unpool", ["c", "pool:indices"])   # 4×9×7 values, 4×4×3 indices
    assert "must have the shape of the indices" in errors(d, "unpool")[0]


def test_split_sections_mul_broadcasting_and_prelu_checks() -> None:
    d = Design("checks", InputSpec(6, 4, 4))
    d.add_layer("Split", {"split_size_or_sections": [2, 2]}, layer_id="s")
    issue = analyse(d).layers["s"].errors[0]
    assert "must add up to the 6 values" in issue.message
    assert issue.fix is not None and issue.fix.params == {"split_size_or_sections": [3, 3]}
    d.set_param("s", "split_size_or_sections", 4)
    assert analyse(d).layers["s"].port_shapes == [(4, 4, 4), (2, 4, 4)]
    d.set_param("s", "dim", 0)
    assert "dim 0 is the batch" in errors(d, "s")[0]
    d.set_param("s", "dim", -1)
    assert analyse(d).layers["s"].port_shapes == [(6, 4, 4)]
    d.add_layer("AdaptiveAvgPool2d", {"output_size": [1, 2]}, inputs=["input"], layer_id="g")
    d.add_layer("Mul", inputs=["g", "input"], layer_id="m")
    assert "equal or 1 (broadcast)" in errors(d, "m")[0]
    d.add_layer("Flatten", inputs=["input"], layer_id="f")
    d.set_inputs("m", ["f", "input"])
    assert "same rank" in errors(d, "m")[0]
    d.add_layer("PReLU", {"num_parameters": 4}, inputs=["input"], layer_id="p")
    issue = analyse(d).layers["p"].errors[0]
    assert "must be 1 or the 6 channels" in issue.message and issue.fix is not None


# --- files: migration and round trips ------------------------------------------------

V1 = {"format": "cnn-designer", "schema_version": 1, "design": {
    "name": "old", "input": {"channels": 3, "height": 8, "width": 8},
    "layers": [{"id": "a:b", "type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3}},
               {"id": "r", "type": "ReLU"},
               {"id": "sum", "type": "Add", "inputs": ["a:b", "r"]}]}}


def test_v1_files_load_unchanged_and_save_as_v2() -> None:
    assert SCHEMA_VERSION == 2
    old = copy.deepcopy(V1)
    d = from_dict(old)
    assert old == V1                                    # the caller's dict is untouched
    assert d.layer("sum").inputs == ["a:b", "r"]        # an id with ':' still works
    a = analyse(d)
    assert a.ok and a.layers["sum"].sources == [("a:b", 0), ("r", 0)]
    saved = to_dict(d)
    assert saved["schema_version"] == 2
    assert saved["design"] == V1["design"]              # nothing else changes
    assert to_dict(loads(json.dumps(saved))) == saved


def test_ports_round_trip_as_written() -> None:
    d = unpool_design()
    d.add_layer("Split", {"split_size_or_sections": [1, 3]}, inputs=["unpool"], layer_id="s")
    d.add_layer("Concat", inputs=["s:1", "s"], layer_id="cat")
    d.set_inputs("unpool", ["act", "pool:1"])
    text = json.dumps(to_dict(d))
    back = loads(text)
    assert back.layer("unpool").inputs == ["act", "pool:1"]
    assert back.layer("cat").inputs == ["s:1", "s"]
    assert to_dict(back) == to_dict(d)
    assert analyse(back).ok


def test_a_reference_to_a_missing_layer_names_the_reference() -> None:
    data = to_dict(unpool_design())
    data["design"]["layers"][-1]["inputs"] = ["act", "gone:indices"]
    with pytest.raises(DesignFileError, match="'gone:indices' is not a layer id"):
        from_dict(data)
    with pytest.raises(ValueError, match="unknown layer 'ghost:1'"):
        unpool_design().set_inputs("unpool", ["act", "ghost:1"])


def test_inputs_of_other_ranks_load_and_bad_mixtures_are_refused() -> None:
    """Schema v2: `depth` makes a 3-D input, `length` a 1-D one; length with
    height (or width, depth) is refused at the key that does not belong."""
    data = to_dict(unpool_design())
    data["design"]["input"]["depth"] = 16
    assert from_dict(data).input.shape == (3, 16, 9, 7)
    data["design"]["input"]["length"] = 16
    with pytest.raises(DesignFileError, match="1-D input") as e:
        from_dict(data)
    assert e.value.where == "design.input.height"


# --- summary --------------------------------------------------------------------------

def test_summary_lists_every_port_of_multi_output_layers() -> None:
    d = unpool_design()
    a = analyse(d)
    data = summary_dict(d, a)
    pool = next(lay for lay in data["layers"] if lay["id"] == "pool")
    assert [p["name"] for p in pool["ports"]] == ["out", "indices"]
    assert pool["ports"][1]["output_shape"] == [4, 4, 3]
    assert all("ports" not in lay for lay in data["layers"] if lay["id"] != "pool")
    assert "4×4×3 / 4×4×3" in summary_table(d, a)


def test_the_complete_examples_in_the_format_doc_load_and_analyse() -> None:
    import re
    from conftest import ROOT
    text = (ROOT / "docs" / "file-format.md").read_text(encoding="utf-8")
    examples = [block for block in re.findall(r"```json\n(.*?)```", text, re.S)
                if '"format"' in block]
    assert len(examples) >= 2
    for block in examples:
        design = loads(block)
        a = analyse(design)
        assert a.ok, a.all_errors
    assert analyse(loads(examples[-1])).layers["split"].port_names == ["0", "1"]
