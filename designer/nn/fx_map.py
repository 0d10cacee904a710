"""fx nodes -> catalogue layers.

Every node gets a reference: a layer output ("conv1", "split:1"), a Python
value computed from shapes (`x.size(0)`), a group of ports (the tuple a
Split returns) or a half-seen channel shuffle. Ops that have no catalogue
layer go to the report with their source line.
"""
from __future__ import annotations

import operator
from typing import Any, Callable

import torch
from torch import fx

from designer.core.catalogue import is_known
from designer.core.model import INPUT_ID, MAX_ID_LENGTH
from designer.nn.fx_params import bind, given_params, module_params
from designer.nn.fx_ops import (ACTIVATIONS, ADD, CAT, FLATTEN, MEAN, MISSING, MUL, PASS,
                                 RESHAPE, SHAPE_OPS, SPLIT, TRANSPOSE, UNKNOWN, Group, Meta,
                                 Shuffle, Unknown)
from designer.nn.fx_report import ImportReport, Place


def legal_id(text: str) -> str:
    text = text.replace(":", "_").strip() or "layer"
    return text + "_" if text == INPUT_ID else text[:MAX_ID_LENGTH - 8]


class Mapper:
    def __init__(self, gm: fx.GraphModule, report: ImportReport) -> None:
        self.gm = gm
        self.report = report
        self.layers: list[dict[str, Any]] = []
        self.module_of: dict[str, str] = {}      # layer id -> module path (weights)
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.places: dict[str, Place] = {}
        self.ref: dict[fx.Node, Ref] = {}
        self.output: str | None = None
        self._ids: set[str] = {INPUT_ID}
        self._called: dict[str, int] = {}
        self._inputs = 0

    # --- helpers -------------------------------------------------------------

    def place(self, node: fx.Node) -> Place:
        stack = node.meta.get("nn_module_stack") or {}
        module = str(node.target) if node.op == "call_module" else (
            next(reversed(stack.values()))[0] if stack else "")
        source = node.meta.get("source")
        if source is None:
            return Place(module, node=node.name)
        return Place(module, source[0], source[1], source[2], node.name)

    def base_id(self, node: fx.Node, suffix: str = "") -> str:
        if node.op == "call_module":
            return str(node.target) + suffix
        stack = node.meta.get("nn_module_stack") or {}
        owner = next(reversed(stack.values()))[0] if stack else ""
        name = suffix.lstrip("_") if suffix and not suffix.startswith("_") else node.name + suffix
        return f"{owner}.{name}" if owner else name

    def unique(self, base: str) -> str:
        base = legal_id(base)
        lid, n = base, 2
        while lid in self._ids:
            lid = f"{base}_{n}"
            n += 1
        self._ids.add(lid)
        return lid

    def fail(self, node: fx.Node, what: str, why: str, todo: str) -> None:
        self.report.add(what, why, todo, self.place(node))
        self.ref[node] = UNKNOWN

    def resolve(self, a: Any) -> Any:
        return fx.node.map_aggregate(a, lambda x: self.ref.get(x, UNKNOWN) if isinstance(x, fx.Node) else x)

    def tensor_refs(self, values: list[Any]) -> list[str] | None:
        """Layer references of tensor arguments, Groups expanded; None if unknown."""
        out: list[str] = []
        for v in values:
            if isinstance(v, (list, tuple)):
                inner = self.tensor_refs(list(v))
                if inner is None:
                    return None
                out += inner
            elif isinstance(v, Group):
                out += v.ports
            elif isinstance(v, str):
                out.append(v)
            elif v is UNKNOWN:
                return None
        return out

    def emit(self, node: fx.Node, type_name: str, params: dict[str, Any], inputs: list[str],
             value: Any, base: str | None = None, module: str | None = None) -> str | None:
        if not is_known(type_name):
            self.fail(node, self.describe(node), f"this version has no {type_name} layer",
                      "replace it with supported layers, or update CNN Designer")
            return None
        inputs = [self._distinct(node, s, inputs[:n]) for n, s in enumerate(inputs)]
        lid = self.unique(base or self.base_id(node))
        entry: dict[str, Any] = {"id": lid, "type": type_name}
        if params:
            entry["params"] = params
        entry["inputs"] = inputs
        self.layers.append(entry)
        self.places[lid] = self.place(node)
        if module is not None:
            self.module_of[lid] = module
        if isinstance(value, torch.Tensor):
            self.shapes[lid] = tuple(value.shape[1:])
        return lid

    def _distinct(self, node: fx.Node, src: str, before: list[str]) -> str:
        """`x + x` or cat([x, x]): a design's inputs are distinct, so the repeat
        goes through an Identity."""
        if src not in before:
            return src
        lid = self.unique(self.base_id(node, "_repeat"))
        self.layers.append({"id": lid, "type": "Identity", "inputs": [src]})
        return lid

    def describe(self, node: fx.Node) -> str:
        if node.op == "call_module":
            cls = type(self.gm.get_submodule(str(node.target)))
            return f"nn.{cls.__name__}" if cls.__module__.startswith("torch.nn") \
                else cls.__name__
        if node.op == "call_method":
            return f"Tensor.{node.target}()"
        mod = getattr(node.target, "__module__", "") or ""
        name = getattr(node.target, "__name__", str(node.target))
        if mod == "_operator":
            return f"operator '{name}'"
        mod = mod.replace("torch.nn.functional", "F").replace("torch._C._nn", "F")
        return f"{mod}.{name}" if mod else name

    # --- dispatch ------------------------------------------------------------

    def map(self, node: fx.Node, value: Any, error: BaseException | None) -> None:
        op = node.op
        if op == "placeholder":
            self._inputs += 1
            if self._inputs > 1:
                self.fail(node, f"forward argument '{node.name}'",
                          "a design has one input; forward takes several",
                          "import a module whose forward takes one tensor")
            else:
                self.ref[node] = INPUT_ID
            return
        if op == "output":
            self._output(node)
            return
        args, kwargs = self.resolve(node.args), self.resolve(node.kwargs)
        if op == "get_attr":
            self.fail(node, f"attribute '{node.target}'",
                      "forward uses a tensor attribute (a bare parameter or buffer) directly",
                      "wrap the computation in a module the designer knows")
            return
        handler = self._handler(node.target) if op != "call_module" else self._module
        if error is not None and handler is not None and handler not in (
                self._reshape, self._function_layer, self._split):
            what = self.describe(node) + (f" module '{node.target}'" if op == "call_module"
                                          else "")
            self.report.add(what, _why(error), "check the shapes that flow into it",
                            self.place(node))
        if op == "call_module":
            self._module(node, args, kwargs, value, error)
            return
        flat = _flat((args, kwargs))
        if any(a is UNKNOWN for a in flat) and value is MISSING:
            self.ref[node] = UNKNOWN  # the op upstream that failed is reported already
            return
        if handler is None:
            if error is None and value is not MISSING and (
                    not isinstance(value, (torch.Tensor, tuple, list))
                    or isinstance(value, torch.Size)):
                self.ref[node] = Meta(value)  # shape arithmetic: x.size(0) // 2, ...
                return
            self.fail(node, self.describe(node), _why(error) or
                      "this operation has no layer in the catalogue",
                      "express it with supported layers (see the user guide's list)")
            return
        handler(node, args, kwargs, value, error)

    def rejects(self, node: fx.Node) -> bool:
        """True for a node that will be reported as unsupported whatever its
        value: it is not run (an unsupported op may be slow, or fail, on the
        sample)."""
        if node.op == "call_module":
            module = self.gm.get_submodule(str(node.target))
            return not type(module).__module__.startswith("torch.nn") \
                or not is_known(type(module).__name__)
        if node.op not in ("call_function", "call_method") or node.target in SHAPE_OPS \
                or self._handler(node.target) is not None:
            return False
        refs = _flat(self.resolve((node.args, node.kwargs)))
        return any(isinstance(a, (str, Group, Shuffle)) for a in refs)

    def _handler(self, target: Any) -> Callable[..., None] | None:
        try:
            if target in ACTIVATIONS:
                return self._function_layer
            for group, fn in ((ADD, self._add), (MUL, self._mul), (CAT, self._cat),
                              (FLATTEN, self._flatten), (RESHAPE, self._reshape),
                              (SPLIT, self._split), (TRANSPOSE, self._transpose),
                              (MEAN, self._mean), (PASS, self._pass)):
                if target in group:
                    return fn
        except TypeError:  # unhashable target
            return None
        if target is operator.getitem:
            return self._getitem
        return None

    # --- modules -------------------------------------------------------------

    def _module(self, node: fx.Node, args: Any, kwargs: Any, value: Any,
                error: BaseException | None = None) -> None:
        path = str(node.target)
        module = self.gm.get_submodule(path)
        type_name = type(module).__name__
        if not type(module).__module__.startswith("torch.nn") or not is_known(type_name) \
                or type_name in ("Add", "Concat"):
            self.fail(node, f"{self.describe(node)} module '{path}'",
                      f"the designer has no {type_name} layer"
                      + (" (recurrent layers work on sequences, not feature maps)"
                         if type_name in ("LSTM", "GRU", "RNN") else ""),
                      "replace it with supported layers or remove it, then import again")
            return
        inputs = self.tensor_refs(list(args) + list(kwargs.values()))
        self._called[path] = self._called.get(path, 0) + 1
        if self._called[path] > 1 and any(True for _ in module.parameters()):
            self.fail(node, f"{self.describe(node)} module '{path}'",
                      "the module is called more than once, sharing its weights; a design "
                      "gives every layer its own weights",
                      "use a separate module for each call")
            return
        known = isinstance(value, (torch.Tensor, tuple))
        params = module_params(module, type_name, with_inferred=not known)
        lid = self.emit(node, type_name, params, inputs or [], value, module=path) \
            if inputs is not None else None
        self.ref[node] = self._ports(lid, value, type_name, params)

    def _ports(self, lid: str | None, value: Any, type_name: str,
               params: dict[str, Any]) -> Ref:
        if lid is None:
            return UNKNOWN
        if isinstance(value, tuple):
            if type_name == "MaxPool2d":
                return Group([lid, f"{lid}:indices"])
            return Group([f"{lid}:{n}" for n in range(len(value))])
        return lid

    # --- functions and methods ---------------------------------------------

    def _function_layer(self, node: fx.Node, args: Any, kwargs: Any, value: Any,
                        error: BaseException | None) -> None:
        type_name, names = ACTIVATIONS[node.target]
        if error is not None:
            self.fail(node, self.describe(node), _why(error), "check the arguments")
            return
        values = bind(tuple(args[1:]), dict(kwargs), names)
        if type_name in ("Dropout", "Dropout2d"):
            values.setdefault("p", 0.5)
        if type_name == "Upsample" and isinstance(value, torch.Tensor) \
                and values.get("scale_factor") is not None:
            values.pop("size", None)
        params = given_params(type_name, values) if is_known(type_name) else {}
        srcs = [args[0]] + ([values["indices"]] if type_name == "MaxUnpool2d" else [])
        inputs = self.tensor_refs(srcs)
        if inputs is None:
            self.ref[node] = UNKNOWN
            return
        lid = self.emit(node, type_name, params, inputs, value)
        self.ref[node] = self._ports(lid, value, type_name, params)

    def _merge(self, node: fx.Node, args: Any, value: Any, type_name: str, op: str) -> None:
        if len(args) < 2 or not all(isinstance(a, (str, Unknown)) for a in args[:2]):
            self.fail(node, self.describe(node),
                      f"{op} with a constant or a non-tensor has no layer",
                      f"only {op} of two feature maps (a {type_name} layer) is supported")
            return
        inputs = self.tensor_refs(list(args[:2]))
        self.ref[node] = UNKNOWN if inputs is None else self.emit(node, type_name, {}, inputs, value)

    def _add(self, node: fx.Node, args: Any, kwargs: Any, value: Any,
             error: BaseException | None) -> None:
        if kwargs.get("alpha", 1) != 1:
            self.fail(node, self.describe(node), "add with alpha has no layer", "")
            return
        self._merge(node, args, value, "Add", "addition")

    def _mul(self, node: fx.Node, args: Any, kwargs: Any, value: Any,
             error: BaseException | None) -> None:
        self._merge(node, args, value, "Mul", "multiplication")

    def _cat(self, node: fx.Node, args: Any, kwargs: Any, value: Any,
             error: BaseException | None) -> None:
        values = bind(tuple(args), dict(kwargs), ["tensors", "dim"], {"dim": 0})
        dim, rank = values["dim"], _rank(node.args[0])
        if rank is not None and dim < 0:
            dim += rank
        if dim != 1:
            self.fail(node, self.describe(node), f"concatenation along dim {values['dim']}; "
                      f"the Concat layer joins channels (dim 1)", "concatenate along dim 1")
            return
        inputs = self.tensor_refs(list(values["tensors"]))
        if inputs is not None and len(inputs) == 1:
            self.ref[node] = inputs[0]  # torch.cat([x]) is x
            return
        self.ref[node] = UNKNOWN if inputs is None else self.emit(node, "Concat", {}, inputs, value)

    def _flatten(self, node: fx.Node, args: Any, kwargs: Any, value: Any,
                 error: BaseException | None) -> None:
        if isinstance(args[0], Shuffle):
            self._shuffle_end(node, args[0], value)
            return
        values = bind(tuple(args[1:]), dict(kwargs), ["start_dim", "end_dim"],
                      {"start_dim": 0, "end_dim": -1})
        rank = _rank(node.args[0])
        start = values["start_dim"] + (rank if values["start_dim"] < 0 and rank else 0)
        if start < 1:
            self.fail(node, self.describe(node), "flattens the batch dimension too",
                      "use torch.flatten(x, 1) or x.view(x.size(0), -1)")
            return
        self._layer_from(node, args[0], "Flatten",
                         given_params("Flatten", {"start_dim": start,
                                                  "end_dim": values["end_dim"]}), value)

    def _layer_from(self, node: fx.Node, src: Ref, type_name: str, params: dict[str, Any],
                    value: Any, base: str | None = None) -> None:
        inputs = self.tensor_refs([src])
        self.ref[node] = UNKNOWN if inputs is None else self.emit(node, type_name, params, inputs,
                                                               value, base)

    def _reshape(self, node: fx.Node, args: Any, kwargs: Any, value: Any,
                 error: BaseException | None) -> None:
        src = args[0]
        shape_args = args[1:] if node.target != torch.reshape else args[1]
        target = [a.value if isinstance(a, Meta) else a for a in _flat(shape_args)]
        before = _value_shape(node.args[0])
        if isinstance(src, Shuffle):
            self._shuffle_end(node, src, value)
            return
        if before is None:
            self.ref[node] = UNKNOWN
            return
        if error is not None or not isinstance(value, torch.Tensor):
            self._bad_view(node, src, before, target, error)
            return
        after = tuple(value.shape)
        if after == before:
            self.ref[node] = src
        elif after[0] != before[0]:
            self._bad_view(node, src, before, target, None)
        elif len(after) == 2:
            self._layer_from(node, src, "Flatten", {}, value)
        elif len(before) == 4 and len(after) == 5 and after[3:] == before[2:] \
                and after[1] * after[2] == before[1]:
            self.ref[node] = Shuffle(src, after[1], False)
        else:
            self.fail(node, self.describe(node) + f" to {list(after)}",
                      f"reshaping {list(before[1:])} to {list(after[1:])} per sample has no "
                      f"layer", "reshape only to flatten (x.view(x.size(0), -1))")

    def _bad_view(self, node: fx.Node, src: Ref, before: tuple[int, ...], target: list[Any],
                  error: BaseException | None) -> None:
        per = 1
        for d in before[1:]:
            per *= d
        dims = "x".join(str(d) for d in before[1:])
        asked = ", ".join(str(t) for t in target)
        self.report.add(
            f"{node.target if node.op == 'call_method' else 'reshape'}({asked})",
            f"the input is {dims} = {per:,} values per image (a batch of {before[0]}: shape "
            f"{list(before)}), which does not match ({asked}): "
            + ("the view fails" if error is not None else "the batch size would change"),
            f"flatten with x.view(x.size(0), -1) or torch.flatten(x, 1), and give the next "
            f"layer {per:,} inputs (e.g. nn.Linear({per}, ...))", self.place(node))
        if len(target) == 2:  # meant as a flatten: keep going so the design shows the rest
            self._layer_from(node, src, "Flatten", {}, None)
        else:
            self.ref[node] = UNKNOWN

    def _transpose(self, node: fx.Node, args: Any, kwargs: Any, value: Any,
                   error: BaseException | None) -> None:
        src = args[0]
        dims = sorted(d for d in args[1:3])
        if isinstance(src, Shuffle) and not src.transposed and dims == [1, 2]:
            self.ref[node] = Shuffle(src.source, src.groups, True)
            return
        self.fail(node, self.describe(node), "transposing dimensions has no layer (only the "
                  "view -> transpose(1, 2) -> view of a channel shuffle is understood)",
                  "use nn.ChannelShuffle for a channel shuffle")

    def _shuffle_end(self, node: fx.Node, shuffle: Shuffle, value: Any) -> None:
        if not shuffle.transposed or not isinstance(value, torch.Tensor) or value.dim() != 4:
            self.fail(node, self.describe(node), "a 5-D reshape that is not a channel shuffle",
                      "use nn.ChannelShuffle")
            return
        self._layer_from(node, shuffle.source, "ChannelShuffle", {"groups": shuffle.groups},
                         value, self.base_id(node, "channel_shuffle"))

    def _pass(self, node: fx.Node, args: Any, kwargs: Any, value: Any,
              error: BaseException | None) -> None:
        self.ref[node] = args[0]

    def _split(self, node: fx.Node, args: Any, kwargs: Any, value: Any,
               error: BaseException | None) -> None:
        second = "chunks" if node.target in (torch.chunk, "chunk") else "split_size_or_sections"
        values = bind(tuple(args[1:]), dict(kwargs), [second, "dim"], {"dim": 0})
        dim, rank = values["dim"], _rank(node.args[0])
        if rank is not None and dim < 0:
            dim += rank
        if not isinstance(value, tuple) or dim != 1:
            self.fail(node, self.describe(node), _why(error) or
                      f"splitting along dim {values['dim']}; Split divides channels (dim 1)",
                      "split along dim 1")
            return
        sizes = [int(t.shape[1]) for t in value]
        params = {"split_size_or_sections": sizes}  # a list names every output port
        inputs = self.tensor_refs([args[0]])
        lid = None if inputs is None else self.emit(node, "Split", params, inputs, None)
        self.ref[node] = UNKNOWN if lid is None else Group([f"{lid}:{n}" for n in range(len(sizes))])

    def _getitem(self, node: fx.Node, args: Any, kwargs: Any, value: Any,
                 error: BaseException | None) -> None:
        src, index = args[0], args[1]
        if isinstance(src, Group) and isinstance(index, int):
            self.ref[node] = src.ports[index]
        elif isinstance(src, Meta) and error is None:
            self.ref[node] = Meta(value)
        elif src is UNKNOWN:
            self.ref[node] = UNKNOWN
        else:
            self.fail(node, "indexing a tensor (x[...])", "slicing feature maps has no layer",
                      "use torch.split / chunk along channels, or remove the slice")

    def _mean(self, node: fx.Node, args: Any, kwargs: Any, value: Any,
              error: BaseException | None) -> None:
        values = bind(tuple(args[1:]), dict(kwargs), ["dim", "keepdim"], {"keepdim": False})
        dims = values.get("dim")
        rank = _rank(node.args[0])
        dims = [dims] if isinstance(dims, int) else list(dims or [])
        dims = sorted(d + rank if d < 0 and rank else d for d in dims)
        if rank != 4 or dims != [2, 3]:
            self.fail(node, self.describe(node), "a mean that is not a global average pool "
                      "(over H and W of a 4-D map) has no layer",
                      "use x.mean((2, 3)) or nn.AdaptiveAvgPool2d(1)")
            return
        inputs = self.tensor_refs([args[0]])
        if inputs is None:
            self.ref[node] = UNKNOWN
            return
        lid = self.emit(node, "AdaptiveAvgPool2d", {"output_size": 1}, inputs,
                        value if values["keepdim"] else None)
        if lid is not None and isinstance(value, torch.Tensor):
            self.shapes[lid] = (int(value.shape[1]), 1, 1)
        if lid is not None and not values["keepdim"]:
            lid = self.emit(node, "Flatten", {}, [lid], value, self.base_id(node, "_flatten"))
        self.ref[node] = lid

    def _output(self, node: fx.Node) -> None:
        out = self.resolve(node.args[0])
        if isinstance(out, str):
            self.output = out
        elif out is not UNKNOWN:
            self.report.add("the module's output", "forward returns several values; a design "
                            "has one output", "return one tensor", self.place(node))


def _flat(a: Any) -> list[Any]:
    out: list[Any] = []
    fx.node.map_aggregate(a, lambda x: out.append(x) if not isinstance(x, (list, tuple, dict))
                          else None)
    return out


def _value_shape(n: Any) -> tuple[int, ...] | None:
    v = n.meta.get("value") if isinstance(n, fx.Node) else None
    return tuple(v.shape) if isinstance(v, torch.Tensor) else None


def _rank(n: Any) -> int | None:
    s = _value_shape(n)
    return None if s is None else len(s)


def _why(error: BaseException | None) -> str:
    if error is None:
        return ""
    text = str(error).strip().splitlines()
    return f"fails on the sample input: {type(error).__name__}: {text[0] if text else ''}"


__all__ = ["Mapper"]
