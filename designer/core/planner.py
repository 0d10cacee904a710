"""Training-step memory plan: parameters, gradients, optimizer state, what
backward keeps per layer, the transient peak, and the largest batch that fits.

It follows the app's training step (designer/nn/trainer.py): forward under
autocast, the loss, `zero_grad(set_to_none=True)`, backward, the optimizer
step. The previous step's gradients are therefore still alive during the
forward pass, and the peak is usually at the end of it.

Every memory figure is affine in the batch size, (bytes independent of the
batch, bytes per sample); the plan keeps each candidate peak in that form, so
`peak_at(b)` and `max_batch_size(memory)` are exact without re-planning.
Pure Python, no torch: it runs on every edit.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from designer.core.analysis import Analysis, analyse
from designer.core.model import INPUT_ID, Design
from designer.core.plan_rules import FP32, INT64, LOWP, MATRIX_WEIGHTS, RuleCtx, rule_for

Affine = tuple[int, int]          # (bytes independent of the batch, bytes per sample)
OPTIMIZERS = ("sgd", "adam", "adamw")
PRECISIONS = ("fp32", "bf16", "fp16")
DEVICES = ("cpu", "cuda", "mps")
MAX_BATCH = 1 << 20


class PlanError(ValueError):
    """A design or setting that cannot be planned (plain message)."""


@dataclass(frozen=True)
class PlanSettings:
    batch_size: int = 128
    optimizer: str = "sgd"        # sgd, adam, adamw
    momentum: float = 0.9         # sgd only
    nesterov: bool = True
    weight_decay: float = 5e-4
    precision: str = "fp32"       # fp32, bf16, fp16 (resolved: not "auto")
    channels_last: bool = False
    device: str = "cpu"           # cpu, cuda, mps (the device type)
    data_bytes: int = 0           # a dataset held on the device (the trainer moves it there)

    def check(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise PlanError(f"unknown optimizer '{self.optimizer}': use sgd, sgd-momentum, "
                            f"adam or adamw")
        if self.precision not in PRECISIONS:
            raise PlanError(f"unknown precision '{self.precision}': use fp32, bf16 or fp16")
        if self.device not in DEVICES:
            raise PlanError(f"unknown device '{self.device}': use cpu, cuda or mps")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise PlanError(f"the batch size must be at least 1 (got {self.batch_size})")


@dataclass(slots=True)
class LayerPlan:
    id: str
    type: str
    saved: Affine = (0, 0)                           # what backward keeps, made here
    parts: list[tuple[str, Affine]] = field(default_factory=list)
    saved_bytes: int = 0                             # at the plan's batch size


@dataclass
class Plan:
    settings: PlanSettings
    parameters: int
    buffers: int
    gradients: int
    optimizer: int
    activations_affine: Affine
    candidates: list[tuple[int, int, str]]           # (const, per sample, phase)
    layers: list[LayerPlan]
    data: int = 0
    saved_affine: Affine = (0, 0)                    # only what backward keeps

    @property
    def batch_size(self) -> int:
        return self.settings.batch_size

    @property
    def fixed(self) -> int:
        return self.parameters + self.buffers + self.gradients + self.optimizer + self.data

    @property
    def saved(self) -> int:
        a, b = self.saved_affine
        return a + b * self.batch_size

    @property
    def activations(self) -> int:
        a, b = self.activations_affine
        return a + b * self.batch_size

    def peak_at(self, batch: int) -> int:
        return max(a + b * batch for a, b, _ in self.candidates)

    @property
    def peak(self) -> int:
        return self.peak_at(self.batch_size)

    @property
    def phase(self) -> str:
        b = self.batch_size
        return max(self.candidates, key=lambda c: c[0] + c[1] * b)[2]

    @property
    def transient(self) -> int:
        return max(0, self.peak - self.fixed - self.activations)

    @property
    def breakdown(self) -> dict[str, int]:
        out = {"parameters": self.parameters, "gradients": self.gradients,
               "optimizer": self.optimizer, "activations": self.activations,
               "transient": self.transient, "buffers": self.buffers}
        if self.data:
            out["dataset"] = self.data
        return out

    def max_batch_size(self, memory: int) -> int:
        """The largest batch whose peak fits in `memory` bytes (0: none fits)."""
        best = MAX_BATCH
        for a, b, _ in self.candidates:
            if a > memory:
                return 0
            if b > 0:
                best = min(best, (memory - a) // b)
        return max(0, best)

    def at_batch(self, batch: int) -> "Plan":
        """The same plan at another batch size (no re-planning)."""
        settings = replace(self.settings, batch_size=batch)
        layers = [LayerPlan(lp.id, lp.type, lp.saved, lp.parts, lp.saved[0] + lp.saved[1] * batch)
                  for lp in self.layers]
        return replace(self, settings=settings, layers=layers)


@dataclass(slots=True)
class _Tensor:
    storage: str
    numel: int                 # per sample
    itemsize: int
    grad: bool


@dataclass(slots=True)
class _Storage:
    size: Affine
    producer: str
    label: str
    keepers: set[str] = field(default_factory=set)
    last_use: int = -1         # index in forward order of the last consumer


def plan(design: Design, settings: PlanSettings | None = None,
         analysis: Analysis | None = None) -> Plan:
    """The memory plan of one training step. Raises PlanError for a design
    with errors or impossible settings."""
    settings = settings or PlanSettings()
    settings.check()
    analysis = analysis or analyse(design)
    if not analysis.ok:
        where, issue = analysis.all_errors[0]
        raise PlanError(f"the design has {analysis.error_count} error(s); first: "
                        + (f"{where}: " if where else "") + issue.message)
    return _Planner(design, analysis, settings).run()


def _add(x: Affine, y: Affine) -> Affine:
    return (x[0] + y[0], x[1] + y[1])


def _sub(x: Affine, y: Affine) -> Affine:
    return (x[0] - y[0], x[1] - y[1])


def _prod(shape: Any) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def split_ref(ref: str) -> tuple[str, str]:
    """"id" or "id:port" -> (id, port); port "" means the first output."""
    if ref in ("", INPUT_ID) or ":" not in ref:
        return ref, ""
    lid, port = ref.rsplit(":", 1)
    return lid, "" if port in ("0", "out") else port


class _Planner:
    def __init__(self, design: Design, analysis: Analysis, settings: PlanSettings) -> None:
        self.design, self.analysis, self.s = design, analysis, settings
        self.lowp = settings.precision != "fp32"
        self.tensors: dict[str, _Tensor] = {}
        self.storages: dict[str, _Storage] = {}
        self.keeps: dict[str, Any] = {}
        self.graph: set[str] = set()          # layers that record a backward node
        self.inputs: dict[str, list[tuple[str, _Tensor]]] = {}   # (producer, tensor)
        self.layer_plans = {lid: LayerPlan(lid, analysis.layers[lid].type)
                            for lid in analysis.order}

    # --- parameters and optimizer -------------------------------------
    def _param_tensors(self) -> list[tuple[int, bool, bool]]:
        """(bytes, trainable, in the weight-decay group) per parameter tensor."""
        out = []
        for lid in self.analysis.order:
            info = self.analysis.layers[lid]
            trainable = info.trainable_params > 0
            for name, count, _ in info.breakdown:
                decay = name == "weight" and info.type in MATRIX_WEIGHTS
                out.append((count * FP32, trainable, decay))
        return out

    def _buffers(self) -> int:
        total = 0
        for info in self.analysis.layers.values():
            if info.buffers and info.type.startswith("BatchNorm"):
                total += (info.buffers - 1) * FP32 + INT64   # num_batches_tracked is int64
            else:
                total += info.buffers * FP32
        return total

    def _optimizer(self, params: list[tuple[int, bool, bool]]) -> tuple[int, int]:
        """(state bytes, the step's temporaries at their peak)."""
        s = self.s
        train = [(n, d) for n, t, d in params if t]
        wd = s.weight_decay > 0
        foreach = s.device == "cuda"   # torch uses the foreach kernels only on GPUs
        if s.optimizer == "sgd":
            state = sum(n for n, _ in train) if s.momentum > 0 else 0
            nesterov = s.nesterov and s.momentum > 0
            if foreach:
                temp = sum(n for n, d in train if d) if wd else 0
            else:
                temp = max((n * ((d and wd) + nesterov) for n, d in train), default=0)
            return state, temp
        steps = 0 if s.device == "cuda" else len(train) * FP32  # the step counter lives on the CPU
        state = 2 * sum(n for n, _ in train) + steps
        copy = s.optimizer == "adam" and wd     # Adam adds the decay to a copy of the gradient
        if foreach:
            temp = sum(n for n, _ in train) + (sum(n for n, d in train if d) if copy else 0)
        else:
            temp = max((n * (2 + (copy and d)) for n, d in train), default=0)
        return state, temp

    # --- tensors ----------------------------------------------------------
    def _storage_of(self, ref: str) -> _Tensor:
        found = self.tensors.get(ref)
        if found is not None:
            return found
        lid, port = split_ref(ref)
        key = lid if not port else f"{lid}:{port}"
        if key in self.tensors:
            return self.tensors[key]
        return self.tensors[lid]     # an unknown port name: its first output

    def _new_storage(self, key: str, size: Affine, producer: str, label: str = "output") -> str:
        self.storages[key] = _Storage(size, producer, label)
        return key

    def _forward_rules(self) -> None:
        a = self.analysis
        x_numel = _prod(a.input_shape)
        self._new_storage(INPUT_ID, (0, x_numel * FP32), INPUT_ID)
        self.tensors[INPUT_ID] = _Tensor(INPUT_ID, x_numel, FP32, False)
        for index, lid in enumerate(a.order):
            layer, info = self.design.layer(lid), a.layers[lid]
            ins = [self._storage_of(r) for r in layer.inputs]
            self.inputs[lid] = [(r if ":" not in r else split_ref(r)[0], t)
                                for r, t in zip(layer.inputs, ins)]
            for t in ins:
                st = self.storages[t.storage]
                st.last_use = max(st.last_use, index)
            trainable = info.trainable_params > 0
            weight = next((n for name, n, _ in info.breakdown if name == "weight"), 0)
            out_shape = tuple(info.output_shape or ())
            ctx = RuleCtx(info.type, info.resolved, [tuple(s or ()) for s in info.input_shapes],
                          [t.numel for t in ins], [t.itemsize for t in ins],
                          [t.grad for t in ins], trainable, weight, _prod(out_shape), out_shape,
                          self.lowp, self.s.device, self.s.channels_last)
            keep = rule_for(info.type)(ctx)
            self.keeps[lid] = keep
            grad = trainable or any(t.grad for t in ins)
            out_numel = ctx.out_numel
            if keep.alias is not None and keep.alias < len(ins):
                src = ins[keep.alias]
                self.tensors[lid] = _Tensor(src.storage, out_numel, src.itemsize, grad)
            else:
                self._new_storage(lid, (0, out_numel * keep.out_itemsize), lid)
                self.tensors[lid] = _Tensor(lid, out_numel, keep.out_itemsize, grad)
            if keep.out_int64_port:
                key = f"{lid}#indices"
                for port in ("1", "indices"):
                    self.tensors[f"{lid}:{port}"] = _Tensor(key, out_numel, INT64, False)
            if not grad:
                if keep.out_int64_port:   # indices are made even without a graph
                    self._new_storage(f"{lid}#indices", (0, out_numel * INT64), lid,
                                      "indices (int64)")
                continue
            self.graph.add(lid)
            self._record_keeps(lid, keep, ins)

    def _record_keeps(self, lid: str, keep: Any, ins: list[_Tensor]) -> None:
        for i in keep.keep_inputs:
            if i < len(ins):
                self.storages[ins[i].storage].keepers.add(lid)
        for i, itemsize in keep.casts:
            if i >= len(ins):
                continue
            if ins[i].itemsize == itemsize:
                self.storages[ins[i].storage].keepers.add(lid)
            else:
                key = self._new_storage(f"{lid}#cast{i}", (0, ins[i].numel * itemsize), lid,
                                        "low-precision input copy" if itemsize < FP32
                                        else "fp32 input copy")
                self.storages[key].keepers.add(lid)
        if keep.keep_output:
            self.storages[self.tensors[lid].storage].keepers.add(lid)
        for n, (label, const, per_sample) in enumerate(keep.extras):
            key = f"{lid}#indices" if label.startswith("indices") else f"{lid}#x{n}"
            self._new_storage(key, (const, per_sample), lid, label)
            self.storages[key].keepers.add(lid)

    # --- the step ---------------------------------------------------------
    def run(self) -> Plan:
        s, a = self.s, self.analysis
        params = self._param_tensors()
        p_bytes = sum(n for n, _, _ in params)
        g_bytes = sum(n for n, t, _ in params if t)
        state, opt_temp = self._optimizer(params)
        buffers = self._buffers()
        self._forward_rules()
        out_id = a.output_id or a.order[-1]
        out_t = self.tensors[out_id]
        classes = out_t.numel
        pinned = {INPUT_ID, out_t.storage}
        x_numel = _prod(a.input_shape)
        # uint8 images, labels and indices held by the trainer; the loss keeps
        # log_softmax's fp32 output
        batch: Affine = (0, x_numel + 2 * INT64)
        loss_kept: Affine = (0, classes * FP32)
        fixed = p_bytes + buffers + state + s.data_bytes
        kept = {k for k, st in self.storages.items() if st.keepers}
        act = batch
        for key in kept | pinned:
            act = _add(act, self.storages[key].size)
            lp = self.layer_plans.get(self.storages[key].producer)
            if lp is not None:
                lp.saved = _add(lp.saved, self.storages[key].size)
                lp.parts.append((self.storages[key].label, self.storages[key].size))
        saved: Affine = (0, 0)
        for key in kept:
            saved = _add(saved, self.storages[key].size)
        act = _add(act, loss_kept)
        candidates: list[tuple[int, int, str]] = []
        self._forward_peaks(candidates, fixed + g_bytes, batch, kept, pinned, out_id)
        end = _add(act, (fixed + g_bytes, 0))
        lowp_copy: Affine = (0, classes * FP32) if out_t.itemsize != FP32 else (0, 0)
        candidates.append((*_add(end, lowp_copy), "forward"))
        self._backward_peaks(candidates, fixed, _add(batch, loss_kept), kept, pinned, out_id)
        step: Affine = _add(batch, (fixed + g_bytes + opt_temp, 0))
        for key in pinned:
            step = _add(step, self.storages[key].size)
        candidates.append((*step, "optimizer step"))
        layers = [self.layer_plans[lid] for lid in a.order]
        input_plan = LayerPlan(INPUT_ID, "Input", self.storages[INPUT_ID].size,
                               [("output", self.storages[INPUT_ID].size)])
        b = s.batch_size
        for lp in layers:
            lp.saved_bytes = lp.saved[0] + lp.saved[1] * b
        input_plan.saved_bytes = input_plan.saved[0] + input_plan.saved[1] * b
        return Plan(s, p_bytes, buffers, g_bytes, state, act, _envelope(candidates),
                    [input_plan] + layers, s.data_bytes, saved)

    def _forward_peaks(self, candidates: list[tuple[int, int, str]], fixed: int, batch: Affine,
                       kept: set[str], pinned: set[str], out_id: str) -> None:
        alive: Affine = _add(batch, (fixed, 0))
        alive = _add(alive, self.storages[INPUT_ID].size)
        # images.float() and the normalised input exist together for a moment
        candidates.append((*_add(alive, self.storages[INPUT_ID].size), "forward"))
        owned: dict[str, list[str]] = {}
        released: dict[int, list[str]] = {}
        for key, st in self.storages.items():
            owned.setdefault(st.producer, []).append(key)
            if key not in kept and key not in pinned:
                released.setdefault(st.last_use, []).append(key)
        for index, lid in enumerate(self.analysis.order):
            for key in owned.get(lid, ()):
                alive = _add(alive, self.storages[key].size)
            candidates.append((*alive, "forward"))
            for key in released.get(index, ()):
                alive = _sub(alive, self.storages[key].size)

    def _backward_peaks(self, candidates: list[tuple[int, int, str]], fixed: int,
                        batch: Affine, kept: set[str], pinned: set[str], out_id: str) -> None:
        storages, tensors = self.storages, self.tensors
        alive: Affine = _add(batch, (fixed, 0))
        for key in kept | pinned:
            alive = _add(alive, storages[key].size)
        remaining = {k: set(st.keepers) for k, st in storages.items() if k in kept}
        kept_by: dict[str, list[str]] = {}
        for key, keepers in remaining.items():
            for lid in keepers:
                kept_by.setdefault(lid, []).append(key)
        pending: dict[str, Affine] = {out_id: (0, tensors[out_id].numel * tensors[out_id].itemsize)}
        alive = _add(alive, pending[out_id])
        grads = 0
        candidates.append((*alive, "backward"))
        for lid in reversed(self.analysis.order):
            if lid not in self.graph:
                continue
            info = self.analysis.layers[lid]
            keep = self.keeps[lid]
            g_out = pending.pop(lid, (0, 0))
            new: Affine = (0, 0)
            passes = keep.alias is not None or info.type in ("Add", "Concat", "Identity")
            param_grads = FP32 * info.trainable_params
            if self.lowp and param_grads:
                new = _add(new, (param_grads // 2, 0))   # the low-precision gradient, cast after
            arrivals: list[tuple[str, Affine]] = []
            for i, (lid_in, t) in enumerate(self.inputs[lid]):
                if not t.grad:
                    continue
                size: Affine = (0, t.numel * t.itemsize)
                if not passes or lid_in in pending:
                    new = _add(new, size)
                if t.itemsize == FP32 and any(c == i for c, _ in keep.casts):
                    new = _add(new, (0, t.numel * LOWP))
                arrivals.append((lid_in, size))
            # autocast: the low-precision weight gradient becomes fp32 only after
            # this node has run and released what it kept
            lowp_grads = self.lowp and param_grads > 0
            now = _add(_add(alive, new), (grads + (0 if lowp_grads else param_grads), 0))
            candidates.append((*now, "backward"))
            grads += param_grads
            alive = _sub(alive, g_out)
            for lid_in, size in arrivals:
                if lid_in == INPUT_ID:
                    continue
                if lid_in not in pending:
                    pending[lid_in] = size
                    alive = _add(alive, size)
            for key in kept_by.get(lid, ()):
                keepers = remaining[key]
                keepers.discard(lid)
                if not keepers and key not in pinned:
                    alive = _sub(alive, storages[key].size)
            if lowp_grads:
                candidates.append((*_add(alive, (grads + param_grads // 2, 0)), "backward"))


def _envelope(candidates: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Drop candidates that another one beats at every batch size."""
    out: list[tuple[int, int, str]] = []
    highest = -1
    for c in sorted(candidates, key=lambda c: (-c[1], -c[0])):
        if c[0] > highest:
            out.append(c)
            highest = c[0]
    return out
