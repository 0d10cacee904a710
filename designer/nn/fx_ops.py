"""What the importer knows about fx nodes: the reference kinds a node can have
and the functions and methods that map to catalogue layers."""
from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

class _Missing:
    """No value: the node was not run (an input of it failed)."""


MISSING = _Missing()


@dataclass
class Meta:
    """A plain Python value (a size, a dim) computed while tracing."""
    value: Any


@dataclass
class Group:
    """A tuple of one layer's output ports (Split sections, pool + indices)."""
    ports: list[str]


@dataclass
class Shuffle:
    """view(B, g, C/g, H, W) [-> transpose(1, 2)] seen; waiting for the view back."""
    source: str
    groups: int
    transposed: bool


class Unknown:
    """The reference of a node that failed or depends on one that did."""


UNKNOWN = Unknown()
Ref = Any  # str | Meta | Group | Shuffle | Unknown

# function or method -> (catalogue type, argument names after the input)
ACTIVATIONS: dict[Any, tuple[str, list[str]]] = {}
for _fns, _type, _names in [
    ((F.relu, torch.relu, torch.relu_, "relu", "relu_"), "ReLU", []),
    ((F.relu6, "relu6"), "ReLU6", []),
    ((torch.sigmoid, F.sigmoid, "sigmoid", "sigmoid_"), "Sigmoid", []),
    ((torch.tanh, F.tanh, "tanh", "tanh_"), "Tanh", []),
    ((F.silu,), "SiLU", []),
    ((F.hardswish,), "Hardswish", []),
    ((F.hardsigmoid,), "Hardsigmoid", []),
    ((F.mish,), "Mish", []),
    ((F.gelu,), "GELU", []),
    ((F.elu,), "ELU", ["alpha"]),
    ((F.leaky_relu,), "LeakyReLU", ["negative_slope"]),
    ((F.softmax, torch.softmax, "softmax"), "Softmax", ["dim"]),
    ((F.dropout,), "Dropout", ["p"]),
    ((F.dropout2d,), "Dropout2d", ["p"]),
    ((F.max_pool2d,), "MaxPool2d", ["kernel_size", "stride", "padding", "dilation",
                                    "ceil_mode", "return_indices"]),
    ((F.avg_pool2d,), "AvgPool2d", ["kernel_size", "stride", "padding", "ceil_mode",
                                    "count_include_pad", "divisor_override"]),
    ((F.adaptive_avg_pool2d,), "AdaptiveAvgPool2d", ["output_size"]),
    ((F.adaptive_max_pool2d,), "AdaptiveMaxPool2d", ["output_size"]),
    ((F.interpolate,), "Upsample", ["size", "scale_factor", "mode", "align_corners"]),
    ((F.channel_shuffle, torch.channel_shuffle), "ChannelShuffle", ["groups"]),
    ((F.max_unpool2d,), "MaxUnpool2d", ["indices", "kernel_size", "stride", "padding"]),
]:
    for _fn in _fns:
        ACTIVATIONS[_fn] = (_type, _names)

ADD = {operator.add, operator.iadd, torch.add, "add", "add_"}
MUL = {operator.mul, operator.imul, torch.mul, "mul", "mul_"}
CAT = {torch.cat, torch.concat}
FLATTEN = {torch.flatten, "flatten"}
RESHAPE = {"view", "reshape", torch.reshape}
SPLIT = {torch.split, "split", torch.chunk, "chunk"}
TRANSPOSE = {torch.transpose, "transpose"}
MEAN = {torch.mean, "mean"}
PASS = {"contiguous"}
SHAPE_OPS = {"size", "dim", "numel", getattr, operator.getitem}
