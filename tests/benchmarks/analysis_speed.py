"""How fast is the analytic analysis of a 200-layer design?

Times designer.core.analyse on a 200-layer residual design (3×32×32 input) and,
in the same run, a torchinfo-style analysis of the same model: build it,
register forward hooks that record each layer's output shape and count its
parameters, and run a forward pass on a 1-sample input.

    python tests/benchmarks/analysis_speed.py [--repeat N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from designer.core import Design, InputSpec, analyse  # noqa: E402


def residual_design(n_layers: int = 200) -> Design:
    """Stem, residual blocks (conv-BN-ReLU-conv-BN-Add-ReLU, with a strided 1×1
    projection when the width changes), then pooling and a classifier."""
    d = Design("bench", InputSpec(3, 32, 32))
    d.add_layer("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1, "bias": False})
    d.add_layer("BatchNorm2d")
    tip = d.add_layer("ReLU").id
    widths = [16, 32, 64]
    block = 0
    while len(d.layers) < n_layers - 12:
        c_out = widths[min(block * len(widths) // 27, len(widths) - 1)]
        c_in = analyse_shape(d, tip)[0]
        stride = 2 if c_out != c_in else 1
        d.add_layer("Conv2d", {"out_channels": c_out, "kernel_size": 3, "stride": stride,
                               "padding": 1, "bias": False}, inputs=[tip])
        d.add_layer("BatchNorm2d")
        d.add_layer("ReLU")
        d.add_layer("Conv2d", {"out_channels": c_out, "kernel_size": 3, "padding": 1,
                               "bias": False})
        main = d.add_layer("BatchNorm2d").id
        skip = tip
        if stride != 1:
            skip = d.add_layer("Conv2d", {"out_channels": c_out, "kernel_size": 1,
                                          "stride": stride, "bias": False}, inputs=[tip]).id
        d.add_layer("Add", inputs=[main, skip])
        tip = d.add_layer("ReLU").id
        block += 1
    d.add_layer("AdaptiveAvgPool2d", {"output_size": 1}, inputs=[tip])
    d.add_layer("Flatten")
    while len(d.layers) < n_layers - 1:
        d.add_layer("Identity")
    d.add_layer("Linear", {"out_features": 10})
    return d


def analyse_shape(d: Design, lid: str) -> tuple[int, ...]:
    return analyse(d).layers[lid].output_shape or (0,)


def hook_analysis(design: Design) -> dict[str, Any]:
    """torchinfo-style: build, hook every layer, one forward pass of one sample."""
    import torch
    from designer.nn.build import build

    model = build(design)
    found: dict[str, Any] = {}
    handles = []
    for name, module in model.named_children():
        def hook(m: Any, inputs: Any, output: Any, name: str = name) -> None:
            found[name] = (tuple(output.shape[1:]), sum(p.numel() for p in m.parameters()))
        handles.append(module.register_forward_hook(hook))
    with torch.no_grad():
        model.eval()(torch.zeros(1, *model.input_shape))
    for h in handles:
        h.remove()
    return found


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    design = residual_design()
    a = analyse(design)
    assert a.ok, a.all_errors
    n = len(design.layers)

    import torch
    torch.set_num_threads(1)
    found = hook_analysis(design)  # warm-up, and a cross-check of the two analyses
    names = {lid: name for lid, name in __import__("designer.core.naming", fromlist=["x"])
             .layer_names(design).items()}
    for lid, info in a.layers.items():
        assert found[names[lid]] == (info.output_shape, info.params), lid

    t_an = timed(lambda: analyse(design), args.repeat)
    t_hook = timed(lambda: hook_analysis(design), max(3, args.repeat // 3))
    an, hook = statistics.median(t_an), statistics.median(t_hook)
    print(f"design: {n} layers, {a.total_params:,} params, {a.total_macs:,} MACs, "
          f"input {a.input_shape}")
    print(f"analytic analyse():         median {an * 1e3:7.2f} ms   (min {min(t_an) * 1e3:.2f} ms, "
          f"{len(t_an)} runs)")
    print(f"torch build+hooks+forward:  median {hook * 1e3:7.2f} ms   (min {min(t_hook) * 1e3:.2f} ms, "
          f"{len(t_hook)} runs, 1 thread)")
    print(f"ratio: the analysis is {hook / an:.1f}x faster")
    print(f"target: well under 10 ms -> {'met' if an < 0.010 else 'NOT met'}")
    return 0 if an < 0.010 else 1


if __name__ == "__main__":
    sys.exit(main())
