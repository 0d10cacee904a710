"""Explanations of the 1-D and 3-D layer types (signals, volumes and clips). The
2-D ones are in explanations.py; pooling of other ranks is described from its
2-D form with the axes renamed."""
from __future__ import annotations

from designer.core.explanations import EXPLANATIONS, Explanation

E = Explanation

ND_EXPLANATIONS: dict[str, Explanation] = {
    "Conv1d": E(
        "Slides each learned filter of k taps along the signal; at every position it "
        "multiplies the window by the filter, sums over the window and all input "
        "channels, and adds a bias. Each filter gives one output channel.",
        "Audio, sensor and other time series: finds local patterns (onsets, peaks, "
        "periodic shapes) wherever they occur.",
        "y[o,i] = b[o] + Σ_c Σ_u w[o,c,u]·x[c, i·s−p+u·d];  "
        "L_out = ⌊(L + 2p − d(k−1) − 1)/s⌋ + 1",
        "kernel_size: the window (taps); stride: step between windows; padding: zeros "
        "at both ends (\"same\" keeps the length); dilation: gaps between taps (WaveNet "
        "stacks doubling dilations); groups: independent channel groups; out_channels: "
        "number of filters; padding_mode: how the ends are filled."),
    "Conv3d": E(
        "Slides each learned k×k×k filter over depth (or time), height and width; a "
        "filter sees a small cube of the input across all input channels.",
        "Video clips (C3D: 3×3×3 filters over frames) and medical volumes (CT, MRI): "
        "patterns that extend in three dimensions, such as motion.",
        "y[o,t,i,j] = b[o] + Σ_c Σ_u,v,w w[o,c,u,v,w]·x[c, t·s−p+u·d, …];  "
        "D_out, H_out, W_out = ⌊(n + 2p − d(k−1) − 1)/s⌋ + 1 each",
        "kernel_size: k or [k_d, k_h, k_w] (k_d = 1 treats frames separately); stride, "
        "padding, dilation: per axis as for Conv2d; groups; out_channels; padding_mode."),
    "ConvTranspose1d": E(
        "Each input value scatters a copy of the kernel, scaled by that value, into the "
        "output signal at stride s; overlaps add up.",
        "Learned upsampling of signals: decoders, audio generators.",
        "L_out = (L − 1)·s − 2p + d(k−1) + output_padding + 1",
        "stride: the upsampling factor; padding: crops the ends; output_padding: adds "
        "one end back; kernel_size ≥ stride avoids gaps."),
    "ConvTranspose3d": E(
        "Each input voxel scatters a copy of the k×k×k kernel into the output volume "
        "at stride s; overlaps add up.",
        "Learned upsampling of volumes: the decoder of a 3-D U-Net or V-Net.",
        "D_out, H_out, W_out = (n − 1)·s − 2p + d(k−1) + output_padding + 1 each",
        "stride: the upsampling factor per axis; padding: crops each border; "
        "output_padding: adds one side back; kernel_size ≥ stride avoids gaps."),
    "BatchNorm3d": E(
        "Normalises each channel of a volume to zero mean and unit variance over the "
        "batch and all voxels, then scales by γ and shifts by β.",
        "After 3-D convolutions, as BatchNorm2d after 2-D ones.",
        "y = γ·(x − μ)/√(σ² + ε) + β",
        "eps: stability; momentum: running-average rate; affine: learn γ, β; "
        "track_running_stats: keep statistics for evaluation."),
    "Dropout1d": E(
        "While training, zeroes whole channels of a signal with probability p.",
        "Against overfitting in 1-D convolutional parts, where neighbouring samples "
        "are correlated.", "y[c] = x[c]·m_c/(1−p)", "p: the share of channels zeroed."),
    "Dropout3d": E(
        "While training, zeroes whole channels of a volume with probability p.",
        "Against overfitting in 3-D convolutional parts.", "y[c] = x[c]·m_c/(1−p)",
        "p: the share of channels zeroed."),
}

for _rank, _what in ((1, "signal"), (2, "feature map"), (3, "volume")):
    ND_EXPLANATIONS[f"InstanceNorm{_rank}d"] = E(
        f"Normalises each channel of each sample's {_what} on its own to zero mean and "
        f"unit variance (no batch statistics), optionally with a learned scale and shift.",
        "Style transfer and generators, and very small batches.",
        "per sample and channel: y = γ·(x − μ)/√(σ² + ε) + β",
        "affine: learn γ, β (off by default); track_running_stats: use running "
        "statistics at evaluation (off by default); eps; momentum.")

_RENAMES = {1: (("k×k", "k"), ("H_out", "L_out"), ("(H ", "(L "), ("·H/", "·L/"),
                ("height and width", "length"), ("y[c,i,j]", "y[c,i]"), ("k·k", "k"),
                ("2d", "1d")),
            3: (("k×k", "k×k×k"), ("H_out", "D_out, H_out, W_out"), ("(H ", "(n "),
                ("·H/", "·n/"), ("height and width", "depth, height and width"),
                ("y[c,i,j]", "y[c,t,i,j]"), ("k·k", "k·k·k"), ("2d", "3d"))}


def _renamed(text: str, rank: int) -> str:
    for old, new in _RENAMES[rank]:
        text = text.replace(old, new)
    return text


for _kind in ("MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool"):
    for _rank in (1, 3):
        base = EXPLANATIONS[f"{_kind}2d"]
        params = _renamed(base.params, _rank)
        if _kind == "MaxPool":  # there is no MaxUnpool of this rank
            params = params.replace(" (for MaxUnpool1d)", "").replace(" (for MaxUnpool3d)", "")
        if _kind == "AvgPool" and _rank == 1:
            params = params.replace("; divisor_override: a fixed divisor", "")
        ND_EXPLANATIONS[f"{_kind}{_rank}d"] = E(
            _renamed(base.computes, _rank), _renamed(base.use, _rank)
            + (" For signals." if _rank == 1 else " For volumes and clips."),
            _renamed(base.formula, _rank), params)
