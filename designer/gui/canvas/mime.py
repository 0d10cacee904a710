"""Drag-and-drop formats shared by the palette (drag source) and the canvas
(drop target). The payload is a UTF-8 name."""
from __future__ import annotations

LAYER_MIME = "application/x-cnn-designer-layer"        # a layer type name, e.g. "Conv2d"
TEMPLATE_MIME = "application/x-cnn-designer-template"  # a key of core.templates.TEMPLATES
