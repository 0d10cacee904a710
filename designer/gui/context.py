"""The hub that the window's views share: the live design, its current
analysis, the selected layer and the latest trained weights.

Views never analyse the design themselves: the context re-runs the analysis
once per model change and emits analysis_changed.

Large designs (more than `background_above` layers, where a whole analysis
takes longer than a GUI step may) are analysed in slices between events (a
zero-time timer runs SLICE_S of it at a time) after an edit that the
incremental analysis cannot handle (and when opened). Until the result comes,
`analysis` stays the last complete one (`current` is False) and the views keep
showing it; each slice first checks that no edit came since the analysis
started (`version`), else it starts again on the newer design, so a stale
result is never applied.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Generator

from PySide6.QtCore import QObject, QTimer, Signal

from designer.core.analysis import Analysis, analyse, analyse_steps
from designer.core.incremental import STRUCTURE_SAFE, reanalyse
from designer.core.model import Design, Event
from designer.gui.lifetimes import keep_out_of_collections, release_later, young_only

BACKGROUND_LAYERS = 300    # ~30 ms of analysis: larger designs analyse in slices
SLICE_S = 0.020            # the longest turn of the event loop an analysis slice takes
READY = "ready"            # the analysis steps' last yield: apply in the next slice
FIRST_SLICE_MS = 50        # after the edit: the canvas shows the edit first, then slices


def pending_analysis(design: Design) -> Analysis:
    """Stands in before a large design's first analysis arrives: no layer is known yet."""
    return Analysis(design.input.shape, {}, [], None)


def _analysis_steps(design: Design, previous: Analysis, version: int
                    ) -> Generator[str | None, None, tuple[int, Analysis, set[str]]]:
    """(version, analysis, ids whose LayerInfo differs from `previous`), in
    steps that the GUI thread runs between events (DesignContext._analyse_slice);
    the design must not change between them (the slicer starts again if it did)."""
    analysis = yield from analyse_steps(design)
    # the totals every view reads, summed here rather than in one GUI step
    yield from analysis.totals_steps()
    old, changed = previous.layers, set()
    for lid, info in analysis.layers.items():
        if old.get(lid) != info:
            changed.add(lid)
        yield
    yield READY   # the views get it at the start of a slice of their own
    return version, analysis, changed


def _redraw_after(previous: Analysis, analysis: Analysis, event: Event) -> set[str] | None:
    """Blocks whose drawing may differ after `event` re-analysed the design."""
    if event.kind in ("reset", "input_changed", "layer_renamed"):
        return None
    old = previous.layers
    ids = {lid for lid, info in analysis.layers.items() if old.get(lid) != info}
    ids.update(i for i in (event.layer_id, event.other, previous.output_id,
                           analysis.output_id) if i is not None)
    return ids


def _release(hold: dict[str, bool]) -> None:
    if hold["held"]:
        hold["held"] = False
        young_only(False)


class DesignContext(QObject):
    analysis_changed = Signal(object)    # Analysis
    selection_changed = Signal(object)   # layer id or None
    weights_changed = Signal(object)     # state_dict (dict[str, Tensor]) or None
    model_event = Signal(object)         # designer.core.model.Event, after re-analysis

    def __init__(self, design: Design, parent: QObject | None = None,
                 background_above: int = BACKGROUND_LAYERS) -> None:
        super().__init__(parent)
        self.design = design
        self.background_above = background_above
        self.version = 0           # counts model changes
        self.current = True        # False while a newer design's analysis is on its way
        # the analysis of a large design, run in slices between events: its steps
        # (a generator) and the version of the design they read
        self._steps: Generator[str | None, None, Any] | None = None
        self._steps_version = -1
        # single-shot, started again after each slice: a repeating zero-interval
        # timer fires again in the same pass of the event loop (Qt re-arms it at
        # the pass's start time), two or three slices between two input events
        self._slicer = QTimer(self)
        self._slicer.setSingleShot(True)
        self._slicer.timeout.connect(self._analyse_slice)
        # the slices' hold on older collections (young_only), also let go when the
        # context is deleted while they run (a window closed meanwhile)
        self._hold = {"held": False}
        self.destroyed.connect(lambda *_, hold=self._hold: _release(hold))
        self._touched: set[str] = set()   # layers named by events since `analysis`
        self._batch_depth = 0      # inside a command (Design.batch): analyse at its end
        self._redraw_all = False   # an event of the batch redraws every block
        self._selection_held = False   # the selection changed inside the batch
        # layers whose LayerInfo the last re-analysis recomputed; None: all of them
        self.changed_ids: set[str] | None = None
        # blocks whose drawing may differ after the last analysis_changed; None: all
        self.redraw_ids: set[str] | None = None
        self.selected_id: str | None = None
        self.move_listeners: list[Callable[[Event], None]] = []   # layer(s)_moved events
        self.weights: dict[str, Any] | None = None   # from the last training run
        self.weights_design: Design | None = None    # the design snapshot they belong to
        if len(design.layers) > background_above:
            self.analysis: Analysis = pending_analysis(design)
            self.current = False
            self._start_worker()
        else:
            self.analysis = analyse(design)
        design.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.kind == "batch_begin":
            self._batch_depth += 1
            return
        if event.kind == "batch_end":
            self._batch_depth -= 1
            self._end_batch()
            return
        if event.kind in ("layer_moved", "layers_moved"):
            # only the canvas cares, and moving half of a 10,000-layer design is
            # 5,000 events: plain calls, not a Qt signal to every view
            for listener in self.move_listeners:
                listener(event)
            return
        self.version += 1
        done = None
        if self.current and event.kind in STRUCTURE_SAFE and event.layer_id is not None:
            done = reanalyse(self.design, self.analysis, event.layer_id)
        if done is not None:
            self.analysis, self.changed_ids = done
            self.redraw_ids = set(self.changed_ids)
        elif len(self.design.layers) > self.background_above:
            self.current = False
            self._touched.update(i for i in (event.layer_id, event.other) if i is not None)
            if event.kind == "reset":   # another design: nothing of the old one holds
                self.analysis = pending_analysis(self.design)
            self._start_worker()
        elif self._batch_depth:   # one edit's several events: one analysis, at its end
            self.current = False
            self._touched.update(i for i in (event.layer_id, event.other) if i is not None)
            self._redraw_all |= event.kind in ("reset", "input_changed", "layer_renamed")
        else:
            previous = self.analysis
            self.analysis, self.changed_ids = analyse(self.design), None
            # the blocks to draw again: those whose LayerInfo changed (as after a
            # sliced analysis), not all of them after every edit
            self.redraw_ids = None if not self.current else _redraw_after(
                previous, self.analysis, event)
            self.current, self._touched = True, set()
        if self.selected_id is not None and self.selected_id not in self.design:
            new = event.layer_id if event.kind == "layer_renamed" and \
                event.other == self.selected_id else None
            self.selected_id = new
            if self._batch_depth:
                self._selection_held = True
            else:
                self.selection_changed.emit(new)
        self.model_event.emit(event)
        if self.current:
            self.analysis_changed.emit(self.analysis)

    def _end_batch(self) -> None:
        """The end of an edit whose events were held: analyse (a small design;
        a large one's slices are already on it), then tell the views once."""
        if self._batch_depth:
            return
        if self._slicer.isActive() and self._steps is None:
            self._slicer.start(FIRST_SLICE_MS)   # counted from the end of the edit
        analysed = not self.current and len(self.design.layers) <= self.background_above
        if analysed:
            previous, analysis = self.analysis, analyse(self.design)
            changed = {lid for lid, info in analysis.layers.items()
                       if previous.layers.get(lid) != info}
            redraw = None if self._redraw_all else changed | self._touched | {
                i for i in (previous.output_id, analysis.output_id) if i}
            self.analysis, self.changed_ids, self.redraw_ids = analysis, None, redraw
            self.current, self._touched, self._redraw_all = True, set(), False
        if self._selection_held:   # views read the analysis of the layer selected now
            self._selection_held = False
            self.selection_changed.emit(self.selected_id)
        if analysed:
            self.analysis_changed.emit(self.analysis)

    # --- the analysis in slices --------------------------------------------
    def _start_worker(self) -> None:
        """Starts the sliced analysis unless it runs: each slice first checks that
        the design is the one it analyses (version), else it starts again."""
        if self._slicer.isActive():
            return
        if not self._hold["held"]:   # released in _finish_slices, after the freeze
            self._hold["held"] = True
            young_only(True)
        self._steps = None
        self._slicer.start(FIRST_SLICE_MS)

    def _analyse_slice(self) -> None:
        """One turn of the event loop's worth (SLICE_S) of the analysis. It runs
        on the GUI thread between events rather than in a worker thread: a
        thread holds the GIL for up to 5 ms each time the GUI thread lets go of
        it in a Qt call, which made a 90 ms step of the GUI thread take 400 ms
        and more (measured: the step's wall time followed sys.setswitchinterval)."""
        if self.current:   # a small design now, analysed in place meanwhile
            self._finish_slices(None, None)
            return
        if self._steps is None or self._steps_version != self.version:
            # the first slice, or the design changed since: what was done is stale
            self._steps = _analysis_steps(self.design, self.analysis, self.version)
            self._steps_version = self.version
        steps, until = self._steps, time.perf_counter() + SLICE_S
        try:
            while True:   # at least one step a slice, however short SLICE_S is
                if next(steps) is READY or time.perf_counter() >= until:
                    break
            self._slicer.start(0)   # the next slice follows at once
        except StopIteration as done:
            self._finish_slices(done.value, None)
        except Exception as error:   # noqa: BLE001 - analysed again in place
            self._finish_slices(None, error)

    def _finish_slices(self, result: Any, error: BaseException | None) -> None:
        self._slicer.stop()
        self._steps = None
        try:
            if not self.current:
                self._apply_worker_result(self._steps_version, result, error)
        finally:
            keep_out_of_collections()   # what the analysis made lives on: see lifetimes
            _release(self._hold)

    def _apply_worker_result(self, version: int, result: Any,
                             error: BaseException | None) -> None:
        if version != self.version:   # never: a slice checks the version first
            self._start_worker()
            return
        if error is not None:   # shown as it would be in place
            analysis, changed = analyse(self.design), None
        else:
            analysis, changed = result[1], result[2]
        previous = self.analysis
        redraw = None if changed is None else \
            changed | self._touched | {i for i in (previous.output_id, analysis.output_id) if i}
        self.analysis, self.changed_ids, self.redraw_ids = analysis, None, redraw
        self.current, self._touched = True, set()
        # freeing the previous analysis (200,000 objects at 10,000 layers: ~25 ms)
        # is a GUI step of its own, after the views' update
        release_later(previous)
        del previous
        self.analysis_changed.emit(analysis)
        # a large design's analysis (200,000 objects for 10,000 layers) lives until
        # the next one: it is frozen out of the cyclic collector's way (in
        # _finish_slices), or a later collection walks it on the GUI thread
        # (100-300 ms); it is still freed by reference counting when dropped

    def wait_for_analysis(self, timeout_s: float = 60.0) -> bool:
        """Process events until the analysis matches the design (tests, benchmarks)."""
        from PySide6.QtCore import QCoreApplication
        until = time.monotonic() + timeout_s
        while not self.current and time.monotonic() < until:
            QCoreApplication.processEvents()
            time.sleep(0.005)
        return self.current

    def select(self, layer_id: str | None) -> None:
        if layer_id == self.selected_id:
            return
        self.selected_id = layer_id
        self.selection_changed.emit(layer_id)

    def set_weights(self, state_dict: dict[str, Any] | None, design: Design | None) -> None:
        self.weights, self.weights_design = state_dict, design
        self.weights_changed.emit(state_dict)
