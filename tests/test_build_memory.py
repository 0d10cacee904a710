"""A built design drops each layer's output once no later layer reads it."""
from __future__ import annotations

import weakref

import torch

from designer.core.model import INPUT_ID, Design, InputSpec
from designer.nn.build import build


def concat_chain(n: int) -> Design:
    d = Design("concat chain", InputSpec(3, 8, 8))
    prev = INPUT_ID
    for i in range(n):
        d.add_layer("Conv2d", {"out_channels": 2, "kernel_size": 3, "padding": 1}, [prev], f"c{i}")
        d.add_layer("Concat", {}, [prev, f"c{i}"], f"cat{i}")
        prev = f"cat{i}"
    return d


def test_outputs_are_freed_after_their_last_reader():
    design = concat_chain(6)
    module = build(design).eval()
    alive: list[weakref.ref] = []
    live_counts: list[int] = []

    def hook(_m, _i, out):
        alive.append(weakref.ref(out))
        live_counts.append(sum(r() is not None for r in alive))

    hooks = [m.register_forward_hook(hook) for m in module.children()]
    with torch.no_grad():
        out = module(torch.randn(2, 3, 8, 8))
    for h in hooks:
        h.remove()
    assert len(alive) == 12 and out.shape == (2, 3 + 2 * 6, 8, 8)
    # while the 12 layers run, at most the last concat, a conv output and the
    # new output are held (keeping everything: 12 at the end)
    assert max(live_counts) <= 3, live_counts


def test_same_result_and_gradients_as_keeping_everything():
    design = concat_chain(4)
    torch.manual_seed(0)
    module = build(design)
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    out = module(x)
    out.sum().backward()
    # the same layers, keeping every output
    x2 = x.detach().requires_grad_(True)
    ref = module._run(x2)[module._output]
    assert torch.equal(ref, out)
    grad_x = torch.autograd.grad(ref.sum(), x2)[0]
    assert torch.allclose(grad_x, x.grad)
