"""Block templates: insert several primitive layers at once. After insertion
they are ordinary layers (nothing remembers the template)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from designer.core.analysis import analyse
from designer.core.model import INPUT_ID, Design, Layer
from designer.core.params import INT, ParamSpec, pair

# A recipe entry: (local name, type, params, local inputs; "$in" is the upstream).
Entry = tuple[str, str, dict[str, Any], list[str]]

OUT = ParamSpec("out_channels", INT, 64, "output channels", minimum=1, maximum=65536)
K = ParamSpec("kernel_size", INT, 3, "kernel size k", minimum=1, maximum=15)
STRIDE = ParamSpec("stride", INT, 1, "stride of the first convolution", minimum=1, maximum=8)
GROUPS = ParamSpec("groups", INT, 4, "channel groups", minimum=1, maximum=1024)


@dataclass(frozen=True)
class Template:
    name: str
    prefix: str
    help: str
    params: tuple[ParamSpec, ...]
    recipe: Callable[[dict[str, Any], int], list[Entry]]  # (params, input channels)

    def defaults(self) -> dict[str, Any]:
        return {s.name: s.default for s in self.params}


def _conv_bn_relu(p: dict[str, Any], c: int) -> list[Entry]:
    k = p["kernel_size"]
    return [("conv", "Conv2d", {"out_channels": p["out_channels"], "kernel_size": k,
                                "stride": p["stride"], "padding": k // 2, "bias": False}, ["$in"]),
            ("bn", "BatchNorm2d", {}, ["conv"]), ("relu", "ReLU", {}, ["bn"])]


def _depthwise_separable(p: dict[str, Any], c: int) -> list[Entry]:
    k = p["kernel_size"]
    return [("dw", "Conv2d", {"out_channels": c, "kernel_size": k, "stride": p["stride"],
                              "padding": k // 2, "groups": c, "bias": False}, ["$in"]),
            ("dw_bn", "BatchNorm2d", {}, ["dw"]), ("dw_relu", "ReLU", {}, ["dw_bn"]),
            ("pw", "Conv2d", {"out_channels": p["out_channels"], "kernel_size": 1,
                              "bias": False}, ["dw_relu"]),
            ("pw_bn", "BatchNorm2d", {}, ["pw"]), ("pw_relu", "ReLU", {}, ["pw_bn"])]


def _spatially_separable(p: dict[str, Any], c: int) -> list[Entry]:
    k, o = p["kernel_size"], p["out_channels"]
    return [("kx1", "Conv2d", {"out_channels": o, "kernel_size": [k, 1],
                               "padding": [k // 2, 0]}, ["$in"]),
            ("1xk", "Conv2d", {"out_channels": o, "kernel_size": [1, k],
                               "padding": [0, k // 2]}, ["kx1"]),
            ("relu", "ReLU", {}, ["1xk"])]


def _flattened(p: dict[str, Any], c: int) -> list[Entry]:
    k, o = p["kernel_size"], p["out_channels"]
    return [("1x1", "Conv2d", {"out_channels": o, "kernel_size": 1}, ["$in"]),
            ("kx1", "Conv2d", {"out_channels": o, "kernel_size": [k, 1], "padding": [k // 2, 0],
                               "groups": o}, ["1x1"]),
            ("1xk", "Conv2d", {"out_channels": o, "kernel_size": [1, k], "padding": [0, k // 2],
                               "groups": o}, ["kx1"]),
            ("relu", "ReLU", {}, ["1xk"])]


def _grouped_shuffle(p: dict[str, Any], c: int) -> list[Entry]:
    k, g = p["kernel_size"], p["groups"]
    return [("gconv", "Conv2d", {"out_channels": p["out_channels"], "kernel_size": k,
                                 "padding": k // 2, "groups": g, "bias": False}, ["$in"]),
            ("bn", "BatchNorm2d", {}, ["gconv"]), ("relu", "ReLU", {}, ["bn"]),
            ("shuffle", "ChannelShuffle", {"groups": g}, ["relu"])]


def _residual(p: dict[str, Any], c: int) -> list[Entry]:
    o, s = p["out_channels"], p["stride"]
    entries: list[Entry] = [
        ("conv1", "Conv2d", {"out_channels": o, "kernel_size": 3, "stride": s, "padding": 1,
                             "bias": False}, ["$in"]),
        ("bn1", "BatchNorm2d", {}, ["conv1"]), ("relu1", "ReLU", {}, ["bn1"]),
        ("conv2", "Conv2d", {"out_channels": o, "kernel_size": 3, "padding": 1, "bias": False},
         ["relu1"]),
        ("bn2", "BatchNorm2d", {}, ["conv2"])]
    skip = "$in"
    if s != 1 or o != c:
        entries += [("proj", "Conv2d", {"out_channels": o, "kernel_size": 1, "stride": s,
                                        "bias": False}, ["$in"]),
                    ("proj_bn", "BatchNorm2d", {}, ["proj"])]
        skip = "proj_bn"
    entries += [("add", "Add", {}, ["bn2", skip]), ("relu2", "ReLU", {}, ["add"])]
    return entries


TEMPLATES: dict[str, Template] = {t.name: t for t in (
    Template("Conv-BN-ReLU", "cbr", "convolution, batch normalisation and ReLU",
             (OUT, K, STRIDE), _conv_bn_relu),
    Template("Depthwise separable conv", "dws", "3×3 depthwise (groups = channels) then 1×1 "
             "pointwise: MobileNet's cheap convolution", (OUT, K, STRIDE), _depthwise_separable),
    Template("Spatially separable conv", "sep", "k×1 then 1×k: a k×k field for fewer weights",
             (OUT, K), _spatially_separable),
    Template("Flattened conv", "flat", "1×1 across channels, then k×1 and 1×k per channel",
             (OUT, K), _flattened),
    Template("Grouped conv + shuffle", "gshuf", "grouped convolution then a channel shuffle "
             "(ShuffleNet)", (OUT, K, GROUPS), _grouped_shuffle),
    Template("Residual block", "res", "two 3×3 conv-BN with an Add skip (1×1 projection when "
             "the shape changes)", (OUT, STRIDE), _residual),
)}


@dataclass
class Insertion:
    """What a template insertion did, so an undo command can revert it."""
    layers: list[Layer]
    rewired: dict[str, list[str]]   # consumer id -> its inputs before the insertion


def _upstream_channels(design: Design, upstream: str) -> int:
    if upstream == INPUT_ID:
        return design.input.channels
    shape = analyse(design).layers[upstream].output_shape
    return shape[0] if shape else 1


def expand(design: Design, name: str, upstream: str,
           params: dict[str, Any] | None = None) -> list[Layer]:
    """The layers a template would add after `upstream` (ids unique in design)."""
    t = TEMPLATES[name]
    p = {**t.defaults(), **(params or {})}
    entries = t.recipe(p, _upstream_channels(design, upstream))
    taken = {lay.id for lay in design.layers}
    n = 1
    while any(f"{t.prefix}{n}_{e[0]}" in taken for e in entries):
        n += 1
    ids = {e[0]: f"{t.prefix}{n}_{e[0]}" for e in entries}
    ids["$in"] = upstream
    return [Layer(ids[local], type_name, dict(prm), [ids[i] for i in inputs])
            for local, type_name, prm, inputs in entries]


def insert(design: Design, name: str, upstream: str,
           params: dict[str, Any] | None = None) -> Insertion:
    """Insert a template after `upstream`; its consumers now take the block's output."""
    layers = expand(design, name, upstream, params)
    consumers = {c.id: list(c.inputs) for c in design.consumers(upstream)}
    index = 0 if upstream == INPUT_ID else design.index_of(upstream) + 1
    for offset, layer in enumerate(layers):
        design.insert_layer(layer, index + offset)
    last = layers[-1].id
    for cid, inputs in consumers.items():
        design.set_inputs(cid, [last if s == upstream else s for s in inputs])
    return Insertion(layers, consumers)


def remove(design: Design, insertion: Insertion) -> None:
    """Undo an insertion."""
    for cid, inputs in insertion.rewired.items():
        design.set_inputs(cid, inputs)
    for layer in reversed(insertion.layers):
        design.remove_layer(layer.id)


__all__ = ["TEMPLATES", "Template", "Insertion", "expand", "insert", "remove", "pair"]
