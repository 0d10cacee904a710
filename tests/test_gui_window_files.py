"""Files, autosave recovery, clipboard and export through the window."""
from __future__ import annotations

import json

import pytest
from PySide6.QtGui import QGuiApplication

from designer.core.training_config import TrainConfig
from designer.export.pytorch_code import generate_model_code
from designer.export.train_script import generate_train_script
from designer.gui.autosave import read_recovery
from designer.gui.edit_actions import ClipboardError
from designer.io import dumps, load


def _edit(win):
    win.context.select("conv1")
    win.properties.editors["out_channels"].box.setValue(7)


def test_save_and_open_round_trip(make_window, tmp_path, monkeypatch):
    win = make_window()
    _edit(win)
    path = tmp_path / "mine.json"
    monkeypatch.setattr(win, "_ask_save_path", lambda *a: str(path))
    win.actions_.save.trigger()   # no file yet: Save asks where
    assert path.is_file() and win.file_path == str(path.resolve())
    assert not win.is_modified() and "mine.json" in win.windowTitle()
    saved = dumps(win.context.design)
    assert dumps(load(path)) == saved
    win.context.select("conv2")
    win.properties.editors["out_channels"].box.setValue(20)
    assert win.is_modified()
    win.answers.append("discard")
    assert win.open_file(str(path))
    assert dumps(win.context.design) == saved
    assert win.undo_stack.count() == 0 and not win.is_modified()
    assert win.files.recent_files()[0] == str(path.resolve())
    other = make_window(str(path))
    assert dumps(other.context.design) == saved and other.file_path == str(path.resolve())


def test_broken_file_shows_message_and_keeps_design(make_window, tmp_path):
    win = make_window()
    _edit(win)
    before = dumps(win.context.design)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "cnn-designer", "schema_version": 1, "design": '
                   '{"layers": [{"id": "a", "type": "Conv2D"}]}}')
    win.answers.append("discard")
    assert win.open_file(str(bad)) is False
    assert len(win.errors) == 1 and 'did you mean "Conv2d"' in win.errors[0]
    assert dumps(win.context.design) == before and win.is_modified()


def test_unsaved_prompt_cancel_save_discard(make_window, tmp_path, monkeypatch):
    win = make_window()
    _edit(win)
    win.answers.append("cancel")
    win.actions_.new.trigger()
    assert win.context.design.name == "LeNet-5" and win.is_modified()
    win.answers.append("cancel")
    assert win.close() is False
    path = tmp_path / "kept.json"
    monkeypatch.setattr(win, "_ask_save_path", lambda *a: str(path))
    win.answers.append("save")
    win.actions_.new.trigger()
    assert path.is_file() and load(path).layer("conv1").params["out_channels"] == 7
    assert win.context.design.layers == [] and not win.is_modified()
    assert win.context.analysis.errors   # an empty design is shown, with its message
    win.append_entry("layer", "Conv2d")
    win.answers.append("discard")
    assert win.close() is True


def test_samples_open_as_untitled_copies(make_window, samples_dir):
    win = make_window()
    win.files.open_sample(samples_dir / "resnet_small.json")
    assert win.file_path is None
    sample = load(samples_dir / "resnet_small.json")
    # the canvas stores the places it chose for layers that had none
    assert [(lay.id, lay.type, lay.params, lay.inputs) for lay in win.context.design.layers] == \
        [(lay.id, lay.type, lay.params, lay.inputs) for lay in sample.layers]
    assert not win.is_modified()
    menus = [a.menu() for a in win.menuBar().actions()[0].menu().actions()
             if a.menu() is not None and a.text() == "Sa&mples"]
    entries = [a.text() for a in menus[0].actions()]
    assert len(entries) == len(list(samples_dir.glob("*.json")))
    assert any(t.startswith("LeNet-5") for t in entries)


def test_autosave_recovery_after_crash(make_window, state, qtbot):
    win = make_window(register=False)
    _edit(win)
    win.autosaver.save_now()
    assert win.autosaver.path.is_file()
    edited = dumps(win.context.design)
    # the window goes away without a clean close (a crash): the file stays
    win.autosaver.stop()
    win.setParent(None)
    win.deleteLater()
    qtbot.wait(10)
    assert read_recovery() is not None
    fresh = make_window()
    asked = []
    fresh._ask_restore_recovery = lambda rec: asked.append(rec) or True
    assert fresh.offer_recovery() is True
    assert asked and dumps(fresh.context.design) == edited
    assert fresh.is_modified() and fresh.isWindowModified()
    fresh.answers.append("discard")
    assert fresh.close()
    assert not win.autosaver.path.exists() and not fresh.autosaver.path.exists()
    assert read_recovery() is None   # closed cleanly: nothing to offer next time


def test_recovery_can_be_discarded(make_window, state):
    win = make_window()
    _edit(win)
    win.autosaver.save_now()
    win.autosaver.stop()   # as if its window had crashed
    second = make_window()
    second._ask_restore_recovery = lambda rec: False
    assert second.offer_recovery() is False
    assert not win.autosaver.path.exists()
    assert second.context.design.layer("conv1").params["out_channels"] == 6


def test_autosave_only_with_unsaved_changes_and_debounced(make_window, state, qtbot, tmp_path):
    win = make_window()
    path = win.autosaver.path
    assert win.autosaver.save_now() is False and not path.exists()
    win.autosaver.debounce.setInterval(20)
    _edit(win)
    qtbot.waitUntil(path.is_file, timeout=2000)
    data = json.loads(path.read_text())
    assert data["file"]["design"]["layers"][0]["params"]["out_channels"] == 7
    assert win.save_file(str(tmp_path / "x.json"))
    assert not path.exists()


def test_copy_paste_keeps_internal_edges_with_fresh_ids(make_window):
    win = make_window()
    design = win.context.design
    win.clipboard.copy(["conv2", "relu2", "pool2"])
    text = QGuiApplication.clipboard().text()
    assert json.loads(text)["format"] == "cnn-designer"
    win.context.select("pool2")
    n = len(design.layers)
    win.paste()
    ids = [lay.id for lay in design.layers[n:]]
    assert len(ids) == 3 and not set(ids) & {"conv2", "relu2", "pool2"}
    a, b, c = (design.layer(i) for i in ids)
    assert a.inputs == ["pool2"] and b.inputs == [a.id] and c.inputs == [b.id]
    assert a.params == {"out_channels": 16, "kernel_size": 5}
    with pytest.raises(ClipboardError):
        win.clipboard.paste(text="not json at all")
    QGuiApplication.clipboard().setText("hello")
    win.paste()   # a status message, no exception
    assert "no CNN Designer layers" in win.statusBar().currentMessage()


def test_export_dialog_matches_exporter(make_window, tmp_path, monkeypatch):
    win = make_window()
    shown = []
    monkeypatch.setattr(win, "_show_export_dialog", shown.append)
    win.actions_.export_code.trigger()
    dialog = shown[0]
    design = win.context.design
    assert dialog.error is None
    assert dialog.model_view.toPlainText() == generate_model_code(design)
    assert dialog.train_view.toPlainText() == generate_train_script(
        design, TrainConfig.from_dict(design.training))
    dialog.copy()
    assert QGuiApplication.clipboard().text() == generate_model_code(design)
    files = dialog.save(str(tmp_path / "model.py"))
    assert [f.name for f in files] == ["model.py", "train.py"]
    assert files[0].read_text() == generate_model_code(design)
    other = dialog.save(str(tmp_path / "lenet_net.py"))
    assert "lenet_net" in other[1].read_text()
    dialog.close()


def test_export_dialog_shows_exporter_message_for_broken_design(make_window, monkeypatch):
    win = make_window()
    win.context.select("conv2")
    win.properties.editors["groups"].box.setValue(4)
    shown = []
    monkeypatch.setattr(win, "_show_export_dialog", shown.append)
    win.export_code()
    dialog = shown[0]
    assert dialog.error and ("conv2" in dialog.error or "groups" in dialog.error)
    assert not dialog.save_button.isEnabled()
    assert dialog.error in dialog.message.text()
    dialog.close()


def test_export_image_png_and_svg(make_window, tmp_path, monkeypatch):
    win = make_window()
    for name in ("net.png", "net.svg"):
        monkeypatch.setattr(win, "_ask_save_path", lambda *a, n=name: str(tmp_path / n))
        win.actions_.export_image.trigger()
        assert (tmp_path / name).stat().st_size > 1000
    assert (tmp_path / "net.svg").read_text().lstrip().startswith("<?xml")


def test_settings_remember_geometry_and_recent(make_window, tmp_path, samples_dir):
    win = make_window(str(samples_dir / "dilated.json"))
    win.resize(1000, 700)
    win.summary_dock.hide()
    assert win.close()
    again = make_window()
    assert again.files.recent_files()[0] == str((samples_dir / "dilated.json").resolve())
    assert again.summary_dock.isHidden()


def test_menus_open_samples_and_recent_files(make_window, samples_dir, tmp_path):
    win = make_window()
    file_menu = win.menuBar().actions()[0].menu()
    submenus = {a.text(): a.menu() for a in file_menu.actions() if a.menu() is not None}
    sample = next(a for a in submenus["Sa&mples"].actions() if "dilated.json" in a.text())
    sample.trigger()
    assert win.context.design.name == load(samples_dir / "dilated.json").name
    assert win.file_path is None
    saved = tmp_path / "again.json"
    assert win.save_file(str(saved))
    win.files.new()
    recent = submenus["Open &Recent"]
    recent.aboutToShow.emit()
    entry = next(a for a in recent.actions() if "again.json" in a.text())
    entry.trigger()
    assert win.file_path == str(saved.resolve()) and win.context.design.layers
