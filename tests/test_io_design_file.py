"""Design files: lossless round trips, unknown keys kept, versioning and
migrations, atomic saves, and one clear error naming the place for bad files."""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from conftest import SAMPLES
from designer.core import Design, InputSpec
from designer.io import DesignFileError, dumps, from_dict, load, loads, save, to_dict
from designer.io import design_file


def minimal(**design: Any) -> dict[str, Any]:
    d = {"name": "m", "input": {"channels": 1, "height": 8, "width": 8},
         "layers": [{"id": "a", "type": "ReLU"}, {"id": "b", "type": "Identity"}]}
    d.update(design)
    return {"format": "cnn-designer", "schema_version": 2, "design": d}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_load_save_load_is_lossless(sample: Path, tmp_path: Path) -> None:
    first = load(sample)
    raw = json.loads(sample.read_text())
    previous = "input"
    for layer in raw["design"]["layers"]:  # an explicit link to the previous layer is implied
        if layer.get("inputs") == [previous]:
            del layer["inputs"]
        previous = layer["id"]
    assert to_dict(first)["design"] == raw["design"]  # nothing dropped, nothing invented
    target = tmp_path / "copy.json"
    save(first, target)
    second = load(target)
    assert to_dict(second) == to_dict(first)
    assert dumps(second) == target.read_text()
    assert second.app is not None and second.app["name"] == "CNN Designer"


def test_unknown_keys_are_kept_everywhere() -> None:
    data = minimal(notes={"author": "me", "tags": [1, 2]}, colour="red")
    data["design"]["input"]["mean"] = [0.5]
    data["design"]["layers"][0].update({"comment": "first", "params": {"inplace": True}})
    data["design"]["layers"][1]["position"] = [1.5, -2]
    data["design"]["training"] = {"epochs": 3, "future_setting": None}
    data["app"] = "an old app string"
    data["plugins"] = {"x": 1}
    out = to_dict(loads(json.dumps(data)))
    data["design"]["layers"][1]["position"] = [1.5, -2.0]
    assert out == data


def test_inputs_default_to_the_previous_layer_and_are_written_only_when_needed() -> None:
    data = minimal()
    data["design"]["layers"].append({"id": "c", "type": "Add", "inputs": ["a", "b"]})
    d = from_dict(copy.deepcopy(data))
    assert [lay.inputs for lay in d.layers] == [["input"], ["a"], ["a", "b"]]
    assert to_dict(d) == data


def test_newer_schema_version_is_refused_clearly() -> None:
    data = minimal()
    data["schema_version"] = 7
    with pytest.raises(DesignFileError) as e:
        from_dict(data)
    assert e.value.where == "schema_version"
    assert "schema version 7" in str(e.value) and "newer CNN Designer" in str(e.value)
    assert "update" in str(e.value)


def test_a_registered_migration_upgrades_old_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the current schema is 3, where Conv2d's 'filters' became
    'out_channels'; version-1 and -2 files are upgraded on load (through every
    step) and saved as version 3."""
    from designer.core import serialise
    monkeypatch.setattr(design_file, "SCHEMA_VERSION", 3)   # the reader's copy
    monkeypatch.setattr(serialise, "SCHEMA_VERSION", 3)     # and the writer's
    monkeypatch.setattr(design_file, "MIGRATIONS", {1: design_file.MIGRATIONS[1]})

    @design_file.register_migration(2)
    def rename_filters(data: dict[str, Any]) -> dict[str, Any]:
        for layer in data["design"]["layers"]:
            params = layer.get("params", {})
            if "filters" in params:
                params["out_channels"] = params.pop("filters")
        data["schema_version"] = 3
        return data

    for version in (1, 2):
        old = minimal(layers=[{"id": "c", "type": "Conv2d",
                               "params": {"filters": 4, "kernel_size": 3}}])
        old["schema_version"] = version
        text = json.dumps(old)
        d = loads(text)
        assert d.layer("c").params == {"out_channels": 4, "kernel_size": 3}
        assert to_dict(d)["schema_version"] == 3
        assert json.loads(text) == old  # the caller's dict is not changed

    monkeypatch.setattr(design_file, "SCHEMA_VERSION", 4)  # no migration from 3
    with pytest.raises(DesignFileError, match="schema version 3 is no longer supported"):
        loads(text)

    design_file.MIGRATIONS[3] = lambda data: data  # forgets to advance the version
    with pytest.raises(DesignFileError, match="did not advance"):
        loads(text)

    design_file.MIGRATIONS[3] = lambda data: data["missing"]
    with pytest.raises(DesignFileError, match="cannot upgrade from schema version 3"):
        loads(text)


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "net.json"
    d = Design("net", InputSpec(1, 8, 8))
    d.add_layer("ReLU")
    save(d, target)
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]
    good = target.read_text()

    d.add_layer("Sigmoid")

    def crash(fd: int) -> None:
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        save(d, target)
    assert target.read_text() == good  # the old file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]  # and no temporary left
    monkeypatch.undo()

    written: list[str] = []
    real_replace = os.replace

    def watch(src: str, dst: str) -> None:
        written.append(Path(src).read_text())  # complete before it takes the name
        real_replace(src, dst)
    monkeypatch.setattr(os, "replace", watch)
    save(d, target)
    assert written == [target.read_text()] and loads(written[0]).layers[-1].type == "Sigmoid"


def _bad(path: str, value: Any) -> dict[str, Any]:
    """minimal() with the value at a dotted path replaced (None: deleted)."""
    data = minimal()
    keys = path.split(".")
    node: Any = data
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last: Any = int(keys[-1]) if isinstance(node, list) else keys[-1]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return data


@pytest.mark.parametrize("data, where, words", [
    (_bad("format", "keras"), "format", "not a CNN Designer file"),
    (_bad("format", None), "format", "not a CNN Designer file"),
    (_bad("schema_version", "1"), "schema_version", "whole number"),
    (_bad("design", None), "design", "must be an object"),
    (_bad("design", []), "design", "must be an object"),
    (_bad("design.name", 5), "design.name", "must be a string"),
    (_bad("design.input", [1, 8, 8]), "design.input", "must be an object"),
    (_bad("design.input.channels", 0), "design.input.channels", "from 1 to"),
    (_bad("design.input.height", 2.5), "design.input.height", "whole number"),
    (_bad("design.input.width", True), "design.input.width", "whole number"),
    (_bad("design.input.width", 10 ** 9), "design.input.width", "from 1 to"),
    (_bad("design.layers", {}), "design.layers", "must be a list"),
    (_bad("design.layers.0", "ReLU"), "design.layers[0]", "must be an object"),
    (_bad("design.layers.1.id", None), "design.layers[1]", "no \"id\""),
    (_bad("design.layers.1.id", "input"), "design.layers[1].id", "not allowed"),
    (_bad("design.layers.1.id", "a"), "design.layers[1].id", "used twice"),
    (_bad("design.layers.0.type", None), "design.layers[0] ('a')", "no \"type\""),
    (_bad("design.layers.0.type", "Relu"), "design.layers[0] ('a').type", "did you mean \"ReLU\""),
    (_bad("design.layers.0.params", [1]), "design.layers[0] ('a').params", "must be an object"),
    (_bad("design.layers.1.inputs", "a"), "design.layers[1] ('b').inputs", "list"),
    (_bad("design.layers.1.inputs", ["a", "a"]), "design.layers[1] ('b').inputs", "distinct"),
    (_bad("design.layers.1.inputs", ["zz"]), "design.layers[1] ('b').inputs", "'zz' is not"),
    (_bad("design.layers.0.inputs", ["b"]), "design.layers", "form a cycle"),
    (_bad("design.layers.0.position", [1, "x"]), "design.layers[0] ('a').position", "[x, y]"),
    (_bad("design.layers.0.frozen", "yes"), "design.layers[0] ('a').frozen", "true or false"),
    (_bad("design.output", "nope"), "design.output", "not a layer id"),
    (_bad("design.training", [1]), "design.training", "must be an object"),
])
def test_malformed_files_name_the_place(data: dict[str, Any], where: str, words: str) -> None:
    with pytest.raises(DesignFileError) as e:
        loads(json.dumps(data))
    assert e.value.where == where
    assert words in str(e.value) and str(e.value).startswith(where + ": ")


@pytest.mark.parametrize("text, words", [
    ("", "not valid JSON"),
    ('{"format": "cnn-designer",', "not valid JSON"),
    ('{"a": NaN}', "NaN is not a valid JSON number"),
    ('{"a": -Infinity}', "not a valid JSON number"),
    ("[1, 2]", "must hold a JSON object, not a list"),
    ('{"a": ' + "[" * 200 + "]" * 200 + "}", "nested"),
    ('{"a": "\\ud800"}', "lone surrogate"),
    ('{"a": ' + "9" * 5000 + "}", "not valid JSON: a number has thousands of digits"),
])
def test_unreadable_text(text: str, words: str) -> None:
    with pytest.raises(DesignFileError, match=words.replace("[", r"\[")):
        loads(text)


def test_unreadable_files_name_the_path(tmp_path: Path) -> None:
    cases = {"missing.json": "no such file"}
    (tmp_path / "folder.json").mkdir()
    cases["folder.json"] = "folder"
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    cases["binary.json"] = "not a text (UTF-8) file"
    (tmp_path / "bad.json").write_text(json.dumps(_bad("design.input.channels", -1)))
    cases["bad.json"] = "design.input.channels: must be a whole number"
    for name, words in cases.items():
        with pytest.raises(DesignFileError) as e:
            load(tmp_path / name)
        assert str(e.value).startswith(str(tmp_path / name) + ": ") and words in str(e.value)
    with pytest.raises(DesignFileError):
        load("bad\0name.json")


def test_utf8_bom_and_unicode_names_load(tmp_path: Path) -> None:
    data = minimal(name="Réseau ✓")
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(data, ensure_ascii=False).encode())
    assert load(path).name == "Réseau ✓"


def test_whatever_the_editor_stores_saves_into_a_loadable_file(tmp_path: Path) -> None:
    d = Design("odd", InputSpec(1, 8, 8))
    d.add_layer("Dropout", {"p": float("nan")})
    d.add_layer("Conv2d", {"out_channels": 2, "kernel_size": (3, 3), "stride": float("inf")})
    d.add_layer("ReLU", position=(float("nan"), 1.0))
    save(d, tmp_path / "odd.json")
    back = load(tmp_path / "odd.json")
    assert back.layer("dropout1").params == {"p": "nan"}
    assert back.layer("conv1").params["kernel_size"] == [3, 3]
    assert back.layer("relu1").position is None
    from designer.core import analyse
    errors = {lid: e.message for lid, e in analyse(back).all_errors}
    assert "p must be a number; got 'nan'" in errors["dropout1"]


def test_the_model_refuses_an_input_listed_twice() -> None:
    from designer.core import DesignError
    d = Design("t", InputSpec(1, 8, 8))
    d.add_layer("ReLU")
    with pytest.raises(DesignError, match="twice"):
        d.add_layer("Add", inputs=["relu1", "relu1"])
    d.add_layer("Add", inputs=["input", "relu1"])
    with pytest.raises(DesignError, match="twice"):
        d.set_inputs("add1", ["relu1", "relu1"])


def test_from_dict_of_a_non_object() -> None:
    for value in ([], "design", None, 3):
        with pytest.raises(DesignFileError, match="must be a JSON object"):
            from_dict(value)  # type: ignore[arg-type]
