"""The body of the exported train.py (a string.Template; `$` marks the slots).

Kept as text so that designer.export never imports torch. The slots are
filled by train_script.py with identifiers and repr'd literals only.
"""

TEMPLATE = '''\
"""Train a model exported from CNN Designer on CIFAR-10.

The model: class $CLASS from $MODULE.py.

Needs PyTorch, numpy and the CIFAR-10 python folder "cifar-10-batches-py"
(https://www.cs.toronto.edu/~kriz/cifar.html); no torchvision. The data
files are unpickled with a loader that only accepts numpy arrays.

    python train.py --data-dir DATA                 # one process
    torchrun --nproc_per_node=2 train.py --data-dir DATA

With torchrun every process trains on its own share of each batch
(DistributedDataParallel; gloo on CPU, nccl on CUDA); --batch-size is the
total over all processes. A design whose input is not 2-D (1-D signals,
3-D clips or volumes) trains on synthetic data of its input shape made
here (SYNTHETIC below), since CIFAR-10 is 2-D; --data-dir is then unused.
The checkpoint (--out) holds the design, the
weights, the settings and the metrics, and opens in CNN Designer.
"""
$HEADER
import argparse
import gc
import json
import math
import os
import pickle
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from $MODULE import INPUT_SHAPE, $CLASS

# The design this script trains, as CNN Designer's file format (JSON text).
DESIGN_JSON = $DESIGN_JSON
# Training settings exported from the app (command-line options override).
SETTINGS = $SETTINGS
# The layer patch whitening initialises (whiten_init), if the design has one.
WHITEN_LAYER = $WHITEN_LAYER
# None: CIFAR-10. A design that is not 2-D trains on synthetic data of its
# input shape instead (CIFAR-10 is 2-D): {"classes", "train", "test", "label"}.
SYNTHETIC = $SYNTHETIC
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)
CHECKPOINT_FORMAT = "cnn-designer-checkpoint"
CHECKPOINT_VERSION = 1
APP_VERSION = $APP_VERSION


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles the CIFAR batches (dicts of numpy arrays) and nothing else."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} "
                                         f"in a CIFAR-10 file")
        return super().find_class(module, name)


def find_cifar(data_dir):
    root = Path(data_dir).expanduser()
    for folder in (root, root / "cifar-10-batches-py"):
        names = ("data_batch_1", "test_batch")
        if all((folder / name).is_file() for name in names):
            return folder
    raise SystemExit(f"error: no CIFAR-10 python folder in {root} (expected "
                     f"cifar-10-batches-py/data_batch_1..5 and test_batch)")


def damaged(path, reason):
    return SystemExit(f"error: {path} is damaged ({reason}); delete the "
                      f"CIFAR-10 folder and download it again")


def read_batch(path):
    if not path.is_file():
        raise SystemExit(f"error: {path} is missing; delete the CIFAR-10 "
                         f"folder and download it again")
    try:
        with open(path, "rb") as f:
            entry = _ArrayUnpickler(f, encoding="bytes").load()
    except OSError as e:
        raise SystemExit(f"error: cannot read {path}: {e.strerror or e}")
    except Exception as e:  # empty, truncated or foreign files
        raise damaged(path, f"{type(e).__name__}: {e}".rstrip(": "))
    if not isinstance(entry, dict):
        raise damaged(path, "no dictionary inside")
    data = entry.get(b"data", entry.get("data"))
    labels = entry.get(b"labels", entry.get("labels"))
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8
            and data.ndim == 2 and data.shape[1] == 3072):
        raise damaged(path, "its images are not an N x 3072 uint8 array")
    try:
        labels = torch.tensor(list(labels), dtype=torch.long)
    except (TypeError, ValueError, RuntimeError, OverflowError):
        raise damaged(path, "its labels are not whole numbers")
    if len(labels) != len(data) or (len(labels) and (
            int(labels.min()) < 0 or int(labels.max()) > 9)):
        raise damaged(path, "its labels do not match its images")
    images = torch.from_numpy(data.reshape(-1, 3, 32, 32).copy())
    return images, labels


def load_cifar(data_dir, train_limit=None, test_limit=None):
    """uint8 images N x 3 x 32 x 32 and int64 labels, held in memory."""
    folder = find_cifar(data_dir)
    parts = [read_batch(folder / f"data_batch_{n}") for n in range(1, 6)]
    train_x = torch.cat([p[0] for p in parts])
    train_y = torch.cat([p[1] for p in parts])
    test_x, test_y = read_batch(folder / "test_batch")
    if train_limit:
        train_x, train_y = train_x[:train_limit], train_y[:train_limit]
    if test_limit:
        test_x, test_y = test_x[:test_limit], test_y[:test_limit]
    return train_x, train_y, test_x, test_y


${SYNTHETIC_SOURCE}def load_data(data_dir, train_limit=None, test_limit=None):
    """CIFAR-10, or SYNTHETIC data of the model's input shape."""
    if SYNTHETIC is None:
        return load_cifar(data_dir, train_limit, test_limit)
    seed, shape = SETTINGS["seed"], tuple(INPUT_SHAPE)
    classes = SYNTHETIC["classes"]
    train = generate(shape, train_limit or SYNTHETIC["train"], classes,
                     seed * 2 + 1)
    test = generate(shape, test_limit or SYNTHETIC["test"], classes,
                    seed * 2 + 2)
    return train[0], train[1], test[0], test[1]


def channel_stats(images):
    """Per-channel mean and std (0..1 units) of uint8 samples."""
    x = images[:2000].double() / 255.0
    dims = (0,) + tuple(range(2, x.dim()))
    return x.mean(dim=dims).float(), x.std(dim=dims).clamp_min(1e-3).float()


def normalise(images, mean, std):
    return (images.float() / 255.0 - mean) / std


def augment(images, crop, flip, pad=4, fill="zero", mirror=None):
    """Random translation by up to pad pixels (zero or reflect padding) and
    horizontal flip (random, or where mirror says) of uint8 images."""
    n, c, h, w = images.shape
    dev = images.device
    if crop and pad > 0:
        if fill == "reflect":
            padded = F.pad(images.float(), (pad,) * 4, mode="reflect")
            padded = padded.to(images.dtype)
        else:
            padded = F.pad(images, (pad, pad, pad, pad))
        dy = torch.randint(0, 2 * pad + 1, (n, 1, 1, 1), device=dev)
        dx = torch.randint(0, 2 * pad + 1, (n, 1, 1, 1), device=dev)
        rows = torch.arange(h, device=dev).view(1, 1, h, 1) + dy
        cols = torch.arange(w, device=dev).view(1, 1, 1, w) + dx
        batch = torch.arange(n, device=dev).view(n, 1, 1, 1)
        chans = torch.arange(c, device=dev).view(1, c, 1, 1)
        images = padded[batch, chans, rows, cols]
    if flip:
        if mirror is None:
            mirror = torch.rand(n, device=dev) < 0.5
        mirror = mirror.to(dev).view(n, 1, 1, 1)
        images = torch.where(mirror, images.flip(3), images)
    return images


def cutout(x, size):
    """Zero a random size x size square per image (on normalised input)."""
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n, 1, 1), device=x.device)
    cx = torch.randint(0, w, (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = ((ys - cy).abs() <= size // 2) & ((xs - cx).abs() <= size // 2)
    return x * (~inside)[:, None].to(x.dtype)


$RECIPE_CODE

def lr_factor(step, total, warmup, schedule, start=0.2, end=0.07):
    """Multiplier of the peak learning rate at a step (0-based)."""
    if schedule == "triangular":
        peak = warmup or max(1, int(0.23 * total))
        if step < peak:
            return start + (1.0 - start) * step / peak
        down = (step - peak) / max(1, total - 1 - peak)
        return 1.0 + (end - 1.0) * min(1.0, down)
    if schedule == "onecycle":
        if step < warmup:
            return 0.04 + 0.96 * step / warmup
        t = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * t)) * (1 - 4e-6) + 4e-6
    if step < warmup:
        return (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * t))
    if schedule == "step":
        return 0.1 ** (int(t >= 0.5) + int(t >= 0.75))
    return 1.0


def make_optimizer(net, settings):
    """As the app: parameter groups from param_groups."""
    name = settings["optimizer"]
    groups = param_groups(net, settings)
    if name == "adam":
        return torch.optim.Adam(groups, lr=settings["lr"])
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=settings["lr"])
    momentum = settings["momentum"]
    return torch.optim.SGD(groups, lr=settings["lr"], momentum=momentum,
                           nesterov=settings["nesterov"] and momentum > 0)


def pick_device(name, local_rank):
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    if name == "cuda":
        count = max(1, torch.cuda.device_count())
        return torch.device("cuda", local_rank % count)
    return torch.device(name)


def autocast_dtype(device, precision):
    if device.type != "cuda" or precision == "fp32":
        return None
    if precision == "fp16":
        return torch.float16
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=SETTINGS["data_dir"] or "data",
                        help="folder holding cifar-10-batches-py")
    parser.add_argument("--epochs", type=int, default=SETTINGS["epochs"])
    parser.add_argument("--batch-size", type=int,
                        default=SETTINGS["batch_size"],
                        help="total over all processes")
    parser.add_argument("--lr", type=float, default=SETTINGS["lr"],
                        help="peak learning rate")
    parser.add_argument("--out", default="checkpoint.pt",
                        help="checkpoint file written at the end")
    parser.add_argument("--limit", type=int, default=SETTINGS["train_limit"],
                        help="use only the first N training images")
    parser.add_argument("--test-limit", type=int,
                        default=SETTINGS["test_limit"],
                        help="use only the first N test images")
    parser.add_argument("--device", default=SETTINGS["device"],
                        choices=["auto", "cpu", "cuda", "mps"])
    args = parser.parse_args()
    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0:
        parser.error("--epochs and --batch-size must be >= 1 and --lr > 0")
    return args


class Trainer:
    def __init__(self, args):
        self.args = args
        self.settings = dict(
            SETTINGS, epochs=args.epochs, batch_size=args.batch_size,
            lr=args.lr, train_limit=args.limit, test_limit=args.test_limit,
            device=args.device, data_dir=str(args.data_dir),
        )
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.device = pick_device(args.device, self.local_rank)
        if self.world > 1:
            if self.device.type == "cuda":
                torch.cuda.set_device(self.device)
            backend = "nccl" if self.device.type == "cuda" else "gloo"
            dist.init_process_group(backend)
        if SYNTHETIC is None and tuple(INPUT_SHAPE) != (3, 32, 32):
            shape = "x".join(map(str, INPUT_SHAPE))
            raise SystemExit(f"error: CIFAR-10 images are 3x32x32 but the "
                             f"model takes {shape}: change the design's input")
        torch.manual_seed(self.settings["seed"])
        self.net = $CLASS()
        with torch.no_grad():
            probe = self.net.eval()(torch.zeros(2, *INPUT_SHAPE))
        self.classes = SYNTHETIC["classes"] if SYNTHETIC else 10
        if tuple(probe.shape[1:]) != (self.classes,):
            got = tuple(probe.shape[1:])
            what = SYNTHETIC["label"] if SYNTHETIC else "CIFAR-10"
            raise SystemExit(f"error: the model outputs {got} per image; "
                             f"{what} needs {self.classes} class scores "
                             f"(end with Linear(out_features={self.classes}))")
        self.net.to(self.device)
        self.model = self.net
        self.whitened = None
        self.average = None
        torch.manual_seed(self.settings["seed"] * 1000 + self.rank + 1)
        self.mean = torch.tensor(CIFAR_MEAN, device=self.device)
        self.mean = self.mean.view(1, 3, 1, 1)
        self.std = torch.tensor(CIFAR_STD, device=self.device).view(1, 3, 1, 1)
        self.amp = autocast_dtype(self.device, self.settings["precision"])
        self.scaler = torch.amp.GradScaler(enabled=self.amp == torch.float16)

    def log(self, *parts):
        if self.rank == 0:
            print(*parts, flush=True)

    def shard(self, n, epoch):
        """This process's share of a shuffled epoch (equal for all)."""
        gen = torch.Generator().manual_seed(self.settings["seed"] + epoch)
        order = torch.randperm(n, generator=gen)
        per_rank = n // self.world
        return order[self.rank * per_rank:(self.rank + 1) * per_rank]

    def run(self):
        s = self.settings
        train_x, train_y, test_x, test_y = load_data(
            self.args.data_dir, s["train_limit"], s["test_limit"])
        if SYNTHETIC is not None:
            self.log(f"data: {SYNTHETIC['label']} (CIFAR-10 is 2-D)")
            mean, std = channel_stats(train_x)
            view = (1, -1) + (1,) * (train_x.dim() - 2)
            self.mean = mean.to(self.device).view(view)
            self.std = std.to(self.device).view(view)
        if len(train_x) < self.world:
            raise SystemExit("error: fewer training images than processes")
        train_x, train_y = train_x.to(self.device), train_y.to(self.device)
        test_x, test_y = test_x.to(self.device), test_y.to(self.device)
        batch = max(1, s["batch_size"] // self.world)
        per_rank = len(train_x) // self.world
        steps = max(1, per_rank // batch)
        total = steps * s["epochs"]
        # Short runs: warm up for at most half of the steps.
        warmup = min(total // 2, round(s["warmup_epochs"] * steps))
        self.prepare(train_x, steps)
        optimizer = make_optimizer(self.net, s)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: lr_factor(step, total, warmup, s["schedule"],
                                   s["lr_start_factor"], s["lr_end_factor"]),
        )
        n_params = sum(p.numel() for p in self.net.parameters())
        self.log(f"$CLASS: {n_params:,} parameters; "
                 f"{len(train_x):,} training and {len(test_x):,} test images; "
                 f"epochs: {s['epochs']} of {steps} steps; "
                 f"device: {self.device}; processes: {self.world}")
        history = []
        for epoch in range(1, s["epochs"] + 1):
            start = time.perf_counter()
            train_loss, train_acc = self.train_epoch(
                epoch, steps, batch, train_x, train_y, optimizer, scheduler)
            test_loss, test_acc = self.evaluate(test_x, test_y, batch,
                                                averaged=True)
            seconds = time.perf_counter() - start
            history.append({
                "epoch": epoch, "seconds": seconds,
                "train_loss": train_loss, "train_acc": train_acc,
                "test_loss": test_loss, "test_acc": test_acc,
            })
            speed = steps * batch * self.world / seconds
            self.log(f"epoch {epoch}/{s['epochs']}  "
                     f"train loss {train_loss:.4f} acc {train_acc:.2%}  "
                     f"test loss {test_loss:.4f} acc {test_acc:.2%}  "
                     f"{seconds:.1f} s ({speed:,.0f} img/s)")
        if self.average is not None:
            self.average.finish()
        if s["tta"] != "off":
            test_loss, test_acc = self.evaluate(test_x, test_y, batch,
                                                s["tta"])
            history[-1].update(test_loss=test_loss, test_acc=test_acc,
                               tta=s["tta"])
            self.log(f"test accuracy with TTA {s['tta']}: {test_acc:.2%}")
        if self.rank == 0:
            self.save(history)
        if self.world > 1:
            dist.barrier()
            # Drop the DDP wrapper (its reducer holds the process group) before
            # destroying the group: otherwise gloo threads can outlive it and
            # abort the process at exit.
            self.model = self.net
            gc.collect()
            dist.destroy_process_group()

    def prepare(self, train_x, steps):
        """Norm settings, whitening and dirac init (the same on every process),
        weight averaging; then the DDP wrapper."""
        s = self.settings
        configure_norms(self.net, s)
        if s["whiten_init"]:
            conv = getattr(self.net, WHITEN_LAYER) if WHITEN_LAYER else None
            problem = whiten_problem(conv)
            if problem:
                self.log(f"note: patch whitening not applied: {problem}")
            else:
                images = train_x[:WHITEN_IMAGES]
                images = normalise(images, self.mean, self.std)
                whiten_init(conv, images)
                conv.weight.requires_grad_(False)
                self.whitened = conv
        if s["dirac_init"]:
            dirac_init(self.net, self.whitened)
        if s["averaging"] != "off":
            self.average = WeightAverage(
                self.net, s["averaging"], s["average_decay"],
                s["average_every"], round(s["average_start_epoch"] * steps))
        self.flips = flip_bits(len(train_x), s["seed"]).to(self.device)
        self.steps_done = 0
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            # the whitened bias stops training part-way: DDP must allow that
            self.model = nn.parallel.DistributedDataParallel(
                self.net, device_ids=ids,
                find_unused_parameters=self.whitened is not None)

    def train_epoch(self, epoch, steps, batch, train_x, train_y, optimizer,
                    scheduler):
        s = self.settings
        self.model.train()
        order = self.shard(len(train_x), epoch).to(self.device)
        sums = torch.zeros(3, device=self.device)
        every = max(1, steps // 10)
        for step in range(steps):
            bias = self.whitened.bias if self.whitened is not None else None
            done = self.steps_done >= s["whiten_bias_epochs"] * steps
            if bias is not None and bias.requires_grad and done:
                bias.requires_grad_(False)
                bias.grad = None
            idx = order[step * batch:(step + 1) * batch]
            images = train_x[idx]
            if images.dim() == 4:  # crop, flip and cutout: 2-D images only
                mirror = None
                if s["flip_alternate"]:
                    mirror = self.flips[idx] ^ ((epoch - 1) % 2 == 1)
                images = augment(images, s["augment_crop"],
                                 s["augment_flip"], s["crop_pad"],
                                 s["crop_fill"], mirror)
            x = normalise(images, self.mean, self.std)
            if s["cutout"] > 0 and x.dim() == 4:
                x = cutout(x, s["cutout"])
            y = train_y[idx]
            with torch.autocast(self.device.type, dtype=self.amp,
                                enabled=self.amp is not None):
                out = self.model(x)
                loss = F.cross_entropy(out.float() * s["logit_scale"], y,
                                       label_smoothing=s["label_smoothing"])
            optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(optimizer)
            self.scaler.update()
            scheduler.step()
            self.steps_done += 1
            if self.average is not None:
                self.average.step(self.steps_done)
            sums += self.counts(loss.detach() * len(y), out, y)
            if (step + 1) % every == 0 or step + 1 == steps:
                lr = scheduler.get_last_lr()[0]
                self.log(f"  epoch {epoch} step {step + 1}/{steps}  "
                         f"loss {loss.item():.4f}  lr {lr:.5f}")
        return self.reduce(sums)

    @torch.no_grad()
    def evaluate(self, test_x, test_y, batch, tta="off", averaged=False):
        """Loss and accuracy; the logits are the mean over the TTA views;
        averaged: with the averaged weights (EMA/Lookahead)."""
        if averaged and self.average is not None:
            self.average.swap()
        try:
            return self._evaluate(test_x, test_y, batch, tta)
        finally:
            if averaged and self.average is not None:
                self.average.swap()

    def _evaluate(self, test_x, test_y, batch, tta):
        was_training = self.model.training
        self.model.eval()
        share = torch.arange(self.rank, len(test_x), self.world,
                             device=self.device)
        sums = torch.zeros(3, device=self.device)
        per = max(1, test_x[0].numel()) if len(test_x) else 1
        step = max(batch, min(256, 256 * 3072 // per))
        if test_x.dim() != 4:  # mirror views are for 2-D images only
            tta = "off"
        for start in range(0, len(share), step):
            idx = share[start:start + step]
            views = tta_views(test_x[idx], tta)
            out = 0
            for view in views:
                x = normalise(view, self.mean, self.std)
                with torch.autocast(self.device.type, dtype=self.amp,
                                    enabled=self.amp is not None):
                    out = out + self.net(x).float()
            out = out / len(views) * self.settings["logit_scale"]
            y = test_y[idx]
            loss_sum = F.cross_entropy(out, y, reduction="sum")
            sums += self.counts(loss_sum, out, y)
        self.model.train(was_training)
        return self.reduce(sums)

    def counts(self, loss_sum, out, y):
        """(summed loss, correct, count) as one tensor, for all_reduce."""
        correct = (out.argmax(1) == y).sum().float()
        count = torch.tensor(float(len(y)), device=self.device)
        return torch.stack([loss_sum.float(), correct, count])

    def reduce(self, sums):
        """(mean loss, accuracy) over all processes."""
        if self.world > 1:
            dist.all_reduce(sums)
        loss, correct, count = sums.tolist()
        return loss / max(count, 1), correct / max(count, 1)

    def save(self, history):
        last = history[-1]
        checkpoint = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "app_version": APP_VERSION,
            "design": json.loads(DESIGN_JSON),
            "state_dict": {k: v.detach().cpu()
                           for k, v in self.net.state_dict().items()},
            "training": dict(self.settings),
            "metrics": {
                "test_acc": last["test_acc"], "test_loss": last["test_loss"],
                "train_acc": last["train_acc"],
                "train_loss": last["train_loss"],
                "epochs": len(history), "history": history,
                "processes": self.world, "source": "train.py",
            },
        }
        out = Path(self.args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:  # atomic: flushed to disk, then renamed
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
        self.log(f"saved {out} (test accuracy {last['test_acc']:.2%})")


if __name__ == "__main__":
    Trainer(parse_args()).run()
'''
