"""Inspect mode: looking inside a design (the convolution explorer)."""
