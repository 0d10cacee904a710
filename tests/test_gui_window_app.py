"""The app entry point: `python -m designer [FILE]` shows the window, quickly,
without importing torch; an unreadable file keeps the sample and reports it."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from designer.gui.app import create_window


def _run(args, tmp_path):
    from conftest import ROOT
    env = dict(os.environ, CNN_DESIGNER_QUIT_AFTER_SHOW="1", QT_QPA_PLATFORM="offscreen",
               CNN_DESIGNER_STATE_DIR=str(tmp_path / "state"))
    out = subprocess.run([sys.executable, "-m", "designer", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("shown_at="))
    return line


def test_app_opens_lenet_by_default_without_torch(tmp_path):
    line = _run([], tmp_path)
    assert "torch_imported=False" in line
    assert "LeNet-5" in line and "layers=12" in line


def test_app_opens_the_given_file(tmp_path, samples_dir):
    line = _run([str(samples_dir / "dilated.json")], tmp_path)
    assert "dilated.json" in line and "startup_error=False" in line


def test_unreadable_file_keeps_the_sample_and_reports(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_DESIGNER_STATE_DIR", str(tmp_path / "state"))
    bad = tmp_path / "broken.json"
    bad.write_text("{ not json")
    win = create_window(str(bad))
    qtbot.addWidget(win)
    assert win.context.design.name == "LeNet-5" and win.file_path is None
    shown = []
    monkeypatch.setattr(win, "_show_error", lambda title, text: shown.append(text))
    monkeypatch.setattr(win, "_ask_restore_recovery", lambda rec: pytest.fail("no recovery"))
    win.startup_checks()
    assert len(shown) == 1 and "not valid JSON" in shown[0] and "broken.json" in shown[0]
