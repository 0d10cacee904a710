"""The fast-training techniques (designer/nn/recipe.py) do what they say,
checked against hand computations and torch itself."""
from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from designer.core.model import Design, InputSpec
from designer.core.recipes import fast, recipe
from designer.core.training_config import TrainConfig
from designer.nn import recipe as rc
from designer.nn.augment import crop_flip
from designer.nn.build import build
from designer.nn.checkpoint import load_checkpoint
from designer.nn.events import Finished, Started
from designer.nn.train_setup import lr_factor, make_optimizer
from designer.nn.trainer import Trainer

from test_trainer import Recorder, tiny


def whiten_net(out: int = 24, kernel: int = 2) -> Design:
    d = Design("whiten", InputSpec(3, 32, 32))
    d.add_layer("Conv2d", {"out_channels": out, "kernel_size": kernel})
    d.add_layer("GELU")
    d.add_layer("Conv2d", {"out_channels": 32, "kernel_size": 3, "padding": "same",
                           "bias": False})
    d.add_layer("MaxPool2d", {"kernel_size": 4})
    d.add_layer("BatchNorm2d")
    d.add_layer("GELU")
    d.add_layer("AdaptiveAvgPool2d", {"output_size": 1})
    d.add_layer("Flatten")
    d.add_layer("Linear", {"out_features": 10, "bias": False})
    return d


def test_whitening_makes_the_first_layer_output_covariance_the_identity() -> None:
    torch.manual_seed(0)
    # correlated images: smooth noise plus a shared colour cast
    base = torch.randn(200, 1, 32, 32)
    images = base.repeat(1, 3, 1, 1) + 0.3 * torch.randn(200, 3, 32, 32)
    # scaled so that the smallest directions dwarf WHITEN_EPS, as real images' do
    images = 10 * nn.functional.avg_pool2d(images, 3, 1, 1)
    model = build(whiten_net())
    name, conv = rc.input_conv(model)
    assert rc.whiten_problem(conv) is None
    rc.whiten_init(conv, images)
    with torch.no_grad():
        out = nn.functional.conv2d(images, conv.weight)   # without the bias
    d = 12
    flat = out[:, :d].permute(1, 0, 2, 3).reshape(d, -1)
    cov = torch.cov(flat)
    assert torch.allclose(cov, torch.eye(d), atol=0.02), cov.diag()
    before = torch.cov(rc.patches(images, conv).T)
    assert not torch.allclose(before, torch.eye(d), atol=0.5)   # the input was far from white
    assert torch.allclose(out[:, d:], -out[:, :d])     # the negated copies
    assert float(conv.bias.detach().abs().max()) == 0.0


def test_whitening_refuses_first_layers_it_cannot_fill() -> None:
    assert "at least 12" in rc.whiten_problem(rc.input_conv(build(whiten_net(out=8)))[1])
    d = Design("pool first", InputSpec(3, 32, 32))
    d.add_layer("MaxPool2d", {"kernel_size": 2})
    assert "does not start" in rc.whiten_problem(None)
    assert rc.input_conv(build(d)) is None
    rec = Recorder()
    Trainer(whiten_net(out=8), tiny(epochs=1, whiten_init=True), rec).run()
    notes = rec.of(Started)[0].notes
    assert any("patch whitening not applied" in n and "at least 12" in n for n in notes)


def test_whitened_weights_stay_frozen_and_the_bias_trains_for_its_epochs() -> None:
    rec = Recorder()
    cfg = tiny(epochs=3, whiten_init=True, whiten_bias_epochs=1, lr=0.05)
    trainer = Trainer(whiten_net(), cfg, rec)
    seen: dict[str, Any] = {}
    original = trainer._train_epoch

    def spy(*args: Any) -> Any:
        conv = trainer._whitened
        seen.setdefault("w0", conv.weight.detach().clone())
        seen.setdefault("bias", []).append(conv.bias.detach().clone())
        return original(*args)
    trainer._train_epoch = spy  # type: ignore[method-assign]
    trainer.run()
    assert rec.of(Finished)
    conv = trainer._whitened
    assert torch.equal(conv.weight.detach(), seen["w0"])
    b = seen["bias"] + [conv.bias.detach()]
    assert not torch.equal(b[0], b[1])        # trained during epoch 1
    assert torch.equal(b[1], b[2]) and torch.equal(b[2], b[3])   # then frozen


def test_dirac_init_passes_the_input_through_the_centre() -> None:
    conv = nn.Conv2d(4, 6, 3, padding=1, bias=False)
    model = nn.Sequential(conv)
    assert rc.dirac_init(model) == []
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        y = conv(x)
    assert torch.allclose(y[:, :4], x)
    assert not torch.allclose(y[:, 4:], torch.zeros_like(y[:, 4:]))  # the rest kept
    wide = nn.Conv2d(6, 3, 3, padding=1, bias=False)
    rc.dirac_init(nn.Sequential(wide))
    x = torch.randn(2, 6, 5, 5)
    assert torch.allclose(wide(x), x[:, :3], atol=1e-6)
    grouped = nn.Conv2d(4, 4, 3, groups=4)
    assert rc.dirac_init(nn.Sequential(grouped)) == ["0"]


def test_alternating_flips_alternate_per_image() -> None:
    bits = rc.flip_bits(1000, seed=3)
    assert 400 < int(bits.sum()) < 600                       # random on the first epoch
    assert torch.equal(bits, rc.flip_bits(1000, seed=3))
    idx = torch.randperm(1000)[:200]
    flips = [rc.alternate_flips(bits, idx, e) for e in range(4)]
    for e in range(3):
        assert torch.equal(flips[e + 1], ~flips[e])           # every image alternates
    assert torch.equal(flips[0], bits[idx])
    # and crop_flip mirrors exactly the images it is told to
    images = torch.randint(0, 255, (6, 3, 4, 5), dtype=torch.uint8)
    mirror = torch.tensor([True, False, True, False, False, True])
    out = crop_flip(images, 0, False, True, torch.Generator(), mirror=mirror)
    assert torch.equal(out[mirror], images[mirror].flip(3))
    assert torch.equal(out[~mirror], images[~mirror])


def test_alternating_flips_in_training_follow_the_image_not_the_batch(monkeypatch) -> None:
    from designer.nn import trainer as tm
    calls: list[tuple[int, torch.Tensor]] = []
    real = tm.augment_batch

    def spy(images, crop, flip, generator, pad=4, fill="zero", mirror=None):  # type: ignore
        calls.append((len(calls), mirror.clone()))
        return real(images, crop, flip, generator, pad, fill, mirror)
    monkeypatch.setattr(tm, "augment_batch", spy)
    rec = Recorder()
    trainer = Trainer(whiten_net(), tiny(epochs=2, batch_size=256, flip_alternate=True), rec)
    trainer.run()
    assert len(calls) == 2        # one step per epoch of 256 images
    bits = trainer._flip_bits
    assert bits is not None
    # each epoch's mirror is bits (epoch 0) or ~bits (epoch 1), indexed by that epoch's order
    assert int(calls[0][1].sum()) == int(bits.sum())
    assert int(calls[1][1].sum()) == 256 - int(bits.sum())


def test_reflect_translation_mirrors_the_border() -> None:
    images = torch.arange(16, dtype=torch.uint8).view(1, 1, 4, 4)
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        out = crop_flip(images, 2, True, False, gen, fill="reflect")
        padded = nn.functional.pad(images.float(), (2, 2, 2, 2), mode="reflect")
        found = any(torch.equal(out[0, 0].float(), padded[0, 0, y:y + 4, x:x + 4])
                    for y in range(5) for x in range(5))
        assert found
    zero = crop_flip(images, 2, True, False, torch.Generator().manual_seed(1))
    assert zero.shape == images.shape


def test_tta_output_is_the_mean_of_the_views() -> None:
    torch.manual_seed(0)
    model = build(whiten_net()).eval()
    images = torch.randint(0, 255, (5, 3, 32, 32), dtype=torch.uint8)

    def prepare(x: torch.Tensor) -> torch.Tensor:
        return x.float() / 255.0
    got = rc.tta_logits(model, images, prepare, lambda: torch.no_grad(), "mirror_translate")
    padded = nn.functional.pad(prepare(images), (1, 1, 1, 1), mode="reflect")
    views = [prepare(images), prepare(images).flip(3)]
    for dy, dx in ((0, 0), (2, 2)):
        v = padded[:, :, dy:dy + 32, dx:dx + 32]
        views += [v, v.flip(3)]
    with torch.no_grad():
        want = torch.stack([model(v) for v in views]).mean(0)
    assert torch.allclose(got, want, atol=1e-5)
    mirror = rc.tta_logits(model, images, prepare, lambda: torch.no_grad(), "mirror")
    assert torch.allclose(mirror, torch.stack([model(v) for v in views[:2]]).mean(0), atol=1e-5)
    plain = rc.tta_logits(model, images, prepare, lambda: torch.no_grad(), "off")
    assert torch.allclose(plain, model(views[0]), atol=1e-5)


def test_ema_equals_the_running_average_computed_by_hand() -> None:
    model = nn.Linear(3, 2)
    avg = rc.WeightAverage(model, "ema", decay=0.9, every=2, start=2)
    history = []
    for step in range(1, 9):
        with torch.no_grad():
            model.weight.add_(float(step))
        history.append((step, model.weight.detach().clone()))
        avg.step(step)
    # updates at steps 2 (copy), 4, 6, 8
    want = history[1][1]
    for step in (4, 6, 8):
        want = 0.9 * want + 0.1 * history[step - 1][1]
    assert torch.allclose(avg.average["weight"], want)
    assert torch.equal(model.weight, history[-1][1])         # EMA leaves the weights alone
    with avg.applied():
        assert torch.allclose(model.weight, want)
    assert torch.equal(model.weight, history[-1][1])
    avg.finish()
    assert torch.allclose(model.weight, want)


def test_lookahead_pulls_the_weights_to_the_average() -> None:
    model = nn.Linear(2, 1, bias=False)
    avg = rc.WeightAverage(model, "lookahead", decay=0.5, every=1, start=0)
    with torch.no_grad():
        model.weight.fill_(0.0)
    avg.step(0)                                              # the first update copies
    with torch.no_grad():
        model.weight.fill_(4.0)
    avg.step(1)
    assert torch.allclose(model.weight, torch.full((1, 2), 2.0))
    assert torch.allclose(avg.average["weight"], torch.full((1, 2), 2.0))


def test_norm_groups_get_their_learning_rate_and_decay() -> None:
    model = build(whiten_net())
    cfg = TrainConfig(lr=0.5, weight_decay=0.01, norm_bias_lr_scale=64.0,
                      freeze_norm_weights=True, bn_momentum=0.4, decay_all=True,
                      decoupled_decay=True)
    rc.configure_norms(model, cfg)
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert bn.momentum == 0.4 and not bn.weight.requires_grad
    opt = make_optimizer(model, cfg)
    by_param = {id(p): g for g in opt.param_groups for p in g["params"]}
    assert id(bn.weight) not in by_param                     # frozen: not optimised
    g = by_param[id(bn.bias)]
    assert g["lr"] == pytest.approx(32.0) and g["lr_scale"] == 64.0
    assert g["lr"] * g["weight_decay"] == pytest.approx(0.01)   # decoupled
    conv = rc.input_conv(model)[1]
    assert by_param[id(conv.weight)]["lr"] == pytest.approx(0.5)
    assert by_param[id(conv.bias)]["weight_decay"] == pytest.approx(0.02)
    # defaults: one lr, no decay on 1-D parameters, plain decay on weights
    opt = make_optimizer(build(whiten_net()), TrainConfig(lr=0.5, weight_decay=0.01))
    assert [g["weight_decay"] for g in opt.param_groups] == [0.01, 0.0]
    assert {g["lr"] for g in opt.param_groups} == {0.5}


def test_trainer_sets_each_group_lr_from_the_schedule() -> None:
    rec = Recorder()
    cfg = tiny(epochs=1, norm_bias_lr_scale=10.0, lr=0.01, schedule="constant",
               warmup_epochs=0)
    trainer = Trainer(whiten_net(), cfg, rec)
    trainer.run()
    lrs = sorted(g["lr"] for g in trainer._optimizer.param_groups)
    assert lrs == pytest.approx([0.01, 0.01, 0.1])


def test_triangular_schedule() -> None:
    total = 100
    f = [lr_factor(s, total, 0, "triangular", 0.2, 0.07) for s in range(total)]
    assert f[0] == pytest.approx(0.2) and max(f) == pytest.approx(1.0)
    assert f.index(max(f)) == 23 and f[-1] == pytest.approx(0.07)
    assert lr_factor(10, total, 10, "triangular", 0.5, 0.0) == pytest.approx(1.0)


def test_the_fast_recipe_trains_and_checkpoints_the_average(tmp_path) -> None:
    settings = fast(batch_size=64, epochs=2)
    settings.update(average_every=1, average_start_epoch=0.5)
    cfg = tiny(**{**settings, "batch_size": 64, "epochs": 2}, out_dir=str(tmp_path))
    rec = Recorder()
    trainer = Trainer(whiten_net(), cfg, rec)
    trainer.run()
    done = rec.of(Finished)
    assert done and "TTA mirror_translate" in done[0].metrics["evaluated"]
    ckpt = load_checkpoint(tmp_path / "last.pt")
    assert "raw_state" in ckpt
    for k, v in ckpt["state_dict"].items():   # finished: the model is the average
        assert torch.allclose(v.float(), trainer.state_dict()[k].float())
    # resuming continues from the raw weights with the average restored
    more = Trainer(whiten_net(), TrainConfig(**{**cfg.to_dict(), "epochs": 3}), Recorder(),
                   resume_from=tmp_path / "last.pt")
    more.run()
    assert more.epoch == 3 and more.failure is None


def test_recipes_are_valid_settings() -> None:
    for name in ("default", "fast", "fast-cpu"):
        settings = recipe(name)
        cfg = TrainConfig(**settings)
        cfg.check()
        assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown recipe"):
        recipe("slow")


NON_DEFAULT = dict(lr_start_factor=0.3, lr_end_factor=0.01, crop_pad=3, crop_fill="reflect",
                   flip_alternate=True, tta="mirror", averaging="ema", average_decay=0.95,
                   average_every=3, average_start_epoch=0.5, norm_bias_lr_scale=16.0,
                   freeze_norm_weights=True, bn_momentum=0.25, decay_all=True,
                   decoupled_decay=True, dirac_init=True, whiten_init=True,
                   whiten_bias_epochs=2.0, logit_scale=0.5, schedule="triangular")


def test_every_option_round_trips_through_a_design_file_and_a_checkpoint(tmp_path) -> None:
    from designer.io import load, save
    defaults = TrainConfig()
    assert all(getattr(defaults, k) != v for k, v in NON_DEFAULT.items())
    cfg = tiny(epochs=1, out_dir=str(tmp_path / "run"), **NON_DEFAULT)
    design = whiten_net()
    design.training = {k: v for k, v in cfg.to_dict().items() if k != "out_dir"}
    save(design, tmp_path / "d.json")
    again = TrainConfig.from_dict(load(tmp_path / "d.json").training)
    assert all(getattr(again, k) == v for k, v in NON_DEFAULT.items())
    rec = Recorder()
    Trainer(design, cfg, rec).run()
    assert rec.of(Finished), rec.events[-1]
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    restored = TrainConfig.from_dict(ckpt["training"])
    assert all(getattr(restored, k) == v for k, v in NON_DEFAULT.items())


@pytest.mark.parametrize("key,value", [("tta", "all"), ("average_decay", 1.0),
                                       ("crop_pad", 17), ("bn_momentum", 0.0),
                                       ("norm_bias_lr_scale", 0.0)])
def test_out_of_range_options_are_refused_with_their_name(tmp_path, key: str, value) -> None:
    from designer.io import DesignFileError, load, save
    design = whiten_net()
    design.training = {key: value}
    save(design, tmp_path / "d.json")
    with pytest.raises(DesignFileError, match=key):
        load(tmp_path / "d.json")
    rec = Recorder()
    Trainer(whiten_net(), tiny(**{key: value}), rec).run()
    assert key in rec.failed()
