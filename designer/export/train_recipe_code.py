"""The fast-training techniques of the exported train.py, as source text that
train_template.py's $RECIPE_CODE slot receives. They mirror designer/nn/recipe.py
and train_setup.param_groups (the app's engine); tests check both agree."""

RECIPE_CODE = '''\
NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)
WHITEN_IMAGES = 1000
WHITEN_EPS = 5e-4


def param_groups(net, s):
    """Weight decay on weights of 2+ dimensions (decay_all: on all); norm-layer
    biases at norm_bias_lr_scale x the lr; decoupled_decay: decay / peak lr."""
    norm_biases = {id(m.bias) for m in net.modules()
                   if isinstance(m, NORM_TYPES)
                   and getattr(m, "bias", None) is not None}
    params = [p for p in net.parameters() if p.requires_grad]
    scale = float(s["norm_bias_lr_scale"])
    every = s["decay_all"]
    specs = [([p for p in params if p.dim() > 1], 1.0, True),
             ([p for p in params
               if p.dim() <= 1 and id(p) not in norm_biases], 1.0, every),
             ([p for p in params if id(p) in norm_biases], scale, every)]
    if scale == 1.0:  # one group for every 1-D parameter
        specs = [specs[0], (specs[1][0] + specs[2][0], 1.0, every)]
    groups = []
    for group, lr_scale, decays in specs:
        if group:
            wd = float(s["weight_decay"]) if decays else 0.0
            if wd and s["decoupled_decay"]:
                wd /= float(s["lr"]) * lr_scale
            groups.append({"params": group, "lr": s["lr"] * lr_scale,
                           "weight_decay": wd})
    return groups


def configure_norms(net, s):
    for m in net.modules():
        if not isinstance(m, NORM_TYPES):
            continue
        if s["bn_momentum"] is not None and isinstance(
                m, nn.modules.batchnorm._BatchNorm):
            m.momentum = float(s["bn_momentum"])
        weight = getattr(m, "weight", None)
        if s["freeze_norm_weights"] and isinstance(weight, nn.Parameter):
            weight.requires_grad_(False)


def whiten_problem(conv):
    if not isinstance(conv, nn.Conv2d):
        return "the model does not start with a single Conv2d"
    kh, kw = conv.kernel_size
    d = conv.in_channels * kh * kw
    if conv.groups != 1:
        return "the first Conv2d is grouped"
    if conv.out_channels < d:
        return f"the first Conv2d needs at least {d} filters"
    return None


def patches(images, conv):
    (kh, kw), (sh, sw), (dh, dw) = conv.kernel_size, conv.stride, conv.dilation
    x = images.float()
    x = x.unfold(2, (kh - 1) * dh + 1, sh)[..., ::dh]
    x = x.unfold(3, (kw - 1) * dw + 1, sw)[..., ::dw]
    return x.permute(0, 2, 3, 1, 4, 5).reshape(-1, x.shape[1] * kh * kw)


@torch.no_grad()
def whiten_init(conv, images):
    """Filters: the patch covariance's eigenvectors / sqrt(eigenvalue + eps),
    then the same negated; the bias zero."""
    x = patches(images, conv)
    n = len(x)
    mean = x.mean(dim=0).double()
    cov = ((x.T @ x).double() - n * torch.outer(mean, mean)) / max(1, n - 1)
    values, vectors = torch.linalg.eigh(cov)
    order = values.argsort(descending=True)
    values, vectors = values[order], vectors[:, order]
    filters = (vectors / torch.sqrt(values.clamp(min=0) + WHITEN_EPS)).T
    k = min(conv.out_channels, 2 * filters.shape[0])
    both = torch.cat([filters, -filters])[:k]
    both = both.view(k, *conv.weight.shape[1:])
    conv.weight[:k] = both.to(conv.weight.dtype)
    if conv.bias is not None:
        conv.bias.zero_()


@torch.no_grad()
def dirac_init(net, skip=None):
    for m in net.modules():
        if type(m) is nn.Conv2d and m is not skip and m.groups == 1:
            nn.init.dirac_(m.weight[:min(m.in_channels, m.out_channels)])


def flip_bits(n, seed):
    gen = torch.Generator().manual_seed(int(seed) + 104729)
    return torch.rand(n, generator=gen) < 0.5


class WeightAverage:
    """EMA or Lookahead of the floating-point state, every `every` steps from
    step `start`: average = decay * average + (1 - decay) * weights."""

    def __init__(self, net, mode, decay, every, start):
        self.net, self.mode, self.decay = net, mode, float(decay)
        self.every, self.start = max(1, int(every)), int(start)
        self.average = None

    def state(self):
        return {k: v for k, v in self.net.state_dict().items()
                if v.is_floating_point()}

    @torch.no_grad()
    def step(self, step):
        if step < self.start or (step - self.start) % self.every:
            return
        state = self.state()
        if self.average is None:
            self.average = {k: v.detach().clone() for k, v in state.items()}
            return
        for k, v in state.items():
            self.average[k].lerp_(v.detach(), 1.0 - self.decay)
            if self.mode == "lookahead":
                v.copy_(self.average[k])

    @torch.no_grad()
    def swap(self):
        """Exchange the weights and the average (twice: back as they were)."""
        if self.average is None:
            return
        for k, v in self.state().items():
            kept = v.detach().clone()
            v.copy_(self.average[k])
            self.average[k] = kept

    @torch.no_grad()
    def finish(self):
        if self.average is not None:
            for k, v in self.state().items():
                v.copy_(self.average[k])


def tta_views(images, mode):
    """uint8 views: the batch; + mirror; + shifted 1 pixel up-left and
    down-right (reflect padding), each with its mirror."""
    views = [images]
    if mode in ("mirror", "mirror_translate"):
        views.append(images.flip(3))
    if mode == "mirror_translate":
        h, w = images.shape[2], images.shape[3]
        padded = F.pad(images.float(), (1, 1, 1, 1), mode="reflect")
        padded = padded.to(images.dtype)
        for dy, dx in ((0, 0), (2, 2)):
            shifted = padded[:, :, dy:dy + h, dx:dx + w]
            views += [shifted, shifted.flip(3)]
    return views
'''
