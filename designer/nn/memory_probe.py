"""Measure what a training step really holds: the peak of live tensor storage
on the CPU (every storage an op creates, until it is freed), and the bytes
autograd saves for backward. Used to hold the planner (designer/core/planner.py)
against reality in tests and in tests/benchmarks/memory_plan.py."""
from __future__ import annotations

import weakref
from typing import Any, Iterable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


class LiveStorage(TorchDispatchMode):
    """Counts the bytes of every tensor storage alive while the mode is on:
    those registered with `track` before, plus every one an op creates. A
    storage is counted once however many views share it, and leaves the count
    when it is freed (a weak reference's callback)."""

    def __init__(self, existing: Iterable[torch.Tensor] = ()) -> None:
        super().__init__()
        self._refs: dict[int, tuple[weakref.ref, int]] = {}
        self.live = 0
        self.peak = 0
        self.track(existing)

    def track(self, tensors: Iterable[Any]) -> None:
        for t in tensors:
            if isinstance(t, torch.Tensor):
                self._add(t)
        self.peak = max(self.peak, self.live)

    def reset_peak(self) -> None:
        self.peak = self.live

    def _add(self, t: torch.Tensor) -> None:
        if t.device.type == "meta":
            return
        st = t.untyped_storage()
        key = st._cdata
        if key in self._refs and self._refs[key][0]() is not None:
            return
        nbytes = st.nbytes()

        def gone(_: Any, key: int = key, nbytes: int = nbytes) -> None:
            if key in self._refs:
                del self._refs[key]
                self.live -= nbytes

        self._refs[key] = (weakref.ref(st, gone), nbytes)
        self.live += nbytes

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        flat, _ = tree_flatten(out)
        for t in flat:
            if isinstance(t, torch.Tensor):
                self._add(t)
        self.peak = max(self.peak, self.live)
        return out


def state_tensors(model: torch.nn.Module, optimizer: torch.optim.Optimizer | None) -> list[Any]:
    """Parameters, buffers, gradients and optimizer state: alive across steps."""
    out: list[Any] = list(model.parameters()) + list(model.buffers())
    out += [p.grad for p in model.parameters() if p.grad is not None]
    if optimizer is not None:
        for state in optimizer.state.values():
            out += [v for v in state.values() if isinstance(v, torch.Tensor)]
    return out


def storage_bytes(tensors: Iterable[Any]) -> int:
    """Bytes of the distinct storages behind some tensors."""
    seen: dict[int, int] = {}
    for t in tensors:
        if isinstance(t, torch.Tensor):
            st = t.untyped_storage()
            seen[st._cdata] = st.nbytes()
    return sum(seen.values())


class SavedTensors:
    """Collects the tensors autograd saves for backward while active
    (`torch.autograd.graph.saved_tensors_hooks`), keeping them alive."""

    def __init__(self) -> None:
        self.tensors: list[torch.Tensor] = []
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)

    def _pack(self, t: torch.Tensor) -> torch.Tensor:
        self.tensors.append(t)
        return t

    def __enter__(self) -> "SavedTensors":
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._hooks.__exit__(*exc)

    def bytes_excluding(self, exclude: Iterable[torch.Tensor]) -> int:
        skip = {t.untyped_storage()._cdata for t in exclude}
        return storage_bytes(t for t in self.tensors if t.untyped_storage()._cdata not in skip)
