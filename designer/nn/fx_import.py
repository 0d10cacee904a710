"""Import a PyTorch nn.Module as a design: trace with torch.fx, run the graph
on a sample input to learn every shape, map each node to catalogue layers and
check the result against torch (shapes, parameter count).

The result is a schema-v2 design dict that goes through designer.io's loader,
so an import is validated exactly like a file. Anything that cannot be
represented goes to the import report with its module path and source line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from designer.core.analysis import Analysis, analyse
from designer.core.model import Design
from designer.core.naming import layer_names
from designer.core.serialise import FORMAT, SCHEMA_VERSION
from designer.io.design_file import DesignFileError, from_dict
from designer.nn.fx_layout import layout
from designer.nn.fx_map import Mapper
from designer.nn.fx_ops import MISSING
from designer.nn.fx_run import run_node
from designer.nn.fx_report import ImportReport, first_line, place_from_exception, user_frame
from designer.nn.fx_source import load_module

SAMPLE_BATCH = 1  # a view that mixes images changes the batch size, which shows


@dataclass
class ImportResult:
    report: ImportReport
    data: dict[str, Any] | None = None       # the design file's JSON object
    design: Design | None = None
    analysis: Analysis | None = None
    module_of: dict[str, str] = field(default_factory=dict)  # layer id -> module path
    complete: bool = False   # every op up to the output became a layer

    @property
    def ok(self) -> bool:
        return self.report.ok and self.design is not None


def import_source(source: str, input_shape: tuple[int, ...] = (3, 224, 224)
                  ) -> tuple[nn.Module, ImportResult]:
    """Load path/file.py:NAME (runs that file; SourceError when it cannot) and import it."""
    module = load_module(source)
    return module, import_module(module, input_shape, source)


class _Tracer(fx.Tracer):
    """Records each node's line in the user's code."""

    def create_node(self, *args: Any, **kwargs: Any) -> fx.Node:
        node = super().create_node(*args, **kwargs)
        node.meta["source"] = user_frame(2)
        return node


def _trace(module: nn.Module, report: ImportReport) -> fx.GraphModule | None:
    tracer = _Tracer()
    try:
        graph = tracer.trace(module)
    except Exception as e:  # noqa: BLE001 - whatever the user's forward does
        place = place_from_exception(e)
        text = str(e)
        if "control flow" in text or "iterate" in text or "len(" in text:
            report.add("data-dependent control flow",
                       "torch.fx cannot follow a Python `if`, `for` or `while` whose "
                       "condition depends on tensor values (it traces without real data)",
                       "make forward the same for every input (move the branch out of "
                       "forward, or compute both sides and combine them)", place)
        else:
            report.add("tracing forward", f"torch.fx cannot trace it: {first_line(e)}",
                       "make forward a fixed sequence of module calls and tensor ops", place)
        return None
    gm = fx.GraphModule(tracer.root, graph)
    gm.graph.eliminate_dead_code()
    return gm


def import_module(module: nn.Module, input_shape: tuple[int, ...] = (3, 224, 224),
                  source: str = "") -> ImportResult:
    report = ImportReport(source or type(module).__name__)
    report.module_params = sum(p.numel() for p in module.parameters())
    was_training = module.training
    module.eval()  # the inference graph: training-only branches (aux heads) drop out
    try:
        gm = _trace(module, report)
        if gm is None:
            return ImportResult(report)
        mapper = _propagate(gm, report, input_shape, on_meta=True)
        if mapper is None:  # an op the meta device cannot run: compute for real
            mapper = _propagate(gm, report, input_shape, on_meta=False)
        assert mapper is not None
        result = _finish(module, mapper, input_shape, report)
    finally:
        module.train(was_training)
    return result


def _propagate(gm: fx.GraphModule, report: ImportReport, input_shape: tuple[int, ...],
               on_meta: bool) -> Mapper | None:
    """Run the graph on a sample input node by node, mapping each node.

    With `on_meta`, on the meta device: only shapes are computed (no arithmetic),
    so a large network's sample pass costs milliseconds instead of seconds.
    None when an op has no meta implementation (then run it for real)."""
    problems = len(report.problems)
    mapper = Mapper(gm, report)
    weights: dict[str, dict[str, torch.Tensor]] | None = {} if on_meta else None
    try:
        with torch.no_grad():
            sample = torch.empty(SAMPLE_BATCH, *input_shape, device="meta") if on_meta \
                else torch.randn(SAMPLE_BATCH, *input_shape)
            for node in gm.graph.nodes:
                value, error = (MISSING, None) if mapper.rejects(node) \
                    else run_node(node, gm, sample, weights)
                if on_meta and error is not None and _meta_trouble(error):
                    del report.problems[problems:]
                    return None
                node.meta["value"] = value
                try:
                    mapper.map(node, value, error)
                except Exception as e:  # noqa: BLE001 - a report, never a traceback
                    mapper.fail(node, mapper.describe(node) if node.op != "output"
                                else "the module's output",
                                f"the importer could not map it ({first_line(e)})",
                                "report this as a bug, with the module")
    finally:
        for node in gm.graph.nodes:
            node.meta.pop("value", None)  # let the sample's activations go
    return mapper


def _meta_trouble(error: BaseException) -> bool:
    """An error of the meta device itself, not of the user's shapes."""
    return isinstance(error, NotImplementedError) or "meta" in str(error)


def _finish(module: nn.Module, mapper: Mapper, input_shape: tuple[int, ...],
            report: ImportReport) -> ImportResult:
    layout(mapper.layers)
    design_obj: dict[str, Any] = {"name": type(module).__name__,
                                  "input": _input_dict(input_shape),
                                  "layers": mapper.layers}
    if mapper.output is not None and _sinks(mapper.layers) != [mapper.output]:
        design_obj["output"] = mapper.output.split(":")[0]
    data = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "design": design_obj}
    if not mapper.layers:
        report.add("the module", "no layer could be imported", "")
        return ImportResult(report)
    try:
        design = from_dict(data)
    except DesignFileError as e:
        report.add("the imported design", f"it does not load: {e}", "report this as a bug")
        return ImportResult(report, data)
    analysis = analyse(design)
    _compare(mapper, analysis, report)
    report.layers = len(design.layers)
    report.params = analysis.total_params
    if report.ok and report.params != report.module_params:
        report.notes.append(
            f"the module has {report.module_params:,} parameters but the design "
            f"{report.params:,}: modules never called in forward are not imported")
    return ImportResult(report, data, design, analysis, dict(mapper.module_of),
                        complete=mapper.output is not None)


def _input_dict(shape: tuple[int, ...]) -> dict[str, int]:
    keys = {1: ("channels",), 2: ("channels", "length"), 3: ("channels", "height", "width"),
            4: ("channels", "depth", "height", "width")}[len(shape)]
    return dict(zip(keys, shape))


def _sinks(layers: list[dict[str, Any]]) -> list[str]:
    used = {src.split(":")[0] for entry in layers for src in entry.get("inputs", [])}
    return [e["id"] for e in layers if e["id"] not in used]


def _compare(mapper: Mapper, analysis: Analysis, report: ImportReport) -> None:
    """Every layer's analysed shape against torch's; analysis errors go to the report."""
    for lid, info in analysis.layers.items():
        place = mapper.places.get(lid)
        for issue in info.errors:
            fix = f"fix: {issue.fix.label}" if issue.fix is not None else ""
            report.add(f"layer '{lid}'", issue.message, fix, place)
        torch_shape = mapper.shapes.get(lid)
        if torch_shape is not None and info.output_shape is not None \
                and tuple(info.output_shape) != torch_shape:
            report.add(f"layer '{lid}'", f"the designer computes {list(info.output_shape)} "
                       f"but torch gives {list(torch_shape)}",
                       "report this as a bug, with the module", place)
    for issue in analysis.errors:
        report.add("the design", issue.message, "")


def import_weights(module: nn.Module, result: ImportResult) -> dict[str, torch.Tensor]:
    """The module's weights keyed like the built design and the exported model
    (`<layer name>.<parameter>`)."""
    assert result.design is not None
    names = layer_names(result.design)
    state: dict[str, torch.Tensor] = {}
    for lid, path in result.module_of.items():
        for key, value in module.get_submodule(path).state_dict().items():
            state[f"{names[lid]}.{key}"] = value.detach()
    return state
