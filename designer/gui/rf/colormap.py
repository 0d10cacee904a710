"""Small numpy colour helpers shared by the panel's image widgets."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

# viridis at 6 stops, interpolated linearly
_STOPS = np.array([[68, 1, 84], [65, 68, 135], [42, 120, 142], [34, 168, 132],
                   [122, 209, 81], [253, 231, 37]], dtype=np.float64)


def normalise(a: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]; a constant array becomes all zeros."""
    a = np.asarray(a, dtype=np.float64)
    lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
    if not np.isfinite(lo) or not np.isfinite(hi) or hi - lo < 1e-12:
        return np.zeros_like(a)
    return (a - lo) / (hi - lo)


def viridis(a01: np.ndarray) -> np.ndarray:
    """[0, 1] values -> uint8 RGB (…×3)."""
    x = np.clip(a01, 0, 1) * (len(_STOPS) - 1)
    i = np.minimum(x.astype(int), len(_STOPS) - 2)
    f = (x - i)[..., None]
    rgb = _STOPS[i] * (1 - f) + _STOPS[i + 1] * f
    return rgb.astype(np.uint8)


def rgb_image(rgb: np.ndarray) -> QImage:
    """uint8 H×W×3 -> QImage (a deep copy, so the array may go)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()


def rgba_image(rgba: np.ndarray) -> QImage:
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format_RGBA8888).copy()


def chw_to_rgb(img: np.ndarray) -> np.ndarray:
    """uint8 C×H×W (1 or 3 channels, or more: first three) -> H×W×3."""
    if img.shape[0] >= 3:
        return np.transpose(img[:3], (1, 2, 0))
    return np.repeat(np.transpose(img[:1], (1, 2, 0)), 3, axis=2)


def heat_overlay(heat: np.ndarray) -> np.ndarray:
    """A heatmap -> RGBA whose alpha follows the (gamma 0.6) value, so weak but
    non-zero gradient stays visible while the peak still stands out."""
    v = normalise(heat) ** 0.6
    rgba = np.zeros(heat.shape + (4,), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[..., 1] = (60 + 180 * v).astype(np.uint8)
    rgba[..., 2] = 0
    rgba[..., 3] = (np.where(heat > 0, 25, 0) + 195 * v).clip(0, 230).astype(np.uint8)
    return rgba
