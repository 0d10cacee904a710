"""Very large designs in the window: the analysis in slices, the canvas's texts
and routes in slices, incremental routing, and stale analyses (not timed;
tests/benchmarks/large_designs.py measures the speed)."""
from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QApplication

from designer.core.analysis import analyse
from designer.core.model import INPUT_ID, Design, InputSpec, Layer
from designer.gui import context as context_module
from designer.gui.canvas import routing, texts
from designer.gui.canvas.block_text import layer_text
from designer.gui.commands import SetParamCommand
from designer.gui.context import DesignContext
from designer.io import save


def conv_stack(n: int) -> Design:
    design = Design(f"{n}-layer stack", InputSpec(3, 16, 16))
    design.set_layers([Layer(f"conv{i + 1}", "Conv2d",
                             {"out_channels": 4, "kernel_size": 3, "padding": 1},
                             [f"conv{i}" if i else INPUT_ID]) for i in range(n)])
    return design


def branchy(groups: int) -> Design:
    design = Design("branchy", InputSpec(3, 16, 16))
    layers, last = [], INPUT_ID
    for i in range(groups):
        layers += [Layer(f"a{i}", "Conv2d", {"out_channels": 4, "kernel_size": 3,
                                               "padding": 1}, [last]),
                   Layer(f"b{i}", "Conv2d", {"out_channels": 4, "kernel_size": 1}, [last]),
                   Layer(f"cat{i}", "Concat", {}, [f"a{i}", f"b{i}"])]
        last = f"cat{i}"
    design.set_layers(layers)
    return design


def wait_complete(qtbot, window) -> None:
    scene = window.canvas.design_scene()
    qtbot.waitUntil(lambda: window.context.current and scene.pending() == 0, timeout=120_000)


def infos_equal(a, b) -> bool:
    return a.layers == b.layers and a.order == b.order and a.output_id == b.output_id \
        and [e.message for e in a.errors] == [e.message for e in b.errors]


def assert_canvas_matches(window) -> None:
    """Every block shows its analysed text and every edge has a route."""
    scene, context = window.canvas.design_scene(), window.context
    design, analysis = context.design, context.analysis
    assert infos_equal(analysis, analyse(design))
    for layer in design.layers:
        assert scene.blocks[layer.id].text == layer_text(layer, analysis.layers[layer.id],
                                                         analysis), layer.id
    assert set(scene.edges) == set(design.edges())
    assert all(not edge.path().isEmpty() for edge in scene.edges.values())


@pytest.fixture
def small_slices(monkeypatch):
    """Slices and progressive routing at a few hundred items, so that a 2,000-layer
    design takes the paths of a 10,000-layer one."""
    monkeypatch.setattr(routing, "PROGRESSIVE", 200)
    monkeypatch.setattr(texts, "SLICE", 200)


def test_a_2000_layer_design_opens_edits_and_undoes(qtbot, tmp_path, monkeypatch,
                                                    small_slices):
    from designer.gui.app import create_window
    monkeypatch.setenv("CNN_DESIGNER_STATE_DIR", str(tmp_path / "state"))
    path = tmp_path / "big.json"
    save(conv_stack(2000), str(path))
    window = create_window(str(path))
    qtbot.addWidget(window)
    window.show()
    assert not window.context.current   # analysed in slices: the window comes first
    assert window.canvas.block_item("conv1000").text.shape == "?"
    wait_complete(qtbot, window)
    assert_canvas_matches(window)
    design, stack = window.context.design, window.undo_stack

    # a parameter edit is incremental: applied at once, in the GUI thread
    stack.push(SetParamCommand(design, "conv1000", "out_channels", 7))
    assert window.context.current
    assert window.canvas.block_item("conv1000").text.shape == "7×16×16"

    # a structural edit: the sliced analysis arrives and is applied
    window.context.select("conv1500")
    new = window.canvas.append_layer("ReLU")
    assert new is not None and len(design.layers) == 2001
    wait_complete(qtbot, window)
    assert_canvas_matches(window)
    assert design.layer("conv1501").inputs == [new]

    # delete it again (its neighbours reconnect), then undo both
    scene = window.canvas.design_scene()
    scene.clearSelection()
    scene.blocks[new].setSelected(True)
    window.canvas.delete_selected()
    wait_complete(qtbot, window)
    assert new not in design and design.layer("conv1501").inputs == ["conv1500"]
    assert_canvas_matches(window)
    stack.undo()
    wait_complete(qtbot, window)
    assert design.layer("conv1501").inputs == [new]
    stack.undo()
    stack.undo()
    wait_complete(qtbot, window)
    assert len(design.layers) == 2000 and design.layer("conv1000").params["out_channels"] == 4
    assert_canvas_matches(window)
    window.undo_stack.setClean()
    window.close()


def test_incremental_routes_equal_a_full_routing(qtbot):
    """After an insertion that moves the blocks below it (their edges are shifted,
    not routed again), every route is the one a full routing gives."""
    from tests.test_gui_canvas import make_canvas
    design = branchy(120)
    canvas = make_canvas(qtbot, design)
    context = canvas.context
    context.background_above = 10_000   # analysed in place: this test is about routes
    scene = canvas.design_scene()
    context.select("cat60")
    canvas.append_layer("ReLU")
    scene.flush()
    design.move_layer("a61", (900.0, scene.blocks["a61"].y()))   # one block moves alone
    scene.flush()
    routed = {key: edge.path() for key, edge in scene.edges.items()}
    scene.router.mark_all()
    scene.flush()
    for key, edge in scene.edges.items():
        assert edge.path() == routed[key], key


def test_a_stale_analysis_is_never_applied(qtbot, monkeypatch):
    """An edit made while a large design's analysis runs in slices: the slices
    done so far are dropped, the analysis starts again on the edited design, and
    only an analysis of the design as it is reaches the views. Every step runs
    in the GUI thread (no thread holds the GIL while the GUI works)."""
    monkeypatch.setattr(context_module, "SLICE_S", 0.0)   # one step a slice
    started, threads = [], set()
    real = context_module._analysis_steps
    hold = {"on": False}   # an analysis started while on stops after 5 steps

    def spied(design, previous, version):
        started.append(version)
        held, count = hold["on"], 0
        steps = real(design, previous, version)
        while True:
            threads.add(threading.get_ident())
            while held and count >= 5:   # part of the way, however fast slices run
                yield None
            count += 1
            try:
                value = next(steps)
            except StopIteration as done:
                return done.value
            yield value

    monkeypatch.setattr(context_module, "_analysis_steps", spied)
    from designer.gui import lifetimes
    held_before = lifetimes._young_only["count"]
    design = conv_stack(60)
    context = DesignContext(design, background_above=10)   # every structural edit slices
    assert not context.current and context.analysis.layers == {}   # nothing known yet
    qtbot.waitUntil(lambda: context.current, timeout=30_000)   # the first analysis
    assert infos_equal(context.analysis, analyse(design))
    started.clear()
    seen = []
    context.analysis_changed.connect(lambda a: seen.append((len(design.layers), a)))

    hold["on"] = True
    design.add_layer("ReLU", layer_id="relu_a")
    assert not context.current and seen == []
    qtbot.waitUntil(lambda: bool(started), timeout=10_000)   # the first slice
    for _ in range(10):            # part of the way through the 61 layers
        QApplication.processEvents()
    assert not context.current and started == [context.version]
    hold["on"] = False
    design.add_layer("ReLU", layer_id="relu_b")   # the design changes under it
    assert not context.current
    qtbot.waitUntil(lambda: context.current, timeout=30_000)
    assert started == [context.version - 1, context.version]   # started again
    assert len(seen) == 1                         # the stale slices never reached a view
    count, applied = seen[0]
    assert count == 62 and "relu_b" in applied.layers
    assert infos_equal(applied, analyse(design))
    assert threads == {threading.get_ident()}
    QApplication.processEvents()
    # the analysis released its hold on older collections
    assert lifetimes._young_only["count"] <= held_before


def test_sliced_analysis_names_the_blocks_to_redraw(qtbot, monkeypatch):
    """After a sliced analysis the views redraw the layers whose LayerInfo
    changed plus those the edit named, and the result equals analyse()."""
    monkeypatch.setattr(context_module, "SLICE_S", 0.0)
    design = conv_stack(40)
    context = DesignContext(design, background_above=10)
    qtbot.waitUntil(lambda: context.current, timeout=30_000)
    before = context.analysis
    # a stride-2 conv in the middle halves every shape below it
    layer = design.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 3, "stride": 2,
                                        "padding": 1}, inputs=["conv20"], layer_id="down")
    design.set_inputs("conv21", [layer.id])
    qtbot.waitUntil(lambda: context.current, timeout=30_000)
    after = analyse(design)
    assert infos_equal(context.analysis, after)
    changed = {lid for lid, info in after.layers.items() if before.layers.get(lid) != info}
    assert {"down", "conv21", "conv40"} <= changed and "conv20" not in changed
    assert changed <= context.redraw_ids
    assert "conv5" not in context.redraw_ids


def test_an_analysis_error_is_shown_as_in_place(qtbot, monkeypatch):
    """A step that raises ends the slices (no timer left spinning) and the
    design is analysed in place, as a small design would be."""
    monkeypatch.setattr(context_module, "SLICE_S", 0.0)
    design = conv_stack(20)

    def broken(design, previous, version):
        yield
        raise RuntimeError("boom")

    monkeypatch.setattr(context_module, "_analysis_steps", broken)
    context = DesignContext(design, background_above=10)
    qtbot.waitUntil(lambda: context.current, timeout=30_000)
    assert infos_equal(context.analysis, analyse(design))
    assert not context._slicer.isActive()


def _shown_at_model_places(scene, design, ids) -> list[str]:
    """The ids among `ids` whose block is not where the model has it."""
    return [lid for lid in ids if (scene.blocks[lid].x(), scene.blocks[lid].y())
            != tuple(design.layer(lid).position)]


def test_blocks_making_room_move_on_screen_first_then_in_slices(qtbot, monkeypatch):
    """Inserting mid-chain moves every block below: the model at once (one undo
    step), the blocks on screen at the next flush, the rest in slices; an edit
    made meanwhile first settles them; at the end blocks and routes are exactly
    what a full, immediate update gives."""
    from designer.gui.canvas import late_moves
    from tests.test_gui_canvas import make_canvas
    monkeypatch.setattr(late_moves, "LATE_ABOVE", 20)
    monkeypatch.setattr(late_moves, "SLICE_MS", 0.0)   # 50 blocks a slice
    design = conv_stack(400)
    canvas = make_canvas(qtbot, design)
    context, scene = canvas.context, canvas.design_scene()
    context.background_above = 10_000   # analysed in place: this test is about places
    scene.flush()
    canvas.centerOn(scene.blocks["conv200"])
    QApplication.processEvents()
    below = [f"conv{i}" for i in range(201, 401)]
    before = {lid: design.layer(lid).position for lid in below}

    context.select("conv200")
    new = canvas.append_layer("ReLU")
    for lid in below:   # the model moved them all, one row down
        assert design.layer(lid).position[1] > before[lid][1]
    stale = _shown_at_model_places(scene, design, below)
    assert len(stale) == 200 - 20 and scene.pending() >= len(stale)
    scene.flush()   # what the timer does next: the blocks on screen first
    view = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    on_screen = [lid for lid in below if view.contains(*design.layer(lid).position)]
    assert on_screen and not _shown_at_model_places(scene, design, on_screen)
    assert _shown_at_model_places(scene, design, below)   # the rest still on its way

    # an edit that reads block places settles the waiting moves first
    context.select("conv380")
    second = canvas.append_layer("ReLU")
    assert scene.blocks[second].y() == scene.blocks["conv380"].y() + \
        (design.layer(second).position[1] - design.layer("conv380").position[1])
    qtbot.waitUntil(lambda: scene.pending() == 0, timeout=30_000)
    ids = [lay.id for lay in design.layers]
    assert not _shown_at_model_places(scene, design, ids)
    ys = [design.layer(lid).position[1] for lid in ids]   # a chain: one row each, no overlap
    assert ys == sorted(ys) and len(set(ys)) == len(ys)
    routed = {key: edge.path() for key, edge in scene.edges.items()}
    scene.router.mark_all()
    scene.flush()
    for key, edge in scene.edges.items():
        assert edge.path() == routed[key], key

    # undo moves them back the same way
    scene.undo_stack.undo()
    scene.undo_stack.undo()
    assert new not in design and second not in design
    qtbot.waitUntil(lambda: scene.pending() == 0, timeout=30_000)
    assert not _shown_at_model_places(scene, design, [lay.id for lay in design.layers])
    assert all(design.layer(lid).position == before[lid] for lid in below)


def test_the_first_slice_waits_for_the_edit_to_be_shown(qtbot, undo_stack):
    """The analysis' first slice comes FIRST_SLICE_MS after the end of the edit
    (the canvas repaints first), the following ones at once."""
    from designer.gui.commands import AddLayerCommand
    design = conv_stack(40)
    context = DesignContext(design, background_above=10)
    qtbot.waitUntil(lambda: context.current, timeout=30_000)
    undo_stack.push(AddLayerCommand(design, "ReLU", inputs=["conv40"]))
    assert not context.current and context._slicer.isActive()
    assert context._slicer.interval() == context_module.FIRST_SLICE_MS
    qtbot.waitUntil(lambda: context._steps is not None or context.current, timeout=10_000)
    assert context._slicer.interval() == 0 or context.current
    qtbot.waitUntil(lambda: context.current, timeout=30_000)
    assert infos_equal(context.analysis, analyse(design))


def test_the_result_is_applied_in_a_slice_of_its_own(qtbot, monkeypatch):
    """However much time a slice has, the views get the analysis at the start of
    the next one (their update is a GUI step of its own), and it is current."""
    design = conv_stack(40)
    context = DesignContext(design, background_above=10)
    qtbot.waitUntil(lambda: context.current, timeout=30_000)
    monkeypatch.setattr(context_module, "SLICE_S", 10.0)
    design.add_layer("ReLU", inputs=["conv40"], layer_id="tail")
    context._analyse_slice()          # every step, up to the result
    assert not context.current and "tail" not in context.analysis.layers
    context._analyse_slice()
    assert context.current and not context._slicer.isActive()
    assert infos_equal(context.analysis, analyse(design))


def test_the_replaced_analysis_is_freed_in_a_step_of_its_own(qtbot, monkeypatch):
    """Freeing the previous analysis (200,000 objects at 10,000 layers) waits for
    the next turn of the event loop, after the views' update."""
    import weakref
    design = conv_stack(40)
    context = DesignContext(design, background_above=10)
    qtbot.waitUntil(lambda: context.current, timeout=30_000)
    QApplication.processEvents()
    old = weakref.ref(context.analysis)
    monkeypatch.setattr(context_module, "SLICE_S", 10.0)
    design.add_layer("ReLU", inputs=["conv40"], layer_id="tail")
    context._analyse_slice()
    context._analyse_slice()          # applied
    assert context.current and old() is not None and old() is not context.analysis
    QApplication.processEvents()
    assert old() is None


def test_a_context_deleted_while_slicing_lets_go_of_its_hold(qtbot):
    """A window closed while its analysis runs in slices: the hold on older
    collections goes with it (it would otherwise last until it expires)."""
    from designer.gui import lifetimes
    before = lifetimes._young_only["count"]
    context = DesignContext(conv_stack(40), background_above=10)
    assert not context.current and lifetimes._young_only["count"] == before + 1
    context.deleteLater()
    del context
    qtbot.waitUntil(lambda: lifetimes._young_only["count"] == before, timeout=10_000)
