"""Run one fx node on the sample input, on the meta device (shapes only) or
for real. Common ops get their shapes here: torch's meta versions of add,
cat, relu, linear and adaptive pooling are Python decompositions whose first
use imports torch._dynamo (seconds), and meta batch norm is slow."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from designer.nn.fx_ops import ACTIVATIONS, ADD, CAT, MEAN, MISSING, MUL

SAME_SHAPE = {nn.BatchNorm1d, nn.BatchNorm2d, nn.ReLU, nn.ReLU6, nn.SiLU, nn.Sigmoid,
              nn.Hardswish, nn.Hardsigmoid, nn.Tanh, nn.GELU, nn.Mish, nn.Dropout,
              nn.Dropout2d, nn.Identity, nn.LeakyReLU, nn.ELU}
SAME_SHAPE_TYPES = {t.__name__ for t in SAME_SHAPE} - {"BatchNorm1d", "BatchNorm2d"}


def _meta_shortcut(target: Any, args: Any, kwargs: Any) -> torch.Tensor | None:
    """Shapes of common ops computed here: torch's meta versions of add, cat,
    relu and linear are Python decompositions whose first use imports
    torch._dynamo (seconds)."""
    try:
        kind = ACTIVATIONS.get(target)
        is_merge = target in ADD or target in MUL
    except TypeError:
        return None
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    if kind is not None and kind[0] in SAME_SHAPE_TYPES and tensors and args[0] is tensors[0]:
        return _like(args[0])
    if target in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d) and len(args) == 2 \
            and not kwargs and tensors and args[0] is tensors[0]:
        return _adaptive_shape(args[0], args[1])
    if is_merge and len(args) == 2 and len(tensors) == 2 and not kwargs:
        return torch.empty(_broadcast(tuple(args[0].shape), tuple(args[1].shape)),
                           device="meta")
    if target in MEAN and tensors and args[0] is tensors[0] and len(args) <= 3:
        return _mean_shape(args[0], *args[1:], **kwargs)
    if target in CAT and len(args) >= 1 and isinstance(args[0], (list, tuple)) \
            and all(isinstance(t, torch.Tensor) for t in args[0]) and args[0]:
        dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
        first = args[0][0]
        if not isinstance(dim, int) or not -first.dim() <= dim < first.dim():
            return None
        dim %= first.dim()
        shapes = [tuple(t.shape) for t in args[0]]
        if any(len(s) != len(shapes[0]) or s[:dim] + s[dim + 1:] != shapes[0][:dim]
               + shapes[0][dim + 1:] for s in shapes):
            raise RuntimeError(f"Sizes of tensors must match except in dimension {dim}: "
                               f"got {', '.join(str(list(s)) for s in shapes)}")
        out = list(shapes[0])
        out[dim] = sum(s[dim] for s in shapes)
        return torch.empty(out, device="meta")
    return None


def _adaptive_shape(x: torch.Tensor, size: Any) -> torch.Tensor | None:
    if x.dim() not in (3, 4):
        raise RuntimeError(f"adaptive pooling expects a 3-D or 4-D input, got {list(x.shape)}")
    size = (size, size) if isinstance(size, int) else tuple(size)
    if len(size) != 2:
        raise RuntimeError(f"output_size must have 2 elements, got {size}")
    hw = [x.shape[-2 + i] if s is None else s for i, s in enumerate(size)]
    return torch.empty(*x.shape[:-2], *hw, device="meta")


def _mean_shape(x: torch.Tensor, dim: Any = None, keepdim: bool = False,
                **other: Any) -> torch.Tensor | None:
    if other or dim is None:
        return None
    dims = [dim] if isinstance(dim, int) else list(dim)
    if not all(isinstance(d, int) and -x.dim() <= d < x.dim() for d in dims):
        return None
    dims = {d % x.dim() for d in dims}
    shape = [1 if i in dims else n for i, n in enumerate(x.shape) if keepdim or i not in dims]
    return torch.empty(shape, device="meta")


def _linear_shape(module: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    if x.dim() < 1 or x.shape[-1] != module.in_features:
        rows = x.numel() // max(1, x.shape[-1]) if x.dim() else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x"
                           f"{x.shape[-1] if x.dim() else 1} and {module.in_features}x"
                           f"{module.out_features})")
    return torch.empty(*x.shape[:-1], module.out_features, device="meta")


def _conv_shape(module: nn.Conv2d, x: torch.Tensor) -> torch.Tensor | None:
    """Conv2d's output shape (meta convolution is slow); None leaves it to torch
    (which raises its own message for a wrong input)."""
    if x.dim() != 4 or x.shape[1] != module.in_channels:
        return None
    out = []
    for i, size in enumerate(x.shape[2:]):
        k, s, d = module.kernel_size[i], module.stride[i], module.dilation[i]
        if isinstance(module.padding, str):
            if module.padding == "same":
                out.append(size)
                continue
            p = 0
        else:
            p = module.padding[i]
        n = (size + 2 * p - d * (k - 1) - 1) // s + 1
        if n < 1:
            return None
        out.append(n)
    return torch.empty(x.shape[0], module.out_channels, *out, device="meta")


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """torch's broadcasting rule (torch.broadcast_shapes is slow on first use)."""
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                               f"({y}): shapes {list(a)} and {list(b)} do not broadcast")
        out.append(y if x == 1 else x)
    return tuple(out)


def _like(x: torch.Tensor) -> torch.Tensor:
    """A meta tensor of x's shape (torch.empty_like on meta is a slow Python ref)."""
    return torch.empty(tuple(x.shape), dtype=x.dtype, device="meta")


def _fits(module: nn.Module, args: Any) -> bool:
    if len(args) != 1 or not isinstance(args[0], torch.Tensor):
        return False
    if isinstance(module, nn.BatchNorm1d):
        return args[0].dim() in (2, 3) and args[0].shape[1] == module.num_features
    if isinstance(module, nn.BatchNorm2d):
        return args[0].dim() == 4 and args[0].shape[1] == module.num_features
    return True


def run_node(node: fx.Node, gm: fx.GraphModule, sample: torch.Tensor,
             meta: dict[str, dict[str, torch.Tensor]] | None) -> tuple[Any, BaseException | None]:
    """The node's value on the sample input, or the error it raised. With `meta`
    (a cache of meta-device copies of module weights) nothing is computed but
    shapes."""
    inputs = node.all_input_nodes
    if any(n.meta.get("value", MISSING) is MISSING for n in inputs):
        return MISSING, None
    load = lambda a: fx.node.map_arg(a, lambda n: n.meta["value"])  # noqa: E731
    args, kwargs = load(node.args), load(node.kwargs)
    try:
        if node.op == "placeholder":
            return sample, None
        if node.op == "call_module":
            module = gm.get_submodule(str(node.target))
            if meta is None:
                return module(*args, **kwargs), None
            if type(module) in SAME_SHAPE and _fits(module, args):
                return _like(args[0]), None  # meta batch norm is slow
            if type(module) is nn.Conv2d and len(args) == 1 and not kwargs:
                shape = _conv_shape(module, args[0])
                if shape is not None:
                    return shape, None
            if type(module) is nn.Linear and len(args) == 1:
                return _linear_shape(module, args[0]), None
            if type(module) in (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d) and len(args) == 1 \
                    and not getattr(module, "return_indices", False):
                return _adaptive_shape(args[0], module.output_size), None
            weights = meta.get(str(node.target))
            if weights is None:
                weights = {k: _like(v) for k, v in
                           [*module.named_parameters(), *module.named_buffers()]}
                meta[str(node.target)] = weights
            return torch.func.functional_call(module, weights, tuple(args), dict(kwargs)), None
        if node.op in ("call_function", "call_method") and meta is not None:
            shortcut = _meta_shortcut(node.target, args, kwargs)
            if shortcut is not None:
                return shortcut, None
        if node.op == "call_function":
            return node.target(*args, **kwargs), None  # type: ignore[operator]
        if node.op == "call_method":
            return getattr(args[0], str(node.target))(*args[1:], **kwargs), None
        if node.op == "get_attr":
            obj: Any = gm
            for part in str(node.target).split("."):
                obj = getattr(obj, part)
            if meta is not None and isinstance(obj, torch.Tensor):
                obj = _like(obj)
            return obj, None
    except Exception as e:  # noqa: BLE001 - reported with the node's source line
        return MISSING, e
    return MISSING, None
