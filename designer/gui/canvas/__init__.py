"""The designer canvas: blocks and edges mirroring the design model."""
from designer.gui.canvas.refcount_fix import make_immortal

make_immortal()
