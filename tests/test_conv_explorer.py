"""The convolution explorer's windows and arithmetic against PyTorch itself:
window positions against F.unfold, the value of a random output cell against
the built module's output, for conv, transposed conv, max and average pooling."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from designer.core.catalogue import Ctx, LayerError, get_type
from designer.core.conv_arithmetic import (activate, avg_divisor, compute_cell, output_map,
                                           small_integers)
from designer.core.conv_explorer import ExplorerError, explorer_spec
from designer.nn.build import build_layer

TOL = 1e-5


def _resolve(type_name: str, params: dict[str, Any], shape: tuple[int, int, int]):
    """Resolved params and inferred args, or None when the analysis refuses the layer."""
    t = get_type(type_name)
    try:
        resolved = t.resolve(params)
        outcome = t.rule(Ctx(type_name, resolved, [shape]))
    except LayerError:
        return None
    return resolved, outcome


@st.composite
def conv_case(draw):
    c_groups = draw(st.sampled_from([1, 2, 3]))
    groups = c_groups
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 11)), draw(st.integers(1, 11))
    k = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
    s = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    d = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    padding: Any = draw(st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), min_size=2,
                                                              max_size=2),
                                  st.sampled_from(["same", "valid"])))
    if padding == "same":
        s = [1, 1]
    mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    params = {"out_channels": c_out, "kernel_size": k, "stride": s, "dilation": d,
              "padding": padding, "groups": groups, "bias": draw(st.booleans()),
              "padding_mode": mode}
    return "Conv2d", params, (c_in, h, w)


@st.composite
def transposed_case(draw):
    groups = draw(st.sampled_from([1, 2]))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    k = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
    s = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    d = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    pad = [draw(st.integers(0, 3)), draw(st.integers(0, 3))]
    op = [draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d)]
    params = {"out_channels": c_out, "kernel_size": k, "stride": s, "dilation": d,
              "padding": pad, "output_padding": op, "groups": groups,
              "bias": draw(st.booleans())}
    return "ConvTranspose2d", params, (c_in, h, w)


@st.composite
def pool_case(draw):
    type_name = draw(st.sampled_from(["MaxPool2d", "AvgPool2d"]))
    c, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 11)), draw(st.integers(1, 11))
    k = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
    params: dict[str, Any] = {
        "kernel_size": k,
        "stride": draw(st.one_of(st.none(), st.lists(st.integers(1, 3), min_size=2,
                                                      max_size=2))),
        "padding": [draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2))],
        "ceil_mode": draw(st.booleans())}
    if type_name == "MaxPool2d":
        params["dilation"] = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    else:
        params["count_include_pad"] = draw(st.booleans())
        params["divisor_override"] = draw(st.one_of(st.none(), st.integers(1, 9)))
    return type_name, params, (c, h, w)


ANY_CASE = st.one_of(conv_case(), transposed_case(), pool_case())


def _index_image(h: int, w: int) -> torch.Tensor:
    """Each input cell holds its flat index + 1; 0 marks padding."""
    return (torch.arange(h * w, dtype=torch.float64) + 1).view(1, 1, h, w)


def _torch_windows(spec) -> torch.Tensor:
    """PyTorch's windows as (taps, out_h, out_w) of input index + 1 (0: padding
    or an inserted zero), from F.unfold over the input padded as torch pads it."""
    r, c = spec.rows, spec.cols
    if spec.kind == "transposed":
        th, tw = spec.transposed
        x = torch.zeros(1, 1, r.size, c.size, dtype=torch.float64)
        x[:, :, ::th.stride, ::tw.stride] = _index_image(*spec.in_size)
    else:
        x = _index_image(r.size, c.size)
    # pooling with ceil_mode: the last window may run past the padded edge
    extra_h = max(0, r.last_drawn - r.size - r.pad_after)
    extra_w = max(0, c.last_drawn - c.size - c.pad_after)
    x = F.pad(x, (c.pad_before, c.pad_after + extra_w, r.pad_before, r.pad_after + extra_h))
    cols = F.unfold(x, (r.kernel, c.kernel), dilation=(r.dilation, c.dilation),
                    stride=(r.stride, c.stride))
    lh = (x.shape[2] - r.span) // r.stride + 1
    lw = (x.shape[3] - c.span) // c.stride + 1
    return cols.view(r.kernel * c.kernel, lh, lw)[:, :r.out, :c.out]


def _explorer_windows(spec) -> torch.Tensor:
    r, c = spec.rows, spec.cols
    out = torch.zeros(r.kernel * c.kernel, r.out, c.out, dtype=torch.float64)
    w_in = spec.in_size[1]
    for oh in range(r.out):
        for ow in range(c.out):
            for th, tw, row, col in spec.window(oh, ow):
                src = spec.source(row, col)
                if src is not None:
                    out[th * c.kernel + tw, oh, ow] = src[0] * w_in + src[1] + 1
    return out


def _module_and_output(type_name, resolved, outcome, x: np.ndarray, seed: int):
    torch.manual_seed(seed)
    module = build_layer(type_name, resolved, outcome.inferred).double().eval()
    with torch.no_grad():
        y = module(torch.as_tensor(x).unsqueeze(0))
    return module, (y[0] if not isinstance(y, tuple) else y[0][0]).numpy()


@settings(max_examples=150)
@given(case=ANY_CASE, data=st.data())
def test_windows_and_values_equal_pytorch(case, data) -> None:
    type_name, params, shape = case
    got = _resolve(type_name, params, shape)
    assume(got is not None)
    _check_against_torch(type_name, shape, *got, lambda n: data.draw(st.integers(0, n - 1)))


@pytest.mark.parametrize("params, shape", [
    # found by the property test: the only window covers padding alone; torch's
    # index is its first column at or past 0 (1, outside the 1×1 input), not None
    ({"kernel_size": [1, 2], "stride": None, "padding": [0, 1], "dilation": [1, 2],
      "ceil_mode": False}, (1, 1, 1)),
    ({"kernel_size": [1, 2], "stride": None, "padding": [0, 1], "dilation": [1, 2],
      "ceil_mode": True}, (1, 1, 1)),
    ({"kernel_size": [2, 2], "stride": None, "padding": [1, 1], "dilation": [2, 2],
      "ceil_mode": False}, (2, 1, 1)),                    # row and column both padding
])
def test_max_pool_window_of_padding_only_matches_pytorch(params, shape) -> None:
    got = _resolve("MaxPool2d", params, shape)
    assert got is not None
    _check_against_torch("MaxPool2d", shape, *got, lambda n: n - 1)


def _check_against_torch(type_name, shape, resolved, outcome, pick) -> None:
    """pick(n) chooses a number in range(n): the seeds, channel and cell checked."""
    spec = explorer_spec(type_name, resolved, shape)
    # output size as the built module gives it
    x = np.random.default_rng(pick(2**16 + 1)).standard_normal(shape)
    module, y = _module_and_output(type_name, resolved, outcome, x, seed=pick(1001))
    assert y.shape[1:] == spec.out_size == tuple(outcome.shape[1:])
    # every window position equals PyTorch's
    assert torch.equal(_explorer_windows(spec), _torch_windows(spec))
    # a random output cell's arithmetic equals the module's output there
    oc = pick(y.shape[0])
    cell = (pick(spec.rows.out), pick(spec.cols.out))
    weight = getattr(module, "weight", None)
    bias = getattr(module, "bias", None)
    math_ = compute_cell(spec, x, None if weight is None else weight.detach().numpy(),
                         None if bias is None else bias.detach().numpy(), oc, cell)
    # (a max-pool window that covers only padding gives −∞, in torch too)
    assert np.isclose(math_.total, y[oc, cell[0], cell[1]], atol=TOL, rtol=TOL)
    # the whole output channel at once, as the explorer's output grid shows it
    whole = output_map(spec, x, None if weight is None else weight.detach().numpy(),
                       None if bias is None else bias.detach().numpy(), oc)
    assert np.allclose(whole, y[oc], atol=TOL, rtol=TOL)
    if type_name == "MaxPool2d":
        idx_module = build_layer(type_name, {**resolved, "return_indices": True}, {})
        with torch.no_grad():
            _, idx = idx_module(torch.as_tensor(x).unsqueeze(0))
        assert math_.index == int(idx[0, oc, cell[0], cell[1]])
    if not spec.is_pool:
        assert math_.feeding == list(spec.feeding_channels(oc))
        assert len(math_.feeding) == shape[0] // resolved["groups"]


def test_padding_stride_example_of_the_tutorials() -> None:
    """8×8 input, 3×3 kernel, padding 1, stride 2 -> 4×4; the first window
    starts in the padding, the second two cells right."""
    spec = explorer_spec("Conv2d", {"out_channels": 1, "kernel_size": 3, "stride": 2,
                                    "padding": 1}, (1, 8, 8))
    assert spec.out_size == (4, 4)
    assert [(r, c) for _, _, r, c in spec.window(0, 0)][:3] == [(-1, -1), (-1, 0), (-1, 1)]
    assert spec.window(0, 1)[0][2:] == (-1, 1)
    assert spec.positions() == 16 and spec.cell(5) == (1, 1)


def test_ceil_mode_window_runs_past_the_edge_and_average_divides_by_what_it_covers() -> None:
    params = {"kernel_size": 2, "stride": 2, "ceil_mode": True, "padding": 0,
              "count_include_pad": True, "divisor_override": None}
    spec = explorer_spec("AvgPool2d", params, (1, 5, 5))
    assert spec.out_size == (3, 3)
    assert spec.rows.last_drawn == 6          # one cell past the 5-wide input
    assert avg_divisor(spec, (2, 2)) == 1 and avg_divisor(spec, (0, 2)) == 2
    x = np.arange(25, dtype=np.float64).reshape(1, 5, 5)
    assert compute_cell(spec, x, None, None, 0, (2, 2)).total == 24.0


def test_stand_in_keeps_the_settings_on_a_small_input() -> None:
    params = {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "dilation": 1,
              "groups": 1, "bias": True}
    spec = explorer_spec("Conv2d", params, (3, 224, 224), stand_in=9)
    assert spec.stand_in and spec.in_size == (9, 9) and spec.real_size == (224, 224)
    assert spec.out_size == explorer_spec("Conv2d", params, (3, 9, 9)).out_size == (5, 5)
    with pytest.raises(ExplorerError, match="stand-in"):
        explorer_spec("Conv2d", params, (3, 224, 224), stand_in=20)
    with pytest.raises(ExplorerError, match="Linear"):
        explorer_spec("Linear", {}, (3, 8, 8))


def test_transposed_scatter_targets_are_the_outputs_its_products_reach() -> None:
    params = {"out_channels": 1, "kernel_size": 3, "stride": 2, "padding": 1,
              "output_padding": 1, "dilation": 1, "groups": 1, "bias": False}
    spec = explorer_spec("ConvTranspose2d", params, (1, 4, 4))
    assert spec.out_size == (8, 8) and spec.rows.size == 7   # 4 inputs, 3 zeros between
    x, w, b = small_integers(spec)
    math_ = compute_cell(spec, x, w, b, 0, (3, 4))
    sources = {spec.source(*p.pos) for part in math_.channels for p in part.products
               if p.where == "input"}
    th, tw = spec.transposed
    for i, j in sources:
        assert 3 in th.targets(i) and 4 in tw.targets(j)


@pytest.mark.parametrize("name,params", [
    ("ReLU", {}), ("ReLU6", {}), ("LeakyReLU", {"negative_slope": 0.2}), ("ELU", {"alpha": 0.5}),
    ("GELU", {"approximate": "none"}), ("GELU", {"approximate": "tanh"}), ("SiLU", {}),
    ("Sigmoid", {}), ("Tanh", {}), ("Hardswish", {}), ("Hardsigmoid", {}), ("Mish", {}),
    ("PReLU", {})])
def test_activation_after_the_layer_equals_torch(name: str, params: dict) -> None:
    values = torch.linspace(-7, 7, 29, dtype=torch.float64)
    module = getattr(torch.nn, name)(**params).double()
    with torch.no_grad():
        expected = module(values)
    for v, e in zip(values.tolist(), expected.tolist()):
        assert activate(name, params, v) == pytest.approx(e, abs=1e-9)
    assert activate("Softmax", {}, 1.0) is None
