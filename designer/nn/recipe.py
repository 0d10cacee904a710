"""Fast-training techniques, after Keller Jordan's airbench: weight averaging
(EMA / Lookahead), test-time augmentation, alternating flips, dirac and
patch-whitening initialisation and normalisation-layer settings.

Each is a TrainConfig option that is off by default; where one cannot apply
to a design it is skipped with a note (Started.notes) saying why.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import torch
from torch import nn

from designer.core.training_config import TrainConfig
from designer.nn.train_eval import EVAL_BATCH

# Training images the whitening is fitted on: airbench uses 5000; 1000 give
# a million 2x2 patches, plenty for a 12x12 covariance, in a fifth of the time.
WHITEN_IMAGES = 1000
WHITEN_EPS = 5e-4        # added to the patch covariance's eigenvalues
NORMS = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


# --- initialisation ------------------------------------------------------------
def input_conv(model: nn.Module) -> tuple[str, nn.Conv2d] | None:
    """(name, layer) of the Conv2d that alone reads the design's input, else None."""
    plan = getattr(model, "_plan", None)
    if not plan:
        return None
    readers = [name for name, sources, _, _ in plan
               if any(src == "input" for src, _ in sources)]
    if len(readers) != 1:
        return None
    layer = getattr(model, readers[0])
    return (readers[0], layer) if type(layer) is nn.Conv2d else None


def whiten_problem(conv: nn.Conv2d | None) -> str | None:
    """Why patch whitening cannot initialise `conv` (None: it can)."""
    if conv is None:
        return "the design does not start with a single Conv2d reading the input"
    kh, kw = conv.kernel_size
    d = conv.in_channels * kh * kw
    if conv.groups != 1:
        return "the first Conv2d is grouped"
    if conv.out_channels < d:
        return (f"the first Conv2d has {conv.out_channels} filters but its {kh}x{kw} patches "
                f"of {conv.in_channels} channels have {d} values: give it at least {d} "
                f"(airbench: kernel 2, {2 * d} filters)")
    return None


def patches(images: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """Every patch the conv sees (no padding), as rows of C*kh*kw values in the
    order of its weights. Tensor.unfold views: F.unfold took 40 s for 5000
    CIFAR images on a 2-core CPU, this takes a fraction of a second."""
    (kh, kw), (sh, sw), (dh, dw) = conv.kernel_size, conv.stride, conv.dilation
    x = images.float()
    x = x.unfold(2, (kh - 1) * dh + 1, sh)[..., ::dh]
    x = x.unfold(3, (kw - 1) * dw + 1, sw)[..., ::dw]      # N, C, H', W', kh, kw
    return x.permute(0, 2, 3, 1, 4, 5).reshape(-1, x.shape[1] * kh * kw)


def whiten_init(conv: nn.Conv2d, images: torch.Tensor) -> None:
    """Filters = the patch covariance's eigenvectors scaled by 1/sqrt(eigenvalue
    + eps), then the same negated (airbench keeps both signs for the GELU that
    follows); filters beyond 2x the patch size keep their initialisation.
    On the images it was fitted on, the first C*kh*kw output channels (without
    the bias) have a covariance close to the identity. Bias set to zero."""
    x = patches(images, conv)
    n = len(x)
    mean = x.mean(dim=0).double()
    cov = ((x.T @ x).double() - n * torch.outer(mean, mean)) / max(1, n - 1)
    values, vectors = torch.linalg.eigh(cov)
    order = values.argsort(descending=True)
    values, vectors = values[order], vectors[:, order]
    filters = (vectors / torch.sqrt(values.clamp(min=0) + WHITEN_EPS)).T   # d x d
    d = filters.shape[0]
    n = min(conv.out_channels, 2 * d)
    both = torch.cat([filters, -filters])[:n]
    with torch.no_grad():
        conv.weight[:n] = both.view(n, *conv.weight.shape[1:]).to(conv.weight.dtype)
        if conv.bias is not None:
            conv.bias.zero_()


def dirac_init(model: nn.Module, skip: nn.Module | None = None) -> list[str]:
    """The first min(in, out) filters of every ungrouped Conv2d (except `skip`)
    pass their input channel through at the kernel centre (torch dirac_); the
    rest keep their initialisation. Names of the grouped convs skipped."""
    skipped = []
    for name, m in model.named_modules():
        if type(m) is not nn.Conv2d or m is skip:
            continue
        if m.groups != 1:
            skipped.append(name)
            continue
        n = min(m.in_channels, m.out_channels)
        with torch.no_grad():
            nn.init.dirac_(m.weight[:n])
    return skipped


def configure_norms(model: nn.Module, config: TrainConfig) -> int:
    """BatchNorm momentum and frozen norm scales; the number of norm layers."""
    count = 0
    for m in model.modules():
        if not isinstance(m, NORMS):
            continue
        count += 1
        if config.bn_momentum is not None and isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = float(config.bn_momentum)
        weight = getattr(m, "weight", None)
        if config.freeze_norm_weights and isinstance(weight, nn.Parameter):
            weight.requires_grad_(False)
    return count


def prepare_model(model: nn.Module, config: TrainConfig, train_x: torch.Tensor,
                  normalise: Callable[[torch.Tensor], torch.Tensor], notes: list[str],
                  resumed: bool) -> nn.Conv2d | None:
    """Apply the initialisation and norm options before the optimizer is made;
    the whitened conv (its weights frozen), if any. On a resumed run the
    weights come from the checkpoint: only the freezing is redone."""
    norms = configure_norms(model, config)
    if not norms and (config.bn_momentum is not None or config.freeze_norm_weights
                      or config.norm_bias_lr_scale != 1.0):
        notes.append("the design has no normalisation layers: the norm settings do nothing")
    whitened = None
    if config.whiten_init:
        found = input_conv(model)
        problem = whiten_problem(found[1] if found else None)
        if problem is not None:
            notes.append(f"patch whitening not applied: {problem}")
        else:
            assert found is not None
            whitened = found[1]
            if not resumed:
                with torch.no_grad():
                    whiten_init(whitened, normalise(train_x[:WHITEN_IMAGES]).float())
            whitened.weight.requires_grad_(False)
            notes.append(f"first conv '{found[0]}' initialised by patch whitening "
                         f"({min(WHITEN_IMAGES, len(train_x))} images; weights frozen, bias "
                         f"trained for {config.whiten_bias_epochs:g} epochs)")
    if config.dirac_init and not resumed:
        skipped = dirac_init(model, whitened)
        if skipped:
            notes.append("dirac init skipped for grouped convolutions: " + ", ".join(skipped))
    return whitened


# --- augmentation ---------------------------------------------------------------
def flip_bits(n: int, seed: int) -> torch.Tensor:
    """Each training image's flip on the first epoch (random, seeded)."""
    gen = torch.Generator().manual_seed(int(seed) + 104729)
    return torch.rand(n, generator=gen) < 0.5


def alternate_flips(bits: torch.Tensor, idx: torch.Tensor, epoch: int) -> torch.Tensor:
    """Derandomised flips: image i is mirrored on epoch e (0-based) when its
    first-epoch bit XOR (e is odd): every image alternates, half each epoch."""
    chosen = bits.to(idx.device)[idx]
    return ~chosen if epoch % 2 else chosen


# --- weight averaging -----------------------------------------------------------
class WeightAverage:
    """EMA or Lookahead over the model's floating-point state (parameters and
    BatchNorm statistics). From `start` steps on, every `every` steps:
        average = decay * average + (1 - decay) * weights
    and for Lookahead the weights then jump to the average. The first update
    copies the weights. EMA evaluates with the average; at the end of training
    (finish) the model takes the average in both modes."""

    def __init__(self, model: nn.Module, mode: str, decay: float, every: int,
                 start: int) -> None:
        self.model, self.mode = model, mode
        self.decay, self.every, self.start = float(decay), max(1, int(every)), int(start)
        self.average: dict[str, torch.Tensor] | None = None

    def _state(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.model.state_dict().items() if v.is_floating_point()}

    def step(self, global_step: int) -> None:
        """Call after optimizer step number global_step (1-based)."""
        if global_step < self.start or (global_step - self.start) % self.every:
            return
        state = self._state()
        with torch.no_grad():
            if self.average is None:
                self.average = {k: v.detach().clone() for k, v in state.items()}
                return
            for k, v in state.items():
                self.average[k].lerp_(v.detach(), 1.0 - self.decay)
                if self.mode == "lookahead":
                    v.copy_(self.average[k])

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """The average in the model for an evaluation (EMA; Lookahead's weights
        already are what it evaluates)."""
        if self.mode != "ema" or self.average is None:
            yield
            return
        state = self._state()
        saved = {k: v.detach().clone() for k, v in state.items()}
        with torch.no_grad():
            for k, v in state.items():
                v.copy_(self.average[k])
        try:
            yield
        finally:
            with torch.no_grad():
                for k, v in state.items():
                    v.copy_(saved[k])

    def finish(self) -> None:
        if self.average is None:
            return
        with torch.no_grad():
            for k, v in self._state().items():
                v.copy_(self.average[k])

    def state_dict(self) -> dict[str, torch.Tensor] | None:
        return None if self.average is None else {
            k: v.detach().cpu().clone() for k, v in self.average.items()}

    def load_state_dict(self, average: Any) -> None:
        if isinstance(average, dict):
            state = self._state()
            self.average = {k: average[k].to(v.device, v.dtype).clone()
                            for k, v in state.items() if k in average}


# --- test-time augmentation ----------------------------------------------------
def tta_views(images: torch.Tensor, mode: str) -> list[torch.Tensor]:
    """uint8 views of a batch: itself; + its mirror; + both shifted one pixel
    up-left and down-right (reflect padding), each with its mirror."""
    views = [images]
    if mode in ("mirror", "mirror_translate"):
        views.append(images.flip(3))
    if mode == "mirror_translate":
        h, w = images.shape[2], images.shape[3]
        padded = nn.functional.pad(images.float(), (1, 1, 1, 1), mode="reflect").to(images.dtype)
        for dy, dx in ((0, 0), (2, 2)):
            shifted = padded[:, :, dy:dy + h, dx:dx + w]
            views += [shifted, shifted.flip(3)]
    return views


def tta_logits(model: nn.Module, images: torch.Tensor,
               prepare: Callable[[torch.Tensor], torch.Tensor], autocast: Callable[[], Any],
               mode: str, batch: int = EVAL_BATCH,
               should_stop: Callable[[], bool] | None = None) -> torch.Tensor:
    """float32 logits: the mean of the logits of the views (tta_views)."""
    from designer.nn.train_eval import predict_logits
    return predict_logits(model, images, prepare, autocast, batch, should_stop,
                          views=lambda chunk: tta_views(chunk, mode))
