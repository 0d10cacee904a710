"""File > Import PyTorch Model…: the dialog (warns that it runs the file, lists
names without running it), the import in a worker, the result as a new
untitled design, and the report."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMessageBox

import import_zoo as zoo
from designer.gui.import_dialog import ImportDialog, candidate_names, controller_of

ZOO = zoo.__file__


def test_dialog_warns_and_lists_names_without_running(qtbot, tmp_path) -> None:
    src = tmp_path / "trap.py"
    marker = tmp_path / "ran"
    src.write_text(f"open({str(marker)!r}, 'w').close()\n"
                   "class Net:\n    pass\n\ndef make():\n    return Net()\n\n"
                   "def needs(width):\n    pass\n\nclass _Hidden:\n    pass\n")
    assert candidate_names(str(src)) == ["Net", "make"]
    dialog = ImportDialog()
    qtbot.addWidget(dialog)
    warning = dialog.findChild(QLabel, "importWarning")
    assert "runs the chosen Python file" in warning.text()
    dialog.path.setText(str(src))
    assert [dialog.name.itemText(i) for i in range(dialog.name.count())] == ["Net", "make"]
    assert dialog.source() == f"{src}:Net"
    assert not marker.exists()  # listing names read the text; nothing ran


def test_import_runs_in_a_worker_and_opens_a_new_design(app_window, qtbot) -> None:
    win = app_window
    before = win.context.design
    controller = controller_of(win)
    with qtbot.waitSignal(controller.done, timeout=60000) as blocker:
        controller.start(f"{ZOO}:ResNet18", "3x32x32")
        assert controller.running is not None  # the GUI thread returned at once
    outcome = blocker.args[0]
    assert outcome.ok, outcome.report
    design = win.context.design
    assert design is before  # the document's design is replaced in place
    assert design.name == "ResNet18"
    assert "layer1.0.conv1" in design and len(design.layers) == 69
    assert win.file_path is None and win.is_modified()  # a new, unsaved document
    assert controller.report_box is not None
    assert "11,689,512 parameters" in controller.report_box.text()
    controller.report_box.close()


def test_unsupported_model_shows_the_report_and_keeps_the_design(app_window, qtbot) -> None:
    win = app_window
    names = [lay.id for lay in win.context.design.layers]
    controller = controller_of(win)
    with qtbot.waitSignal(controller.done, timeout=60000):
        controller.start(f"{ZOO}:ConvLSTM", "3x16x16")
    box = controller.report_box
    assert box is not None and box.icon() == QMessageBox.Warning
    assert "nn.LSTM module 'rnn'" in box.detailedText()
    assert [lay.id for lay in win.context.design.layers] == names
    box.close()


def test_missing_file_is_a_message_not_a_crash(app_window, qtbot, tmp_path) -> None:
    controller = controller_of(app_window)
    with qtbot.waitSignal(controller.done, timeout=60000) as blocker:
        controller.start(f"{tmp_path}/nope.py:Net")
    assert "no such file" in blocker.args[0].error
    assert "no such file" in controller.report_box.text()
    controller.report_box.close()


def test_file_menu_has_the_import_action(app_window) -> None:
    texts = [a.text() for a in app_window.menuBar().actions()[0].menu().actions()]
    assert "&Import PyTorch Model…" in texts


def test_model_with_errors_opens_on_request_with_the_error_marked(app_window, qtbot,
                                                                  monkeypatch) -> None:
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.Yes)
    controller = controller_of(app_window)
    with qtbot.waitSignal(controller.done, timeout=60000) as blocker:
        controller.start(f"{ZOO}:SimpleCNN", "3x32x32")
    assert not blocker.args[0].ok
    assert "2,048 values per image" in asked[0]
    design = app_window.context.design
    assert design.name == "SimpleCNN" and design.layer("fc1").params["in_features"] == 8192
    assert app_window.context.analysis.layers["fc1"].errors
