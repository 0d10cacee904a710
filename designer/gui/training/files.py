"""The panel's file actions: save/load weights (checkpoints), export metrics
(CSV) and the plots (PNG). Messages go to the panel's message area."""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from designer.core.model import Design
from designer.gui.training.background import call_in_background
from designer.gui.training.runs import PALETTE, Run, export_csv as write_csv
from designer.io.files import atomic_path
from designer.nn.events import Finished

if TYPE_CHECKING:
    from designer.gui.training.panel import TrainingPanel

CHECKPOINT_FILTER = "Checkpoints (*.pt *.pth);;All files (*)"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "design"


def save_checkpoint(panel: "TrainingPanel", run: Run | None) -> bool:
    if run is None or run.checkpoint is None:
        panel.show_error("Select a finished run to save its weights.")
        return False
    path = panel.ask_save_path("Save weights", CHECKPOINT_FILTER,
                               f"{_slug(run.design.name)}_run{run.number}.pt")
    if not path:
        return False
    try:
        from designer.nn.checkpoint import save_checkpoint as save
        save(path, run.checkpoint)
    except Exception as e:
        panel.show_error(f"Could not save the weights to {path}: {e}")
        return False
    panel.clear_error()
    return True


def _load_and_check(path: str, design: Design) -> dict[str, Any]:
    """Runs off the GUI thread: read the file, then check it fits the design."""
    from designer.nn.build import BuildError, build
    from designer.nn.checkpoint import CheckpointError, check_fits, load_checkpoint

    ckpt = load_checkpoint(path)
    try:
        module = build(design)
    except BuildError as e:
        raise CheckpointError(f"the current design cannot be built ({e}), so no weights "
                              "can be loaded into it") from None
    check_fits(module, ckpt["state_dict"])
    return ckpt


def load_checkpoint(panel: "TrainingPanel", path: str | None = None) -> None:
    """Load weights for the current design; the outcome arrives via panel.checkpoint_done."""
    path = path or panel.ask_open_path("Load weights", CHECKPOINT_FILTER)
    if not path:
        return
    snapshot = panel.context.design.copy()
    call_in_background(lambda: _load_and_check(path, snapshot),
                       lambda ckpt, err: _loaded(panel, path, snapshot, ckpt, err), panel)


def _loaded(panel: "TrainingPanel", path: str, design: Design, ckpt: Any,
            err: BaseException | None) -> None:
    if err is not None:
        from designer.nn.checkpoint import CheckpointError
        text = str(err) if isinstance(err, CheckpointError) else \
            f"{path}: {type(err).__name__}: {err}"
        panel.show_error(f"Cannot load these weights: {text}")
        panel.checkpoint_done.emit(False)
        return
    from designer.core.training_config import TrainConfig
    # everything is read before the weights are applied: a load that fails
    # leaves the model as it was (load_checkpoint has validated the values)
    number = panel.next_run_number()
    run = Run(number, TrainConfig.from_dict(ckpt.get("training") or {}), design,
              PALETTE[(number - 1) % len(PALETTE)], state="loaded",
              checkpoint=ckpt, label_extra=Path(path).name)
    metrics = dict(ckpt.get("metrics") or {})
    confusion = metrics.get("confusion") or []
    run.finished = Finished(stopped=False, metrics=metrics,
                            per_class_acc=list(metrics.get("per_class_acc") or []),
                            confusion=confusion if isinstance(confusion, list) else [],
                            class_names=list(metrics.get("class_names") or []))
    panel.context.set_weights(ckpt["state_dict"], design)
    panel.add_loaded_run(run)
    panel.clear_error()
    panel.checkpoint_done.emit(True)


def export_csv(panel: "TrainingPanel") -> bool:
    runs = [r for r in panel.runs if r.visible] or panel.runs
    if not runs:
        panel.show_error("No runs to export yet.")
        return False
    path = panel.ask_save_path("Export metrics", "CSV files (*.csv)", "training_runs.csv")
    if not path:
        return False
    try:
        write_csv(path, runs)
    except OSError as e:
        panel.show_error(f"Could not write {path}: {e.strerror or e}")
        return False
    return True


def export_png(panel: "TrainingPanel") -> bool:
    if not panel.runs:
        panel.show_error("No curves to export yet.")
        return False
    path = panel.ask_save_path("Export plots", "PNG images (*.png)", "training_curves.png")
    if not path:
        return False
    panel.plots.refresh(panel.runs)
    try:
        with atomic_path(path) as tmp:
            if not panel.plots.grab().save(str(tmp), "PNG"):
                raise OSError(f"could not write the image {path}")
    except OSError as e:
        panel.show_error(f"Could not write the image {path}: {e.strerror or e}")
        return False
    return True
