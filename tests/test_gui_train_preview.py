"""The Train mode's read-only design preview at 1280x720: a small design shows
whole; a tall chain fills the dock's width at a readable, level-of-detail zoom and
scrolls from the input instead of shrinking to an unreadable strip."""
from __future__ import annotations

from designer.gui.canvas.block_item import OVERVIEW_BELOW
from designer.gui.train.docks import PREVIEW_MIN_SCALE
from designer.core.model import Design, InputSpec
from designer.io import load

from conftest import ROOT


def _train_at_720p(qtbot, win):
    win.resize(1280, 720)
    qtbot.waitUntil(lambda: win.width() == 1280 and win.height() == 720)
    win.modes.reset_layout()
    win.modes.switch("train")
    preview = win.panels.train.preview.widget()
    qtbot.waitUntil(preview.isVisible)
    qtbot.wait(150)   # the fit after a scene change is delayed
    preview.fit()
    return preview


def test_a_tall_chain_scrolls_at_a_readable_zoom(app_window, qtbot):
    win = app_window
    win.set_design(load(ROOT / "samples" / "resnet_small.json"), None)
    preview = _train_at_720p(qtbot, win)
    scale = preview.scale_now()
    assert PREVIEW_MIN_SCALE <= scale < OVERVIEW_BELOW    # large-type blocks
    bar = preview.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == bar.minimum()   # from the input
    top = preview.mapFromScene(win.canvas.block_item("input").scenePos())
    assert preview.viewport().rect().contains(top)
    blocks = preview.mapFromScene(win.canvas.design_scene().blocks_rect()).boundingRect()
    assert blocks.width() <= preview.viewport().width() + 1     # no sideways scrolling


def test_a_small_design_shows_whole(app_window, qtbot):
    win = app_window
    design = Design("small", InputSpec(3, 32, 32))
    design.add_layer("Conv2d", {"out_channels": 8, "kernel_size": 3})
    design.add_layer("ReLU")
    win.set_design(design, None)
    preview = _train_at_720p(qtbot, win)
    assert preview.scale_now() >= PREVIEW_MIN_SCALE
    blocks = preview.mapFromScene(win.canvas.design_scene().blocks_rect()).boundingRect()
    assert preview.viewport().rect().adjusted(-1, -1, 1, 1).contains(blocks)
    assert preview.verticalScrollBar().maximum() == 0
