"""Legal, unique Python identifiers for layers (submodule and variable names).

The torch builder and the code exporter both take names from here, so an
exported model's state_dict keys equal the built module's. User-written ids
only reach generated code through these names (or as escaped literals).
"""
from __future__ import annotations

import builtins
import keyword
import re
import unicodedata

from designer.core.model import Design

# nn.Module attributes and names the generated code itself uses.
RESERVED = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | {
    "self", "torch", "nn", "F", "x", "input", "output", "forward", "training", "modules",
    "parameters", "buffers", "children", "state_dict", "load_state_dict", "to", "cuda",
    "cpu", "eval", "train", "apply", "register_buffer", "register_parameter",
    "register_module", "add_module", "get_submodule", "get_parameter", "get_buffer",
    "named_modules", "named_parameters", "named_buffers", "named_children", "zero_grad",
    "requires_grad_", "half", "float", "double", "bfloat16", "type", "extra_repr",
    "share_memory", "dump_patches", "call_super_init", "T_destination", "ipu", "xpu", "mtia",
    "compile", "set_extra_state", "get_extra_state", "register_forward_hook",
    "register_forward_pre_hook", "register_backward_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_state_dict_pre_hook",
    "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
    "register_state_dict_post_hook", "to_empty", "main", "Model", "Add", "Concat",
    "set_submodule",
    # attributes of designer.nn.build.DesignModule
    "names", "input_shape", "output_shape", "forward_all",
}
MAX_LEN = 40


def identifier(text: str) -> str:
    """A legal lowercase-ish identifier derived from text (not yet unique)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^0-9A-Za-z_]+", "_", text).strip("_")[:MAX_LEN].rstrip("_") or "layer"
    if name[0].isdigit():
        name = "l_" + name
    if name.startswith("_"):
        name = "l" + name
    if name in RESERVED or name.startswith("__"):
        name = name + "_"
    return name


def layer_names(design: Design) -> dict[str, str]:
    """Layer id -> unique identifier, stable for a given design."""
    taken: set[str] = set()
    out: dict[str, str] = {}
    for layer in design.layers:
        base = identifier(layer.id)
        name, n = base, 2
        while name in taken:
            name = f"{base}_{n}"
            n += 1
        taken.add(name)
        out[layer.id] = name
    return out
