"""Block templates: insert several primitive layers at once. After insertion
they are ordinary layers (nothing remembers the template)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from designer.core.analysis import analyse
from designer.core.model import INPUT_ID, Design, Layer
from designer.core.params import BOOL, CHOICE, INT, ParamSpec, pair

# A recipe entry: (local name, type, params, local inputs; "$in" is the upstream).
Entry = tuple[str, str, dict[str, Any], list[str]]

OUT = ParamSpec("out_channels", INT, 64, "output channels", minimum=1, maximum=65536)
K = ParamSpec("kernel_size", INT, 3, "kernel size k", minimum=1, maximum=15)
STRIDE = ParamSpec("stride", INT, 1, "stride of the first convolution", minimum=1, maximum=8)
GROUPS = ParamSpec("groups", INT, 4, "channel groups", minimum=1, maximum=1024)
REDUCTION = ParamSpec("reduction", INT, 4, "squeeze ratio: the gate's hidden channels are "
                      "channels / reduction", minimum=1, maximum=1024)
GATE = ParamSpec("gate", CHOICE, "Sigmoid", "gate activation (MobileNetV3: Hardsigmoid)",
                 choices=("Sigmoid", "Hardsigmoid"))
EXPAND = ParamSpec("expand_ratio", INT, 6, "hidden channels = input channels × this",
                   minimum=1, maximum=16)
SE = ParamSpec("se", BOOL, False, "add a squeeze-excitation gate after the depthwise conv")
ACT = ParamSpec("activation", CHOICE, "ReLU6", "activation (MobileNetV2: ReLU6, V3: "
                "Hardswish)", choices=("ReLU6", "Hardswish", "ReLU"))
STRIDE12 = ParamSpec("stride", INT, 1, "1 keeps the size and channels (split in half); 2 "
                     "halves the size", minimum=1, maximum=2)
LAYERS = ParamSpec("layers", INT, 4, "dense layers in the block", minimum=1, maximum=64)
GROWTH = ParamSpec("growth_rate", INT, 12, "channels each dense layer adds", minimum=1,
                   maximum=1024)


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


def _se(c: int, reduction: int, gate: str, inp: str, pre: str = "") -> list[Entry]:
    """Squeeze-excitation on the output of `inp` (c channels): global pool,
    squeeze, expand, gate, multiply."""
    return [(f"{pre}pool", "AdaptiveAvgPool2d", {"output_size": 1}, [inp]),
            (f"{pre}fc1", "Conv2d", {"out_channels": max(1, c // reduction), "kernel_size": 1},
             [f"{pre}pool"]),
            (f"{pre}relu", "ReLU", {}, [f"{pre}fc1"]),
            (f"{pre}fc2", "Conv2d", {"out_channels": c, "kernel_size": 1}, [f"{pre}relu"]),
            (f"{pre}gate", gate, {}, [f"{pre}fc2"]),
            (f"{pre}mul", "Mul", {}, [f"{pre}gate", inp])]


def _squeeze_excitation(p: dict[str, Any], c: int) -> list[Entry]:
    return _se(c, p["reduction"], p["gate"], "$in")


def _inverted_residual(p: dict[str, Any], c: int) -> list[Entry]:
    o, s, k, act = p["out_channels"], p["stride"], p["kernel_size"], p["activation"]
    hidden = c * p["expand_ratio"]
    entries: list[Entry] = []
    tip = "$in"
    if hidden != c:
        entries += [("expand", "Conv2d", {"out_channels": hidden, "kernel_size": 1,
                                          "bias": False}, [tip]),
                    ("expand_bn", "BatchNorm2d", {}, ["expand"]),
                    ("expand_act", act, {}, ["expand_bn"])]
        tip = "expand_act"
    entries += [("dw", "Conv2d", {"out_channels": hidden, "kernel_size": k, "stride": s,
                                  "padding": k // 2, "groups": hidden, "bias": False}, [tip]),
                ("dw_bn", "BatchNorm2d", {}, ["dw"]), ("dw_act", act, {}, ["dw_bn"])]
    tip = "dw_act"
    if p["se"]:
        entries += _se(hidden, 4, "Hardsigmoid", tip, "se_")
        tip = "se_mul"
    entries += [("project", "Conv2d", {"out_channels": o, "kernel_size": 1, "bias": False},
                 [tip]),
                ("project_bn", "BatchNorm2d", {}, ["project"])]
    if s == 1 and o == c:
        entries.append(("add", "Add", {}, ["project_bn", "$in"]))
    return entries


def _shufflenet_unit(p: dict[str, Any], c: int) -> list[Entry]:
    if p["stride"] == 1:
        half = c // 2
        branch = c - half
        entries: list[Entry] = [("split", "Split", {"split_size_or_sections": [half, branch]},
                                 ["$in"])]
        first, tip = "split", "split:1"
    else:
        branch = max(1, p["out_channels"] // 2)
        entries = [("b1_dw", "Conv2d", {"out_channels": c, "kernel_size": 3, "stride": 2,
                                        "padding": 1, "groups": c, "bias": False}, ["$in"]),
                   ("b1_dw_bn", "BatchNorm2d", {}, ["b1_dw"]),
                   ("b1_pw", "Conv2d", {"out_channels": branch, "kernel_size": 1,
                                        "bias": False}, ["b1_dw_bn"]),
                   ("b1_pw_bn", "BatchNorm2d", {}, ["b1_pw"]),
                   ("b1_relu", "ReLU", {}, ["b1_pw_bn"])]
        first, tip = "b1_relu", "$in"
    entries += [("pw1", "Conv2d", {"out_channels": branch, "kernel_size": 1, "bias": False},
                 [tip]),
                ("pw1_bn", "BatchNorm2d", {}, ["pw1"]), ("pw1_relu", "ReLU", {}, ["pw1_bn"]),
                ("dw", "Conv2d", {"out_channels": branch, "kernel_size": 3,
                                  "stride": p["stride"], "padding": 1, "groups": branch,
                                  "bias": False}, ["pw1_relu"]),
                ("dw_bn", "BatchNorm2d", {}, ["dw"]),
                ("pw2", "Conv2d", {"out_channels": branch, "kernel_size": 1, "bias": False},
                 ["dw_bn"]),
                ("pw2_bn", "BatchNorm2d", {}, ["pw2"]), ("pw2_relu", "ReLU", {}, ["pw2_bn"]),
                ("cat", "Concat", {}, [first, "pw2_relu"]),
                ("shuffle", "ChannelShuffle", {"groups": 2}, ["cat"])]
    return entries


def _dense_block(p: dict[str, Any], c: int) -> list[Entry]:
    """DenseNet-BC: each layer is BN-ReLU-1×1 (4k)-BN-ReLU-3×3 (k) on the
    concatenation of everything before it."""
    k = p["growth_rate"]
    entries: list[Entry] = []
    features = ["$in"]
    for i in range(1, p["layers"] + 1):
        tip = features[0]
        if len(features) > 1:
            entries.append((f"cat{i}", "Concat", {}, list(features)))
            tip = f"cat{i}"
        entries += [(f"l{i}_bn1", "BatchNorm2d", {}, [tip]),
                    (f"l{i}_relu1", "ReLU", {}, [f"l{i}_bn1"]),
                    (f"l{i}_conv1", "Conv2d", {"out_channels": 4 * k, "kernel_size": 1,
                                               "bias": False}, [f"l{i}_relu1"]),
                    (f"l{i}_bn2", "BatchNorm2d", {}, [f"l{i}_conv1"]),
                    (f"l{i}_relu2", "ReLU", {}, [f"l{i}_bn2"]),
                    (f"l{i}_conv2", "Conv2d", {"out_channels": k, "kernel_size": 3,
                                               "padding": 1, "bias": False}, [f"l{i}_relu2"])]
        features.append(f"l{i}_conv2")
    entries.append(("out", "Concat", {}, features))
    return entries


def _inception(p: dict[str, Any], c: int) -> list[Entry]:
    """GoogLeNet's module: 1×1, 1×1→3×3, 1×1→5×5 and 3×3 max pool→1×1 side by
    side, joined along the channels (out_channels shared between them)."""
    o = p["out_channels"]
    quarter = max(1, o // 4)
    b3, b5 = max(1, o // 2 - quarter // 2), max(1, quarter // 2)
    pool = max(1, o - quarter - b3 - b5)

    def conv(name: str, out: int, k: int, inp: str) -> list[Entry]:
        return [(name, "Conv2d", {"out_channels": out, "kernel_size": k, "padding": k // 2},
                 [inp]), (f"{name}_relu", "ReLU", {}, [name])]
    return (conv("b1", quarter, 1, "$in")
            + conv("b3_reduce", max(1, b3 // 2), 1, "$in") + conv("b3", b3, 3, "b3_reduce_relu")
            + conv("b5_reduce", max(1, b5 // 2), 1, "$in") + conv("b5", b5, 5, "b5_reduce_relu")
            + [("pool", "MaxPool2d", {"kernel_size": 3, "stride": 1, "padding": 1}, ["$in"])]
            + conv("pool_proj", pool, 1, "pool")
            + [("cat", "Concat", {}, ["b1_relu", "b3_relu", "b5_relu", "pool_proj_relu"])])


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
    Template("Squeeze-excitation", "se", "global pool, squeeze, expand, gate, and multiply "
             "the map by the gate (SENet, MobileNetV3, EfficientNet)", (REDUCTION, GATE),
             _squeeze_excitation),
    Template("Inverted residual", "ir", "1×1 expand, k×k depthwise, optional "
             "squeeze-excitation, 1×1 project, Add skip when the shape allows (MobileNetV2/V3)",
             (OUT, EXPAND, K, STRIDE, SE, ACT), _inverted_residual),
    Template("ShuffleNetV2 unit", "shuf", "stride 1: split the channels in half, convolve "
             "one half, join and shuffle; stride 2: two convolved branches",
             (OUT, STRIDE12), _shufflenet_unit),
    Template("Dense block", "dense", "DenseNet-BC layers, each fed with everything before "
             "it (Concat)", (LAYERS, GROWTH), _dense_block),
    Template("Inception module", "inc", "1×1, 3×3, 5×5 and pooling branches side by side, "
             "joined along the channels (GoogLeNet)", (OUT,), _inception),
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

    def ref(local: str) -> str:  # "split:1" -> "<prefix>_split:1"
        name, sep, port = local.partition(":")
        return ids[name] + sep + port
    return [Layer(ids[local], type_name, dict(prm), [ref(i) for i in inputs])
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
