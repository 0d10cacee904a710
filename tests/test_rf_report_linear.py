"""The coverage report is linear in depth and still exact: compared with a
plain explicit-set reference on random designs, and timed on deep stacks."""
from __future__ import annotations

import random
import time

from designer.core import Design, InputSpec, analyse
from designer.core.model import INPUT_ID, Layer
from designer.core.rf_report import _taps, _upstream_rf, coverage, rf_warnings


def reference_coverage(design, analysis):
    """Explicit pixel sets, layer by layer, no shortcuts (quadratic in depth)."""
    sets = {INPUT_ID: (frozenset([0]), frozenset([0]))}
    starts = {(INPUT_ID, 0): (0.0, 0.0)}
    for lid in analysis.order:
        info = analysis.layers[lid]
        rf = info.rf
        if rf is None or rf.whole:
            continue
        sources = info.sources
        if not sources or not all(s in sets for s, _ in sources):
            continue
        up = _upstream_rf(analysis, sources)
        taps = _taps(info.type, info.resolved)
        out = []
        for ax in range(2):
            absolute = {p + round(2 * starts[src][ax]) for src in sources
                        for p in sets[src[0]][ax]}
            if taps is None and rf.size[ax] == up.size[ax] and rf.jump[ax] == up.jump[ax]:
                pts = frozenset(p - round(2 * rf.start[ax]) for p in absolute)
            elif taps is not None and float(up.jump[ax]).is_integer():
                k, d, j = taps[0][ax], taps[1][ax], int(up.jump[ax])
                rel = [p - round(2 * up.start[ax]) for p in absolute]
                pts = frozenset(r + 2 * t * d * j - d * (k - 1) * j for r in rel for t in range(k))
            else:
                n = round(rf.size[ax])
                pts = frozenset(2 * t - (n - 1) for t in range(n))
            out.append(pts)
        sets[lid] = (out[0], out[1])
        for port, port_rf in enumerate(info.port_rfs):
            starts[(lid, port)] = rf.start if port_rf is None else port_rf.start
    sets.pop(INPUT_ID)
    return sets


def random_design(rng: random.Random) -> Design:
    d = Design("r", InputSpec(3, rng.choice([16, 32, 64]), rng.choice([16, 32, 64])))
    ids = [INPUT_ID]
    for i in range(rng.randint(1, 14)):
        t, src = rng.random(), [rng.choice(ids[-3:])]
        if t < 0.5:
            params = {"out_channels": 4, "kernel_size": rng.choice([1, 2, 3, 5]),
                      "stride": rng.choice([1, 1, 2, 3]), "dilation": rng.choice([1, 2, 3, 4]),
                      "padding": rng.choice([0, 1, 2, 4])}
            lay = d.add_layer("Conv2d", params, inputs=src, layer_id=f"l{i}")
        elif t < 0.65:
            lay = d.add_layer("MaxPool2d", {"kernel_size": rng.choice([2, 3]),
                                            "stride": rng.choice([1, 2, 3])},
                              inputs=src, layer_id=f"l{i}")
        elif t < 0.8 and len(ids) > 2:
            lay = d.add_layer("Add", {}, inputs=rng.sample(ids[1:], 2), layer_id=f"l{i}")
        else:
            lay = d.add_layer("ReLU", {}, inputs=src, layer_id=f"l{i}")
        ids.append(lay.id)
    return d


def test_compact_coverage_equals_explicit_sets():
    rng = random.Random(13)
    holed = 0
    for _ in range(250):
        d = random_design(rng)
        a = analyse(d)
        ref = reference_coverage(d, a)
        assert coverage(d, a) == ref
        holed += any(len(h) != (max(h) - min(h)) // 2 + 1 for h, _ in ref.values() if h)
    assert holed > 10   # the random designs do exercise gridding


def stack(n: int) -> Design:
    d = Design(f"stack{n}", InputSpec(3, 32, 32))
    d.set_layers([Layer(f"conv{i + 1}", "Conv2d",
                        {"out_channels": 4, "kernel_size": 3, "padding": 1},
                        [f"conv{i}" if i else INPUT_ID]) for i in range(n)])
    return d


def _best_time(d: Design, repeat: int = 3) -> float:
    a = analyse(d)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        rf_warnings(d, a)
        best = min(best, time.perf_counter() - t0)
    return best


def test_report_time_grows_linearly_with_depth():
    # quadratic before: 1,000 layers took 18 s and 2,000 layers 77 s here
    small, large = _best_time(stack(500)), _best_time(stack(4000))
    assert large < 10.0
    assert large / small < 24   # 8× the layers: linear ≈ 8, quadratic ≈ 64
