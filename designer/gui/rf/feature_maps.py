"""Activations of the selected layer and a convolution's filters as image mosaics."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from designer.gui.rf.colormap import normalise, rgb_image, viridis

MAX_TILES = 64
GAP = 1


def mosaic(tiles: list[np.ndarray], columns: int | None = None) -> np.ndarray:
    """uint8 tiles (h×w×3, same size) -> one H×W×3 image with 1-pixel gaps."""
    n = len(tiles)
    cols = columns or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    h, w = tiles[0].shape[:2]
    out = np.full((rows * (h + GAP) - GAP, cols * (w + GAP) - GAP, 3), 40, np.uint8)
    for k, t in enumerate(tiles):
        r, c = divmod(k, cols)
        out[r * (h + GAP):r * (h + GAP) + h, c * (w + GAP):c * (w + GAP) + w] = t
    return out


def activation_tiles(act: np.ndarray) -> list[np.ndarray]:
    """C×H×W activations -> one viridis tile per channel, each normalised alone."""
    return [viridis(normalise(ch)) for ch in act[:MAX_TILES]]


def filter_tiles(weights: np.ndarray) -> list[np.ndarray]:
    """out×kh×kw×3 (RGB: each filter normalised as a whole) or out×kh×kw."""
    tiles = []
    for f in weights[:MAX_TILES]:
        if f.ndim == 3:
            tiles.append((normalise(f) * 255).astype(np.uint8))
        else:
            tiles.append(viridis(normalise(f)))
    return tiles


def vector_tile(values: np.ndarray) -> np.ndarray:
    """A flat vector as a near-square tile, row by row; cells past the end grey."""
    side = max(1, math.ceil(math.sqrt(values.size)))
    flat = np.zeros(side * side)
    flat[:values.size] = normalise(values.ravel())
    rgb = viridis(flat).reshape(side, side, 3)
    rgb.reshape(-1, 3)[values.size:] = 128
    return rgb


class MosaicView(QWidget):
    """A caption and a nearest-scaled mosaic in a scroll area."""

    def __init__(self, empty_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_text = empty_text
        self.caption = QLabel(empty_text)
        self.caption.setWordWrap(True)
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.picture)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.caption)
        lay.addWidget(scroll, 1)
        self.tile_count = 0

    def show_tiles(self, tiles: list[np.ndarray], caption: str, target_px: int = 300) -> None:
        self.tile_count = len(tiles)
        if not tiles:
            self.clear(caption)
            return
        img = mosaic(tiles)
        scale = max(1, min(40, target_px // max(img.shape[:2])))
        pix = QPixmap.fromImage(rgb_image(img)).scaled(
            img.shape[1] * scale, img.shape[0] * scale, Qt.KeepAspectRatio, Qt.FastTransformation)
        self.picture.setPixmap(pix)
        self.caption.setText(caption)

    def clear(self, caption: str | None = None) -> None:
        self.tile_count = 0
        self.picture.clear()
        self.caption.setText(caption or self.empty_text)
