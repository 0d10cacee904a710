"""Fuzzing the loader with corrupted sample files: it raises only
DesignFileError or loads a design that then analyses, reports and saves
without raising."""
from __future__ import annotations

import copy
import json
import math
import os
import socket
import tempfile
import threading
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SAMPLES
from designer.core import Design, analyse
from designer.core.report import summary_dict, summary_table
from designer.core.training_config import TrainConfig
from designer.io import DesignFileError, dumps, load, loads, to_dict
from test_core_torch_equivalence import designs

TEXTS = [p.read_text(encoding="utf-8") for p in SAMPLES]
DATA = [json.loads(t) for t in TEXTS]
TYPES = ["Conv2d", "Linear", "Add", "Concat", "Flatten", "MaxPool2d", "Upsample", "LayerNorm",
         "Conv4d", "", "relu", "__import__('os')"]

# Values of every JSON type, including the nasty ones.
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 70),
    st.sampled_from([0, -1, 10 ** 6, 2 ** 31, 10 ** 30, 10 ** 300, 65536, 4096]),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, 0.5, -0.0, 1e-320]),
    st.text(max_size=8), st.sampled_from(["same", "valid", "input", "zeros", "nearest"]),
    st.lists(st.integers(-1, 9), max_size=3), st.just([None, 3]), st.just({}),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def check(load_result: Any) -> None:
    """A loaded design must analyse, report and round-trip without raising."""
    design = load_result
    a = analyse(design)
    summary_dict(design, a)
    summary_table(design, a)
    text = dumps(design)
    assert to_dict(loads(text)) == to_dict(design)


def attempt(text_or_bytes: str | bytes) -> None:
    try:
        if isinstance(text_or_bytes, bytes):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "fuzz.json"
                path.write_bytes(text_or_bytes)
                design = load(path)
        else:
            design = loads(text_or_bytes)
    except DesignFileError as e:
        assert str(e)  # one clear message
        return
    check(design)


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _nodes(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _nodes(v, path + (i,))
    return out


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        value = value[k]
    return value


@st.composite
def mutated(draw: Any) -> str:
    data = copy.deepcopy(draw(st.sampled_from(DATA)))
    for _ in range(draw(st.integers(1, 4))):
        nodes = _nodes(data)[1:]
        if not nodes:
            break
        path = draw(st.sampled_from(nodes))
        parent, key = _get(data, path[:-1]), path[-1]
        layers = data.get("design", {}).get("layers") if isinstance(data.get("design"), dict) \
            else None
        op = draw(st.sampled_from(["replace", "replace", "delete", "duplicate", "cycle",
                                   "type", "nest", "param", "param"]))
        if op == "replace":
            parent[key] = copy.deepcopy(draw(ODD_VALUES))  # st.just objects are shared
        elif op == "delete":
            del parent[key]
        elif op == "nest":
            parent[key] = draw(st.sampled_from([[parent[key]], {"x": parent[key]}]))
            for _ in range(draw(st.sampled_from([1, 10, 70, 500]))):
                parent[key] = [parent[key]]
        elif isinstance(layers, list) and layers and all(isinstance(x, dict) for x in layers):
            i = draw(st.integers(0, len(layers) - 1))
            if op == "duplicate":
                layers.insert(draw(st.integers(0, len(layers))), copy.deepcopy(layers[i]))
            elif op == "cycle":
                j = draw(st.integers(0, len(layers) - 1))
                layers[i]["inputs"] = [str(layers[j].get("id"))]
            elif op == "type":
                layers[i]["type"] = draw(st.sampled_from(TYPES))
            elif op == "param":
                params = layers[i].setdefault("params", {})
                if isinstance(params, dict):
                    name = draw(st.sampled_from(
                        ["kernel_size", "stride", "padding", "dilation", "groups", "out_channels",
                         "out_features", "output_size", "scale_factor", "size", "p", "dim",
                         "num_groups", "normalized_shape", "in_channels", "start_dim", "mode",
                         "padding_mode", "output_padding", "divisor_override", "eps", "bias"]))
                    params[name] = copy.deepcopy(draw(ODD_VALUES))
    return json.dumps(data, allow_nan=True)


@settings(max_examples=2500)
@given(mutated())
def test_structure_mutations(text: str) -> None:
    attempt(text)


@st.composite
def corrupted(draw: Any) -> bytes:
    raw = bytearray(draw(st.sampled_from(TEXTS)).encode("utf-8"))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "flip", "truncate", "insert", "delete"]))
        if not raw:
            break
        i = draw(st.integers(0, len(raw) - 1))
        if op == "flip":
            raw[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del raw[i:]
        elif op == "insert":
            raw[i:i] = draw(st.sampled_from([b"{", b"]", b'"', b",", b"\\u", b"\xff", b"\x00",
                                             b"-", b"1e999", b"NaN", b"null"]))
        else:
            del raw[i:i + draw(st.integers(1, 20))]
    return bytes(raw)


@settings(max_examples=1500)
@given(corrupted())
def test_byte_corruption(raw: bytes) -> None:
    attempt(raw if len(raw) % 4 == 0 else raw.decode("utf-8", "replace"))


@settings(max_examples=150)
@given(designs(valid=False, branches=True))
def test_app_made_designs_round_trip(design: Design) -> None:
    """Any design the editor can make (valid or not) saves and loads back the
    same, with the same analysis."""
    if design.layers and design.layers[-1].type != "Add":
        design.set_output(design.layers[0].id)
    back = loads(dumps(design))
    assert to_dict(back) == to_dict(design)
    before, after = analyse(design), analyse(back)
    assert [(w, e.message) for w, e in before.all_errors] == \
        [(w, e.message) for w, e in after.all_errors]
    assert {k: v.output_shape for k, v in before.layers.items()} == \
        {k: v.output_shape for k, v in after.layers.items()}


# --- the "training" object -----------------------------------------------------------

SETTING_NAMES = [f.name for f in fields(TrainConfig)] + ["future_setting"]
SETTING_VALUES = st.one_of(
    ODD_VALUES, st.integers(-10, 10 ** 6), st.sampled_from([10 ** 20, 2 ** 63, -5, 100_000, 10 ** 400, -(10 ** 400)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["sgd", "adam", "cosine", "onecycle", "cpu", "cuda:0", "cuda:x", "bf16",
                     "synthetic", "cifar10", "on", "auto", "rmsprop"]))


@st.composite
def with_training(draw: Any) -> str:
    data = copy.deepcopy(draw(st.sampled_from(DATA)))
    data["design"]["training"] = draw(st.one_of(
        st.dictionaries(st.sampled_from(SETTING_NAMES), SETTING_VALUES, max_size=6),
        ODD_VALUES))
    return json.dumps(data, allow_nan=True)


@settings(max_examples=1000)
@given(with_training())
def test_training_object_mutations(text: str) -> None:
    """A design file's training settings either load, and then every setting is
    in its allowed range, or are refused with a message naming the setting."""
    try:
        design = loads(text)
    except DesignFileError as e:
        assert (e.where or "").startswith("design.training") or "not valid JSON" in str(e), e
        return
    check(design)
    TrainConfig.from_dict(design.training).check()  # raises nothing: all in range


# --- files that are not regular files ----------------------------------------------

def _load_with_deadline(path: Path, seconds: float = 10.0) -> BaseException | None:
    """What load(path) raised, failing the test if it blocks or reads for long."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            load(path)
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 - the test inspects it
            outcome.append(e)
    worker = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"load({path}) still running after {seconds} s"
    assert time.monotonic() - started < seconds
    return outcome[0]


def _special_files(tmp: Path) -> list[Path]:
    paths = [Path(p) for p in ("/dev/zero", "/dev/urandom", "/dev/null") if Path(p).exists()]
    paths.append(tmp)  # a folder
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp / "pipe.json")
        paths.append(tmp / "pipe.json")
    if Path("/dev/zero").exists():
        (tmp / "zero.json").symlink_to("/dev/zero")
        paths.append(tmp / "zero.json")
    if hasattr(socket, "AF_UNIX"):
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(tmp / "s.json"))
        sock.close()
        paths.append(tmp / "s.json")
    return paths


def test_non_regular_files_are_refused_before_reading(tmp_path: Path) -> None:
    paths = _special_files(tmp_path)
    assert len(paths) >= 2
    for path in paths:
        error = _load_with_deadline(path)
        assert isinstance(error, DesignFileError), (path, error)
        text = str(error)
        assert text.count(str(path)) == 1, text
        assert any(kind in text for kind in ("device", "FIFO", "folder", "socket")), text
