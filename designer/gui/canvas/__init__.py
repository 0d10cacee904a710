"""The designer canvas: blocks and edges mirroring the design model."""
