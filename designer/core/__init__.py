"""Pure-Python core: design model, layer catalogue, analysis. No Qt, no torch."""
from designer.core.analysis import Analysis, Issue, LayerInfo, analyse
from designer.core.catalogue import RF, LayerType, all_types, get_type
from designer.core.model import INPUT_ID, Design, DesignError, Event, InputSpec, Layer

__all__ = ["Analysis", "Design", "DesignError", "Event", "INPUT_ID", "InputSpec", "Issue",
           "Layer", "LayerInfo", "LayerType", "RF", "all_types", "analyse", "get_type"]
