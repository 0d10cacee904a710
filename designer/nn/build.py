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
        self._plan: list[tuple[str, list[str]]] = []
        for lid in analysis.order:
            layer = design.layer(lid)
            info = analysis.layers[lid]
            module = build_layer(layer.type, layer.params, info.inferred)
            if layer.frozen:
                module.requires_grad_(False)
            self.add_module(names[lid], module)
            self._plan.append((names[lid], [INPUT_ID if s == INPUT_ID else names[s]
                                            for s in layer.inputs]))
        self._output = names[analysis.output_id]  # type: ignore[index]
        # after step i, the outputs no later step reads: dropped, so that a long
        # design keeps only what autograd itself saves (not every output)
        last: dict[str, int] = {}
        for step, (_, inputs) in enumerate(self._plan):
            for src in inputs:
                last[src] = step
        self._release: list[list[str]] = [[] for _ in self._plan]
        for src, step in last.items():
            if src != self._output:
                self._release[step].append(src)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[str, torch.Tensor] = {INPUT_ID: x}
        for (name, inputs), done in zip(self._plan, self._release):
            values[name] = getattr(self, name)(*[values[s] for s in inputs])
            for src in done:
                del values[src]
        return values[self._output]

    def forward_all(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every layer's output, keyed by module name (feature-map views)."""
        values: dict[str, torch.Tensor] = {INPUT_ID: x}
        for name, inputs in self._plan:
            values[name] = getattr(self, name)(*[values[s] for s in inputs])
        return values


def build(design: Design, analysis: Analysis | None = None) -> DesignModule:
    return DesignModule(design, analysis)
