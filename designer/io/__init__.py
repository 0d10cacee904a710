"""Versioned design files. Imports core only (no Qt, no torch)."""
from designer.io.design_file import (DesignFileError, dumps, from_dict, load, loads,
                                     register_migration, save, to_dict)

__all__ = ["DesignFileError", "dumps", "from_dict", "load", "loads", "register_migration",
           "save", "to_dict"]
