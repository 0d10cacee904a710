"""A dense convolution's training time per MAC from the calibration's probes.

Time per MAC = a + b/K + c/N + d·M^-p for a reduction of K = C_in/groups·k_h·k_w,
N output channels per group and M output positions (batch included): short
reductions, few output channels and few positions all run below peak. The
terms are fitted through the measured convolutions (calibration_data.Calibration):
(K, N) = (576, 64), (72, 16) and (576, 8) over thousands of positions, and
(FEW_K, FEW_N) over FEW_M and MID_M positions. fp32 kernels reach their
peak by a few thousand positions: d/M (the weights' fixed work spread over
M) through the FEW_M one. bf16 ones on AMX still gain at tens of thousands
(MID_M runs at ~0.8 of the (576, 64) probe's rate): then the term is a power
law through both (p ~ 0.45). Pure Python.
"""
from __future__ import annotations

import functools
import math

BIG_K, SMALL_K = 576, 72       # reductions of the two calibration convolutions
BIG_N, SMALL_N, NARROW_N = 64, 16, 8   # ... their output channels, and the narrow one's
# the convolution timed over few output positions (GEMM's M = batch x
# positions, the weight gradient's reduction): 2 images of 7x7, 256 -> 256,
# 3x3; and the same over 32 images (MID_M)
FEW_M, FEW_K, FEW_N = 98, 2304, 256
MID_M = 32 * 49
# the power's bounds: a noisy pair of points must not give a flat or a cliff
MIN_POWER, MAX_POWER = 0.25, 1.0
# the mid convolution runs below peak when slower than this share of the
# (576, 64) one's rate (its longer reduction and wider output run faster)
SLOW_MID = 0.9
ROUNDS = 8    # the fit's rounds: each takes the positions term off the first three


@functools.lru_cache(maxsize=16)
def conv_fit(big_rate: float, small_rate: float, narrow_rate: float, few_rate: float,
             mid_rate: float = 0.0, probe_positions: float = 0.0
             ) -> tuple[float, float, float, float, float]:
    """(a, b, c, d, p) from the probes' training MACs per second (0: not
    measured). probe_positions: the M of the (576, 64) and (576, 8) probes
    (the (72, 16) one has 4x as many); without it or the MID_M probe the
    first three are taken as over many positions and p = 1."""
    if small_rate <= 0:
        return 1 / big_rate, 0.0, 0.0, 0.0, 1.0
    # (a mid convolution at the big one's rate has reached its peak by MID_M:
    # d/M through the few-positions one, as before v14; fp32 here)
    fitted = (mid_rate > 0 and probe_positions > 0 and few_rate > 0
              and mid_rate < SLOW_MID * big_rate)
    d, p = 0.0, 1.0
    a = b = c = 0.0
    for _ in range(ROUNDS if fitted else 1):
        a, b, c = _three(1 / big_rate - _term(d, p, probe_positions),
                         1 / small_rate - _term(d, p, 4 * probe_positions),
                         1 / narrow_rate - _term(d, p, probe_positions) if narrow_rate > 0
                         else 0.0)
        base = a + b / FEW_K + c / FEW_N
        few = 1 / few_rate - base if few_rate > 0 else 0.0
        if few <= 0:
            return a, b, c, 0.0, 1.0
        if fitted:
            mid = 1 / mid_rate - base
            p = MAX_POWER if mid <= 0 else min(MAX_POWER, max(
                MIN_POWER, math.log(few / mid) / math.log(MID_M / FEW_M)))
        d = few * FEW_M ** p
    return a, b, c, d, p


def _term(d: float, p: float, positions: float) -> float:
    return d * positions ** -p if d > 0 and positions > 0 else 0.0


def _three(big: float, small: float, narrow: float) -> tuple[float, float, float]:
    """a, b, c through the three probes' seconds per MAC (narrow 0: c = 0)."""
    c = max(0.0, (narrow - big) / (1 / NARROW_N - 1 / BIG_N)) if narrow > 0 else 0.0
    b = max(0.0, (small - big - c * (1 / SMALL_N - 1 / BIG_N)) / (1 / SMALL_K - 1 / BIG_K))
    a = max(0.0, big - b / BIG_K - c / BIG_N)
    return a, b, c


def seconds_per_mac(fit: tuple[float, float, float, float, float], reduction: int,
                    out_channels: int, positions: int) -> float:
    """The fitted time per training MAC (positions 0: many)."""
    a, b, c, d, p = fit
    return (a + b / max(1, reduction) + c / max(1, out_channels)
            + (d * positions ** -p if positions > 0 else 0.0))
