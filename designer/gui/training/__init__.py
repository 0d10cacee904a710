"""The training dock panel: settings, background runs, live curves, run comparison."""
from designer.gui.training.panel import TrainingPanel

__all__ = ["TrainingPanel"]
