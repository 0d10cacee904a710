"""Named sets of training settings ("recipes"): the CLI's --recipe and the
training panel's presets. Pure Python: each is a dict of TrainConfig fields.

"fast" follows Keller Jordan's airbench94 (CIFAR-10 to 94% in 3-4 s on an
A100), translated to this engine's conventions: airbench sums the loss over
the batch and scales its learning rate and weight decay by
1024 * (1 + 1 / (1 - momentum)); with a mean loss that is lr = 11.5 * batch /
7851 (1.5 at batch 1024) and a decoupled decay of 0.0153 * batch / 7851 per
step. Its network ends in a x1/9 multiply: here logit_scale = 1/9.
"""
from __future__ import annotations

from typing import Any

AIRBENCH_SCALE = 1024 * (1 + 1 / (1 - 0.85))   # airbench's kilostep scale at momentum 0.85


def fast(batch_size: int = 1024, epochs: int = 10) -> dict[str, Any]:
    """airbench94's recipe for a batch size and a number of epochs."""
    return {
        "epochs": epochs, "batch_size": batch_size, "optimizer": "sgd", "momentum": 0.85,
        "nesterov": True, "lr": round(11.5 * batch_size / AIRBENCH_SCALE, 6),
        "weight_decay": round(0.0153 * batch_size / AIRBENCH_SCALE, 6),
        "decoupled_decay": True, "decay_all": True, "schedule": "triangular",
        "warmup_epochs": round(0.23 * epochs, 2), "lr_start_factor": 0.2,
        "lr_end_factor": 0.07, "label_smoothing": 0.2, "logit_scale": round(1 / 9, 6),
        "augment_crop": True, "crop_pad": 2, "crop_fill": "reflect", "augment_flip": True,
        "flip_alternate": True, "cutout": 0, "tta": "mirror_translate",
        "averaging": "lookahead", "average_decay": 0.77, "average_every": 5,
        "average_start_epoch": round(0.3 * epochs, 2), "norm_bias_lr_scale": 64.0,
        "freeze_norm_weights": True, "bn_momentum": 0.4, "dirac_init": True,
        "whiten_init": True, "whiten_bias_epochs": round(0.3 * epochs, 2),
    }


# The recipe on a CPU of a few cores, for samples/fast_cifar_cpu.json (widths
# 32/64/128: 3.5x the images per second of widths 64/256/256, measured
# interleaved on a loaded 2-core AVX2 CPU). Smaller batches give more steps in
# the few epochs a CPU has time for; 4 epochs of ~120 s (at the ~415 img/s
# that ratio predicts on the quiet CPU, where the wide net does 119 img/s)
# plus evaluations and the final 6-view TTA fit in 10 minutes.
CPU_BATCH, CPU_EPOCHS = 256, 4

RECIPES = ("default", "fast", "fast-cpu")


def recipe(name: str) -> dict[str, Any]:
    """The settings of a recipe; "default" is TrainConfig's own."""
    if name == "default":
        from dataclasses import asdict

        from designer.core.training_config import TrainConfig
        keep = ("dataset", "data_dir", "download", "device", "precision", "channels_last",
                "threads", "seed", "train_limit", "test_limit", "out_dir", "val_split")
        return {k: v for k, v in asdict(TrainConfig()).items() if k not in keep}
    if name == "fast":
        return fast()
    if name == "fast-cpu":
        return fast(CPU_BATCH, CPU_EPOCHS)
    raise ValueError(f"unknown recipe '{name}': use {', '.join(RECIPES)}")
