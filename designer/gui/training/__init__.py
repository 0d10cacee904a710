"""The training dock panel: settings, background runs, live curves, run comparison."""
from designer.gui.training import pyside_fix

pyside_fix.install()

from designer.gui.training.panel import TrainingPanel  # noqa: E402

__all__ = ["TrainingPanel"]
