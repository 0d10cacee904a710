"""Training settings read from a design file's "training" object."""
from __future__ import annotations

import math

from designer.core.training_config import TrainConfig


def test_round_trip() -> None:
    cfg = TrainConfig(epochs=3, lr=0.1, optimizer="adam", threads=2, data_dir="/tmp/x")
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_unknown_keys_and_wrong_types_fall_back_to_defaults() -> None:
    default = TrainConfig()
    cfg = TrainConfig.from_dict({"epochs": "ten", "lr": 1, "batch_size": 64.0, "nesterov": 1,
                                 "momentum": math.nan, "threads": None, "seed": True,
                                 "data_dir": 5, "dataset": "synthetic", "future": [1],
                                 "weight_decay": 10 ** 400, "cutout": 8})
    assert cfg.epochs == default.epochs and cfg.batch_size == default.batch_size
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float)
    assert cfg.nesterov is default.nesterov and cfg.seed == default.seed
    assert cfg.momentum == default.momentum and cfg.weight_decay == default.weight_decay
    assert cfg.threads is None and cfg.data_dir is None
    assert cfg.dataset == "synthetic" and cfg.cutout == 8
    assert TrainConfig.from_dict(None) == default
    assert TrainConfig.from_dict([1, 2]) == default  # type: ignore[arg-type]
