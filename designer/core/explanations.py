"""What every layer type does, for learners: what it computes, when to use it,
its formula and what its parameters change. Kept in one place; the catalogue's
LayerType.explanation reads it, the property editor and Help show it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Explanation:
    computes: str
    use: str
    formula: str
    params: str


E = Explanation
_ACT_USE = "after a convolution or linear layer, to make the network non-linear"

EXPLANATIONS: dict[str, Explanation] = {
    "Conv2d": E(
        "Slides each learned k×k filter over the input; at every position it multiplies "
        "the window by the filter, sums over the window and all input channels, and adds "
        "a bias. Each filter gives one output channel.",
        "The workhorse of image networks: finds local patterns (edges, textures, parts) "
        "wherever they appear, with few parameters.",
        "y[o,i,j] = b[o] + Σ_c Σ_u Σ_v w[o,c,u,v]·x[c, i·s−p+u·d, j·s−p+v·d];  "
        "H_out = ⌊(H + 2p − d(k−1) − 1)/s⌋ + 1",
        "kernel_size: the window (bigger sees more, costs more); stride: step between "
        "windows (2 halves the size); padding: zeros around the border (k//2 keeps the "
        "size, \"same\" computes it); dilation: gaps between taps (sees wider at no "
        "cost); groups: splits channels into independent groups (= in_channels: "
        "depthwise); out_channels: number of filters."),
    "ConvTranspose2d": E(
        "Each input value scatters a copy of the kernel, scaled by that value, into the "
        "output at stride s; overlaps add up. Equal to a direct convolution with the "
        "flipped kernel over the input with s−1 zeros inserted between values and "
        "d(k−1)−p zeros around it.",
        "Learned upsampling: decoders, segmentation, generators.",
        "H_out = (H − 1)·s − 2p + d(k−1) + output_padding + 1",
        "stride: the upsampling factor; padding: crops rows/columns from the output; "
        "output_padding: adds one side back so the size matches a strided convolution; "
        "kernel_size ≥ stride avoids gaps, a multiple of it avoids checkerboard artefacts."),
    "MaxPool2d": E(
        "Keeps the largest value of each k×k window, per channel.",
        "Shrinks feature maps (usually 2×2, stride 2) keeping the strongest responses; "
        "gives a little shift invariance. No parameters.",
        "y[c,i,j] = max over the window of x;  H_out = ⌊(H + 2p − d(k−1) − 1)/s⌋ + 1 "
        "(⌈…⌉ with ceil_mode)",
        "kernel_size and stride (default: the kernel): window and step; padding: "
        "−∞ cells around the border (at most k/2); ceil_mode: keeps a last, partial "
        "window that runs past the edge; return_indices: also outputs where each "
        "maximum was (for MaxUnpool2d)."),
    "AvgPool2d": E(
        "Averages each k×k window, per channel.",
        "Smooth downsampling (LeNet-5 used it); no parameters.",
        "y[c,i,j] = (Σ window) / divisor;  H_out as for MaxPool2d",
        "count_include_pad: whether padded zeros count in the divisor (on: always k·k; "
        "off: only real cells); ceil_mode: keeps a partial last window, whose divisor "
        "counts only what it covers; divisor_override: a fixed divisor."),
    "AdaptiveAvgPool2d": E(
        "Averages into a fixed output size whatever the input size: the windows are "
        "chosen to tile the input.",
        "Global average pooling (output 1) before the classifier: replaces big Linear "
        "layers and makes the network accept any image size.",
        "window i covers [⌊i·H/o⌋, ⌈(i+1)·H/o⌉)",
        "output_size: the output height and width (1: one value per channel)."),
    "AdaptiveMaxPool2d": E(
        "Max-pools into a fixed output size whatever the input size.",
        "Global max pooling before a classifier, or fixed-size features.",
        "window i covers [⌊i·H/o⌋, ⌈(i+1)·H/o⌉)",
        "output_size: the output height and width (1: one value per channel)."),
    "Linear": E(
        "Every output is a weighted sum of every input plus a bias.",
        "The classifier at the end of a CNN (after Flatten or global pooling), and MLPs.",
        "y = W·x + b;  params = (in + 1)·out",
        "out_features: number of outputs (the class count for the last layer); "
        "in_features is inferred from the input; bias: learn b."),
    "Flatten": E(
        "Reshapes a C×H×W map into one vector of C·H·W values; nothing is computed.",
        "Between the convolutional part and Linear layers.",
        "length = C·H·W", "start_dim / end_dim: which dimensions are joined."),
    "BatchNorm2d": E(
        "Normalises each channel to zero mean and unit variance over the batch (and "
        "space), then scales by γ and shifts by β. At evaluation it uses running "
        "averages.",
        "After convolutions (before the activation): faster, more stable training, "
        "higher learning rates.",
        "y = γ·(x − μ)/√(σ² + ε) + β", "eps: stability; momentum: running-average rate; "
        "affine: learn γ, β; track_running_stats: keep statistics for evaluation."),
    "BatchNorm1d": E(
        "Batch normalisation per feature of a flat vector, or per channel of a C×L "
        "signal (over the batch and its length).",
        "Between Linear layers, and after Conv1d.", "y = γ·(x − μ)/√(σ² + ε) + β",
        "as BatchNorm2d."),
    "GroupNorm": E(
        "Normalises groups of channels within each sample (no batch statistics).",
        "Small batches (detection, segmentation), where BatchNorm's statistics are noisy.",
        "per sample and group: y = γ·(x − μ_g)/√(σ_g² + ε) + β",
        "num_groups: channels per group = C / num_groups (1: LayerNorm-like, C: "
        "InstanceNorm-like)."),
    "LayerNorm": E(
        "Normalises each sample over its last dimensions.",
        "Transformers and MLPs; batch-size independent.",
        "y = γ·(x − μ)/√(σ² + ε) + β over normalized_shape",
        "normalized_shape: the dimensions normalised over (empty: the whole sample)."),
    "Dropout": E(
        "While training, zeroes each value with probability p and scales the rest by "
        "1/(1−p); at evaluation it does nothing.",
        "Against overfitting, mostly before Linear layers.",
        "y = x·m/(1−p), m ~ Bernoulli(1−p)", "p: the share zeroed (0.5 is common)."),
    "Dropout2d": E(
        "While training, zeroes whole channels with probability p.",
        "Against overfitting in convolutional parts, where neighbouring values are "
        "correlated.", "y[c] = x[c]·m_c/(1−p)", "p: the share of channels zeroed."),
    "ReLU": E("Keeps positive values, sets negatives to 0.", _ACT_USE + "; the default.",
              "y = max(0, x)", "none."),
    "ReLU6": E("ReLU capped at 6.", "Mobile networks (MobileNetV2), robust in low precision.",
               "y = min(max(0, x), 6)", "none."),
    "LeakyReLU": E("Like ReLU but negatives keep a small slope.",
                   _ACT_USE + ", when units \"die\" with ReLU.",
                   "y = x if x ≥ 0 else a·x", "negative_slope: a (0.01 by default)."),
    "PReLU": E("LeakyReLU whose negative slope is learned.", _ACT_USE + ".",
               "y = x if x ≥ 0 else a·x, a learned",
               "num_parameters: one a shared, or one per channel; init: the starting a."),
    "ELU": E("Identity for positives, a smooth exponential curve towards −α for negatives.",
             _ACT_USE + "; mean activations nearer zero.",
             "y = x if x > 0 else α(eˣ − 1)", "alpha: the negative saturation value."),
    "GELU": E("Weights x by the probability that a standard normal is below it: a smooth ReLU.",
              "Transformers and modern CNNs (ConvNeXt).", "y = x·Φ(x)",
              "approximate: \"tanh\" uses a faster approximation."),
    "SiLU": E("x times its sigmoid (swish): smooth, slightly negative for small negatives.",
              "EfficientNet, MobileNetV3-style networks.", "y = x·σ(x)", "none."),
    "Mish": E("A smooth, self-gated activation similar to SiLU.", _ACT_USE + " (YOLOv4).",
              "y = x·tanh(ln(1 + eˣ))", "none."),
    "Hardswish": E("A cheap, piecewise-linear approximation of SiLU.",
                   "MobileNetV3, on mobile hardware.", "y = x·ReLU6(x + 3)/6", "none."),
    "Hardsigmoid": E("A cheap, piecewise-linear approximation of the sigmoid.",
                     "Gates in squeeze-excitation blocks of MobileNetV3.",
                     "y = ReLU6(x + 3)/6", "none."),
    "Sigmoid": E("Squashes any value into (0, 1).",
                 "Gates (squeeze-excitation), binary outputs; rarely between conv layers "
                 "(gradients vanish).", "y = 1/(1 + e^−x)", "none."),
    "Tanh": E("Squashes any value into (−1, 1).", "LeNet-5's original activation; RNN gates.",
              "y = (eˣ − e^−x)/(eˣ + e^−x)", "none."),
    "Softmax": E("Turns a vector of scores into probabilities that sum to 1.",
                 "At the very end, for class probabilities (training losses like "
                 "cross-entropy usually include it, so leave it out there).",
                 "y_i = e^{x_i} / Σ_j e^{x_j}", "dim: the dimension that sums to 1."),
    "ChannelShuffle": E("Reorders channels so each group mixes with the others: "
                        "reshape to groups×n, transpose, flatten.",
                        "After a grouped convolution (ShuffleNet) so information crosses "
                        "groups.", "channel g·n + i → i·G + g",
                        "groups: must equal the preceding convolution's groups."),
    "Upsample": E("Enlarges the map by interpolation (nothing learned).",
                  "Decoders and feature pyramids; often followed by a convolution.",
                  "H_out = H·scale_factor (or size)",
                  "scale_factor or size; mode: nearest (blocky), bilinear/bicubic (smooth)."),
    "Identity": E("Passes its input through unchanged.",
                  "A placeholder, or a named point in the graph.", "y = x", "none."),
    "Add": E("Adds two or more inputs of the same shape element by element.",
             "Residual (skip) connections: the block learns a correction to its input, "
             "which makes deep networks trainable.", "y = x₁ + x₂ + …",
             "none; the inputs must have the same shape."),
    "Concat": E("Stacks inputs along the channel dimension.",
                "Inception modules, DenseNet, U-Net skips: keeps all the features.",
                "C_out = C₁ + C₂ + …; H and W must agree", "none."),
    "Mul": E("Multiplies inputs element by element, with broadcasting.",
             "Gating: squeeze-excitation multiplies a C×1×1 gate with a C×H×W map.",
             "y = x₁ · x₂", "none; shapes must broadcast."),
    "Split": E("Cuts the input into sections along the channels; one output per section.",
               "ShuffleNetV2 units, or sending channels to different branches.",
               "sections of split_size_or_sections channels",
               "split_size_or_sections: a section size, or a list of sizes."),
    "MaxUnpool2d": E("Puts each pooled value back where MaxPool2d found it and fills the "
                     "rest with zeros.",
                     "SegNet-style decoders, with the indices of the matching MaxPool2d "
                     "(return_indices on).",
                     "y[indices[i]] = x[i], 0 elsewhere",
                     "kernel_size, stride, padding: those of the MaxPool2d it undoes."),
}


def explanation_for(type_name: str) -> Explanation | None:
    if type_name in EXPLANATIONS:
        return EXPLANATIONS[type_name]
    from designer.core.explanations_nd import ND_EXPLANATIONS
    return ND_EXPLANATIONS.get(type_name)


def as_text(type_name: str) -> str:
    """Plain text for tooltips and Help."""
    e = explanation_for(type_name)
    if e is None:
        return ""
    return (f"{e.computes}\nWhen to use it: {e.use}\nFormula: {e.formula}\n"
            f"Parameters: {e.params}")
