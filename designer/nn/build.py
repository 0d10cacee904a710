"""Design -> torch.nn.Module. The only package besides gui that imports torch."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from designer.core.analysis import Analysis, analyse
from designer.core.catalogue import get_type
from designer.core.model import INPUT_ID, Design
from designer.core.naming import layer_names
from designer.core.params import OPT_PAIR, PADDING, PAIR, ADAPTIVE, SHAPE


class BuildError(ValueError):
    """A design that cannot be built (it has errors)."""


class Add(nn.Module):
    """Elementwise sum of the inputs."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Concat(nn.Module):
    """Concatenation along the channel dimension."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


class Mul(nn.Module):
    """Elementwise product of the inputs (with broadcasting)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Split(nn.Module):
    """torch.split along a dimension: one output per section."""

    def __init__(self, split_size_or_sections: int | list[int], dim: int = 1) -> None:
        super().__init__()
        self.split_size_or_sections = split_size_or_sections
        self.dim = dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(torch.split(x, self.split_size_or_sections, dim=self.dim))

    def extra_repr(self) -> str:
        return f"{self.split_size_or_sections}, dim={self.dim}"


def constructor_kwargs(type_name: str, params: dict[str, Any],
                       inferred: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for the torch class: given params plus inferred sizes."""
    t = get_type(type_name)
    kwargs: dict[str, Any] = {}
    for name, value in {**params, **inferred}.items():
        spec = t.spec(name)
        if spec is not None and spec.kind in (PAIR, PADDING, OPT_PAIR, ADAPTIVE, SHAPE) \
                and isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return kwargs


def build_layer(type_name: str, params: dict[str, Any], inferred: dict[str, Any]) -> nn.Module:
    if type_name == "Add":
        return Add()
    if type_name == "Concat":
        return Concat()
    if type_name == "Mul":
        return Mul()
    if type_name == "Split":
        return Split(**constructor_kwargs(type_name, params, inferred))
    cls = getattr(nn, type_name)
    return cls(**constructor_kwargs(type_name, params, inferred))


class DesignModule(nn.Module):
    """Runs the layers of a design in topological order."""

    def __init__(self, design: Design, analysis: Analysis | None = None) -> None:
        super().__init__()
        analysis = analysis or analyse(design)
        if not analysis.ok:
            where, issue = analysis.all_errors[0]
            raise BuildError(f"the design has {analysis.error_count} error(s); first: "
                             + (f"{where}: " if where else "") + issue.message)
        names = layer_names(design)
        self.input_shape = analysis.input_shape
        self.output_shape = analysis.output_shape
        self.names = names
        # (module name, inputs as (name, port), forward keyword arguments, port names)
        self._plan: list[tuple[str, list[tuple[str, int]], dict[str, Any], list[str]]] = []
        for lid in analysis.order:
            layer = design.layer(lid)
            info = analysis.layers[lid]
            module = build_layer(layer.type, layer.params, info.inferred)
            if layer.frozen:
                module.requires_grad_(False)
            self.add_module(names[lid], module)
            sources = [(INPUT_ID if s == INPUT_ID else names[s], port)
                       for s, port in info.sources]
            self._plan.append((names[lid], sources, dict(info.call_kwargs),
                               list(info.port_names)))
        self._output = names[analysis.output_id]  # type: ignore[index]
        # values no later layer reads are dropped at once: holding every layer's
        # output to the end of forward kept even those backward does not need
        last: dict[str, int] = {}
        for n, (_, sources, _, _) in enumerate(self._plan):
            for src, _ in sources:
                last[src] = n
        self._drop = [[src for src in dict.fromkeys(src for src, _ in sources)
                       if last[src] == n and src != self._output]
                      for n, (_, sources, _, _) in enumerate(self._plan)]

    def _run(self, x: torch.Tensor, drop: bool = False) -> dict[str, Any]:
        """Every layer's output (a tuple for layers with several ports); with
        drop, each value is let go after its last reader."""
        values: dict[str, Any] = {INPUT_ID: x}
        for n, (name, sources, kwargs, ports) in enumerate(self._plan):
            args = [values[s][port] if isinstance(values[s], tuple) else values[s]
                    for s, port in sources]
            out = getattr(self, name)(*args, **kwargs)
            values[name] = tuple(out) if len(ports) > 1 else out
            if drop:
                for src in self._drop[n]:
                    del values[src]
        return values

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self._run(x, drop=True)[self._output]
        return out[0] if isinstance(out, tuple) else out

    def forward_all(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every layer's output, keyed by module name (feature-map views); a
        layer with several outputs gives port 0 under its name and port k under
        "name:port-name"."""
        values = self._run(x)
        ports = {name: names for name, _, _, names in self._plan}
        out: dict[str, torch.Tensor] = {}
        for name, value in values.items():
            if isinstance(value, tuple):
                out[name] = value[0]
                for port, tensor in zip(ports[name][1:], value[1:]):
                    out[f"{name}:{port}"] = tensor
            else:
                out[name] = value
        return out


def build(design: Design, analysis: Analysis | None = None) -> DesignModule:
    return DesignModule(design, analysis)
