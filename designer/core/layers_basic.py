"""Linear, reshape, normalisation, activation, regularisation, resampling and
merge layer types."""
from __future__ import annotations

from designer.core.catalogue import (RF, Ctx, LayerError, LayerType, Outcome, axis_names,
                                     describe_shape, fmt_shape, is_known, nearest_divisor,
                                     prod, rank_error, register, shape_layout, whole_rf)
from designer.core.layers_conv import check_inferred
from designer.core.params import (BOOL, CHOICE, FLOAT, INT, OPT_BOOL, OPT_FLOAT, OPT_INT,
                                  OPT_PAIR, REQUIRED, SHAPE, Fix, ParamSpec, ntuple, short)

BIAS = ParamSpec("bias", BOOL, True, "learn an additive bias per output")
MAX_SIDE = 2 ** 31  # no tensor side beyond this is usable (and h·scale must stay a float)
EPS = ParamSpec("eps", FLOAT, 1e-5, "small constant added to the variance",
                minimum=1e-12, maximum=1.0, advanced=True)


def _linear(ctx: Ctx) -> Outcome:
    s = ctx.shape
    if len(s) != 1:
        raise LayerError(f"Linear needs a flat vector but gets {describe_shape(s)}: "
                         f"insert a Flatten before it",
                         Fix("insert Flatten before this layer", insert_before="Flatten"))
    n_in, n_out = s[0], ctx.p["out_features"]
    check_inferred(ctx, "in_features", n_in)
    params = [("weight", n_in * n_out, f"{n_in}·{n_out} = {n_in * n_out}")]
    if ctx.p["bias"]:
        params.append(("bias", n_out, f"{n_out}"))
    total = sum(n for _, n, _ in params)
    formula = (f"params = ({n_in} + 1)·{n_out} = {total}" if ctx.p["bias"]
               else f"params = {n_in}·{n_out} = {total}")
    return Outcome(shape=(n_out,), params=params, macs=n_in * n_out, rf=whole_rf,
                   inferred={"in_features": n_in},
                   formulas=[formula, f"MACs = {n_in}·{n_out} = {n_in * n_out:,}"])


def _flatten(ctx: Ctx) -> Outcome:
    s = ctx.shape
    n = len(s)
    start, end = ctx.p["start_dim"], ctx.p["end_dim"]
    sd = start if start >= 0 else start + n + 1
    ed = end if end >= 0 else end + n + 1
    if sd < 1:
        raise LayerError("start_dim 0 would merge the batch into the features",
                         Fix("set start_dim = 1", {"start_dim": 1}))
    if not (sd <= ed <= n):
        raise LayerError(f"dimensions {start}..{end} do not exist in {describe_shape(s)}",
                         Fix("flatten everything (start_dim 1, end_dim -1)",
                             {"start_dim": 1, "end_dim": -1}))
    out = s[:sd - 1] + (prod(s[sd - 1:ed]),) + s[ed:]
    return Outcome(shape=out, rf=whole_rf,
                   formulas=[f"{fmt_shape(s)} → {fmt_shape(out)}", "params = 0"])


def _norm_params(c: int, affine: bool) -> list[tuple[str, int, str]]:
    return [("weight", c, f"{c}"), ("bias", c, f"{c}")] if affine else []


_NORM_FOR = {1: "1d", 2: "1d", 3: "2d", 4: "3d"}


def _norm_rank_check(ctx: Ctx, ranks: tuple[int, ...], stem: str) -> None:
    s = ctx.shape
    if len(s) in ranks:
        return
    want = {(3,): "a C×H×W feature map", (4,): "a C×D×H×W feature map",
            (2,): "a C×L signal"}.get(ranks, "a flat vector or a C×L tensor")
    other = f"{stem}{_NORM_FOR.get(len(s), '1d')}"
    if other == ctx.type_name or not is_known(other):
        raise LayerError(f"{ctx.type_name} needs {want} but gets {describe_shape(s)}")
    got = f" (this input is {len(s) - 1}-D, {shape_layout(s)})" if len(s) > 2 else ""
    raise LayerError(f"{ctx.type_name} needs {want} but gets {describe_shape(s)}{got}: "
                     f"use {other}")


def _batch_norm(ctx: Ctx, ranks: tuple[int, ...]) -> Outcome:
    _norm_rank_check(ctx, ranks, "BatchNorm")
    s = ctx.shape
    c = s[0]
    check_inferred(ctx, "num_features", c)
    affine = ctx.p["affine"]
    buffers = 2 * c + 1 if ctx.p["track_running_stats"] else 0
    formulas = [f"params = 2·{c} = {2 * c} (scale and shift)" if affine else "params = 0"]
    if buffers:
        formulas.append(f"buffers = 2·{c} + 1 = {buffers} (running mean/var, not trained)")
    return Outcome(shape=s, params=_norm_params(c, affine), buffers=buffers,
                   inferred={"num_features": c}, formulas=formulas)


def _instance_norm(ctx: Ctx, rank: int) -> Outcome:
    _norm_rank_check(ctx, (rank + 1,), "InstanceNorm")
    s = ctx.shape
    c = s[0]
    check_inferred(ctx, "num_features", c)
    if prod(s[1:]) == 1:
        raise LayerError(f"InstanceNorm{rank}d normalises each channel over its "
                         f"{shape_layout(s)[2:]} values, but the input {fmt_shape(s)} has one "
                         f"per channel (training fails): place it before the pooling")
    affine = ctx.p["affine"]
    buffers = 2 * c + 1 if ctx.p["track_running_stats"] else 0
    formulas = [f"params = 2·{c} = {2 * c} (scale and shift)" if affine else "params = 0"]
    if buffers:
        formulas.append(f"buffers = 2·{c} + 1 = {buffers} (running mean/var, not trained)")
    return Outcome(shape=s, params=_norm_params(c, affine), buffers=buffers,
                   inferred={"num_features": c}, formulas=formulas)


def _group_norm(ctx: Ctx) -> Outcome:
    s = ctx.shape
    c, g = s[0], ctx.p["num_groups"]
    check_inferred(ctx, "num_channels", c)
    if c % g:
        best = nearest_divisor(c, g)
        raise LayerError(f"num_groups={g} does not divide the {c} channels",
                         Fix(f"set num_groups = {best}", {"num_groups": best}))
    affine = ctx.p["affine"]
    return Outcome(shape=s, params=_norm_params(c, affine), inferred={"num_channels": c},
                   formulas=[f"params = 2·{c} = {2 * c}" if affine else "params = 0"])


def _layer_norm(ctx: Ctx) -> Outcome:
    s = ctx.shape
    given = ctx.p["normalized_shape"]
    norm = list(s) if given is None else ([given] if isinstance(given, int) else list(given))
    if len(norm) > len(s) or tuple(norm) != s[len(s) - len(norm):]:
        raise LayerError(f"normalized_shape {norm} must match the last dimensions of "
                         f"{describe_shape(s)}",
                         Fix("normalise the whole sample", {"normalized_shape": None}))
    n = prod(norm)
    params = []
    if ctx.p["elementwise_affine"]:
        params.append(("weight", n, f"{n}"))
        if ctx.p["bias"]:
            params.append(("bias", n, f"{n}"))
    total = sum(x for _, x, _ in params)
    inferred = {"normalized_shape": norm} if given is None else {}
    return Outcome(shape=s, params=params, inferred=inferred,
                   formulas=[f"normalised over {fmt_shape(tuple(norm))}", f"params = {total}"])


def _same(ctx: Ctx) -> Outcome:
    return Outcome(shape=ctx.shape)


def _dropout2d(ctx: Ctx) -> Outcome:
    out = Outcome(shape=ctx.shape)
    if len(ctx.shape) != 3:
        out.warnings.append(f"Dropout2d drops whole channels of a C×H×W map; on "
                            f"{describe_shape(ctx.shape)} use Dropout")
    return out


def _dropout_nd(rank: int):
    def rule(ctx: Ctx) -> Outcome:
        if len(ctx.shape) != rank + 1:
            raise rank_error(ctx.type_name, ctx.shape, rank)
        return Outcome(shape=ctx.shape)
    return rule


def _prelu(ctx: Ctx) -> Outcome:
    c, n = ctx.shape[0], ctx.p["num_parameters"]
    if n not in (1, c):
        raise LayerError(f"num_parameters {n} must be 1 or the {c} channels",
                         Fix(f"set num_parameters = {c}", {"num_parameters": c}))
    return Outcome(shape=ctx.shape, params=[("weight", n, f"{n}")],
                   formulas=[f"params = {n} (slope{'s' if n > 1 else ''})"])


def _softmax(ctx: Ctx) -> Outcome:
    dim, n = ctx.p["dim"], len(ctx.shape) + 1
    if dim is not None and not -n <= dim < n:
        raise LayerError(f"dim {dim} does not exist for {describe_shape(ctx.shape)}",
                         Fix("set dim = 1", {"dim": 1}))
    if dim in (0, -n):
        raise LayerError("dim 0 is the batch: softmax over it mixes samples",
                         Fix("set dim = 1", {"dim": 1}))
    out = Outcome(shape=ctx.shape)
    if dim is None:
        # PyTorch then picks dim 0 (the batch!) for C×L inputs and 1 otherwise
        out.warnings.append("no dim given: PyTorch guesses it"
                            + (" and here picks the batch (dim 0)" if len(ctx.shape) == 2
                               else "") + "; set dim = 1 for channels/features")
    return out


def _channel_shuffle(ctx: Ctx) -> Outcome:
    if len(ctx.shape) < 2:
        ctx.image()  # the flat-vector message
    c = ctx.shape[0]
    g = ctx.p["groups"]
    if c % g:
        best = nearest_divisor(c, g)
        raise LayerError(f"groups={g} does not divide the {c} channels",
                         Fix(f"set groups = {best}", {"groups": best}))
    return Outcome(shape=ctx.shape, formulas=[f"{c} channels as {g} groups of {c // g}, "
                                              f"interleaved"])


_INTERPOLATION_TAPS = {"nearest": 1, "nearest-exact": 1, "linear": 2, "bilinear": 2,
                       "bicubic": 4, "trilinear": 2}
_MODE_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_MODE_FOR = {1: "linear", 2: "bilinear", 3: "trilinear"}


def _upsample_rf(steps: tuple[float, ...], mode: str, align_corners: bool):
    """Output unit i samples the input at i·step (nearest, align_corners) or at
    (i + ½)·step − ½ (half-pixel modes) and reads `taps` neighbours there; the
    fields differ slightly from unit to unit, so this is their typical shape."""
    taps = _INTERPOLATION_TAPS[mode]
    half_pixel = mode != "nearest" and not align_corners

    def update(rf: RF) -> RF:
        size = tuple(r + (taps - 1) * j for r, j in zip(rf.size, rf.jump))
        jump = tuple(j * st for j, st in zip(rf.jump, steps))
        start = tuple(s0 + ((st / 2 - 0.5) * j if half_pixel else 0.0)
                      for s0, st, j in zip(rf.start, steps, rf.jump))
        return RF(size, jump, start, rf.whole)  # type: ignore[arg-type]
    return update


def _upsample(ctx: Ctx) -> Outcome:
    s = ctx.shape
    if len(s) < 2:
        ctx.image()  # the flat-vector message
    c, sizes = s[0], tuple(s[1:])
    rank = len(sizes)
    size, sf, mode = ctx.p["size"], ctx.p["scale_factor"], ctx.p["mode"]
    if (size is None) == (sf is None):
        raise LayerError("give either size or scale_factor (exactly one)",
                         Fix("use scale_factor 2", {"size": None, "scale_factor": 2}))
    if mode in _MODE_RANK and _MODE_RANK[mode] != rank:
        better = _MODE_FOR[rank]
        raise LayerError(f"mode \"{mode}\" is for {_MODE_RANK[mode]}-D maps, but this input "
                         f"is {rank}-D ({shape_layout(s)}): use \"{better}\"",
                         Fix(f"use mode \"{better}\"", {"mode": better}))
    interpolating = mode in _MODE_RANK
    if ctx.p["align_corners"] is not None and not interpolating:
        raise LayerError(f"align_corners only applies to linear/bilinear/bicubic/trilinear, "
                         f"not {mode}",
                         Fix("clear align_corners", {"align_corners": None}))
    in_text = "×".join(map(str, sizes))
    letters = axis_names(rank)
    if size is not None:
        if isinstance(size, list) and len(size) != rank:
            # (an empty list: twice the input's sizes)
            value = short([size[-1]] * rank if size else [2 * v for v in sizes])
            raise LayerError(f"size has {len(size)} values but the input has {rank} spatial "
                             f"axes ({shape_layout(s)})", Fix(f"set size = {value}",
                                                                {"size": value}))
        outs = ntuple(size, rank)
        scale = tuple(o / n for o, n in zip(outs, sizes))
    else:
        if max(sizes) * sf >= MAX_SIDE:
            raise LayerError(f"scale_factor {sf} makes the {in_text} input larger than "
                             f"{MAX_SIDE:,} pixels a side", Fix("use scale_factor 2",
                                                                 {"scale_factor": 2}))
        outs = tuple(int(n * sf) for n in sizes)
        scale = (sf,) * rank
        if min(outs) < 1:
            raise LayerError(f"scale_factor {sf} shrinks the {in_text} input to nothing",
                             Fix("use scale_factor 2", {"scale_factor": 2}))
    if ctx.p["align_corners"] and interpolating:
        steps = tuple((n - 1) / (o - 1) if o > 1 else 0.0 for n, o in zip(sizes, outs))
    else:
        steps = tuple(1 / x for x in scale)
    rf = _upsample_rf(steps, mode, bool(ctx.p["align_corners"]))  # type: ignore[arg-type]
    formulas = ([f"{a}_out = {o} (size)" for a, o in zip(letters, outs)] if size is not None
                else [f"{a}_out = ⌊{n}·{sf:g}⌋ = {o}" for a, n, o in zip(letters, sizes, outs)])
    return Outcome(shape=(c, *outs), rf=rf, formulas=formulas)


def _add(ctx: Ctx) -> Outcome:
    first = ctx.shapes[0]
    for s in ctx.shapes[1:]:
        if s != first:
            fix = None
            if len(s) == len(first) >= 2:
                ones = "×".join("1" * (len(s) - 1))
                hint = (f"use a {ones} Conv{len(s) - 1}d (with stride) on one path so the "
                        f"shapes agree")
            else:
                hint = "make both paths end with the same shape"
            raise LayerError(f"Add needs inputs of the same shape, but gets "
                             f"{fmt_shape(first)} and {fmt_shape(s)}: {hint}", fix)
    return Outcome(shape=first, formulas=[f"elementwise sum of {len(ctx.shapes)} inputs"])


def _concat(ctx: Ctx) -> Outcome:
    first = ctx.shapes[0]
    for s in ctx.shapes[1:]:
        if len(s) != len(first) or s[1:] != first[1:]:
            raise LayerError(f"Concat joins along channels, so the other dimensions must "
                             f"agree, but gets {fmt_shape(first)} and {fmt_shape(s)}")
    out = (sum(s[0] for s in ctx.shapes),) + first[1:]
    return Outcome(shape=out, formulas=[" + ".join(str(s[0]) for s in ctx.shapes)
                                        + f" = {out[0]} channels"])


def _act(name: str, help_text: str, *params: ParamSpec) -> None:
    register(LayerType(name, "Activation", help_text, tuple(params), _same))


register(LayerType(
    "Linear", "Linear", "fully connected: every output sees every input",
    (ParamSpec("in_features", INT, REQUIRED, "input size (inferred)", minimum=1, inferred=True),
     ParamSpec("out_features", INT, REQUIRED, "number of outputs", minimum=1,
               maximum=1 << 20, initial=10),
     BIAS), _linear, ranks=(1,)))
register(LayerType(
    "Flatten", "Reshape", "turns a C×H×W map into a flat vector for Linear layers",
    (ParamSpec("start_dim", INT, 1, "first dimension to flatten (1: channels)", minimum=1,
               maximum=4, advanced=True),
     ParamSpec("end_dim", INT, -1, "last dimension to flatten (-1: the last)", minimum=-5,
               maximum=4, advanced=True)), _flatten))
_BN_STATS = (EPS, ParamSpec("momentum", OPT_FLOAT, 0.1, "running-statistics update rate "
                            "(empty: cumulative average)", minimum=0.0, maximum=1.0,
                            advanced=True),
             ParamSpec("affine", BOOL, True, "learn a scale and shift per channel"),
             ParamSpec("track_running_stats", BOOL, True,
                       "keep running mean/variance for evaluation", advanced=True))
_NUM_FEATURES = ParamSpec("num_features", INT, REQUIRED, "channels (inferred)", minimum=1,
                          inferred=True)
register(LayerType("BatchNorm2d", "Normalization",
                   "normalises each channel over the batch, then scales and shifts",
                   (_NUM_FEATURES,) + _BN_STATS, lambda ctx: _batch_norm(ctx, (3,)),
                   ranks=(3,)))
register(LayerType("BatchNorm1d", "Normalization",
                   "batch normalisation for flat vectors (after Linear) and C×L signals",
                   (_NUM_FEATURES,) + _BN_STATS, lambda ctx: _batch_norm(ctx, (1, 2)),
                   ranks=(1, 2)))
register(LayerType("BatchNorm3d", "Normalization",
                   "normalises each channel of a C×D×H×W volume over the batch, then "
                   "scales and shifts", (_NUM_FEATURES,) + _BN_STATS,
                   lambda ctx: _batch_norm(ctx, (4,)), ranks=(4,)))
_IN_STATS = (EPS, ParamSpec("momentum", OPT_FLOAT, 0.1, "running-statistics update rate "
                            "(empty: cumulative average)", minimum=0.0, maximum=1.0,
                            advanced=True),
             ParamSpec("affine", BOOL, False, "learn a scale and shift per channel"),
             ParamSpec("track_running_stats", BOOL, False,
                       "keep running mean/variance for evaluation", advanced=True))
for _rank, _what in ((1, "signal"), (2, "feature map"), (3, "volume")):
    register(LayerType(f"InstanceNorm{_rank}d", "Normalization",
                       f"normalises each channel of each sample's {_what} on its own "
                       f"(style transfer, small batches)", (_NUM_FEATURES,) + _IN_STATS,
                       (lambda r: lambda ctx: _instance_norm(ctx, r))(_rank),
                       ranks=(_rank + 1,)))
register(LayerType(
    "GroupNorm", "Normalization", "normalises groups of channels per sample (batch-size free)",
    (ParamSpec("num_groups", INT, REQUIRED, "number of channel groups", minimum=1,
               maximum=65536, initial=4),
     ParamSpec("num_channels", INT, REQUIRED, "channels (inferred)", minimum=1, inferred=True),
     EPS, ParamSpec("affine", BOOL, True, "learn a scale and shift per channel")),
    _group_norm))
register(LayerType(
    "LayerNorm", "Normalization", "normalises each sample over its last dimensions",
    (ParamSpec("normalized_shape", SHAPE, None, "dimensions to normalise over "
               "(empty: the whole sample)", advanced=True),
     EPS, ParamSpec("elementwise_affine", BOOL, True, "learn a scale (and shift) per element"),
     BIAS), _layer_norm))
register(LayerType("Dropout", "Regularization",
                   "randomly zeroes activations while training",
                   (ParamSpec("p", FLOAT, 0.5, "probability of zeroing", minimum=0.0,
                              maximum=1.0),), _same))
register(LayerType("Dropout2d", "Regularization",
                   "randomly zeroes whole channels while training",
                   (ParamSpec("p", FLOAT, 0.5, "probability of zeroing a channel",
                              minimum=0.0, maximum=1.0),), _dropout2d, ranks=(3,)))
register(LayerType("Dropout1d", "Regularization",
                   "randomly zeroes whole channels of a C×L signal while training",
                   (ParamSpec("p", FLOAT, 0.5, "probability of zeroing a channel",
                              minimum=0.0, maximum=1.0),), _dropout_nd(1), ranks=(2,)))
register(LayerType("Dropout3d", "Regularization",
                   "randomly zeroes whole channels of a C×D×H×W volume while training",
                   (ParamSpec("p", FLOAT, 0.5, "probability of zeroing a channel",
                              minimum=0.0, maximum=1.0),), _dropout_nd(3), ranks=(4,)))
_act("ReLU", "max(0, x)")
_act("LeakyReLU", "x, or a small slope for x < 0",
     ParamSpec("negative_slope", FLOAT, 0.01, "slope for x < 0", minimum=0.0, maximum=1.0))
_act("GELU", "Gaussian error linear unit (smooth ReLU)",
     ParamSpec("approximate", CHOICE, "none", "tanh approximation", choices=("none", "tanh")))
_act("SiLU", "x·sigmoid(x) (swish)")
_act("ELU", "exponential linear unit",
     ParamSpec("alpha", FLOAT, 1.0, "saturation value for x < 0", minimum=0.0, maximum=100.0))
_act("ReLU6", "min(max(0, x), 6) (MobileNet)")
_act("Hardswish", "x·ReLU6(x + 3)/6: a cheap swish (MobileNetV3)")
_act("Hardsigmoid", "ReLU6(x + 3)/6: a cheap sigmoid (MobileNetV3 gates)")
_act("Mish", "x·tanh(softplus(x))")
register(LayerType("PReLU", "Activation", "x, or a learned slope a·x for x < 0",
                   (ParamSpec("num_parameters", INT, 1, "learned slopes: 1 (shared) or one "
                              "per channel", minimum=1, maximum=65536),
                    ParamSpec("init", FLOAT, 0.25, "initial slope", minimum=-100.0,
                              maximum=100.0)), _prelu))
_act("Sigmoid", "1 / (1 + e^−x)")
_act("Tanh", "hyperbolic tangent")
register(LayerType("Softmax", "Activation", "turns scores into probabilities",
                   (ParamSpec("dim", OPT_INT, None, "dimension that sums to 1 (1: channels/"
                              "features)", minimum=-5, maximum=4, initial=1),), _softmax))
register(LayerType("ChannelShuffle", "Reshape",
                   "interleaves channels across groups (ShuffleNet)",
                   (ParamSpec("groups", INT, REQUIRED, "number of channel groups", minimum=1,
                              maximum=65536, initial=2),), _channel_shuffle,
                   ranks=(2, 3, 4)))
register(LayerType(
    "Upsample", "Reshape", "enlarges the feature map by interpolation",
    (ParamSpec("size", OPT_PAIR, None, "output size [h, w] ([l] for a signal, [d, h, w] "
               "for a volume; or give scale_factor)", minimum=1, maximum=4096, rank=0),
     ParamSpec("scale_factor", OPT_FLOAT, None, "multiplier for every spatial size",
               minimum=0.01, maximum=64.0, initial=2.0),
     ParamSpec("mode", CHOICE, "nearest", "interpolation (linear: signals, bilinear/bicubic: "
               "images, trilinear: volumes)",
               choices=("nearest", "nearest-exact", "bilinear", "bicubic", "linear",
                        "trilinear")),
     ParamSpec("align_corners", OPT_BOOL, None, "linear/bilinear/bicubic/trilinear: align "
               "corner pixels", advanced=True)), _upsample, ranks=(2, 3, 4)))
register(LayerType("Identity", "Reshape", "passes its input through unchanged", (), _same))
register(LayerType("Add", "Merge", "elementwise sum of two or more inputs (residual skip)",
                   (), _add, min_inputs=2, max_inputs=0, torch_module=False))
register(LayerType("Concat", "Merge", "joins two or more inputs along the channels",
                   (), _concat, min_inputs=2, max_inputs=0, torch_module=False))
