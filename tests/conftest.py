import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never read or write the user's real data folder (CIFAR-10), settings or
# recovery files: both point at a folder of this run, removed at exit.
_SANDBOX = tempfile.mkdtemp(prefix="cnn-designer-tests-")
atexit.register(shutil.rmtree, _SANDBOX, True)
os.environ["CNN_DESIGNER_DATA"] = os.path.join(_SANDBOX, "data")
os.environ["CNN_DESIGNER_STATE_DIR"] = os.path.join(_SANDBOX, "state")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "samples").glob("*.json"))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

settings.register_profile("default", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")


def tiny_config(**kw: object):
    """A training run of a few seconds on the synthetic dataset, on one CPU thread
    (shared by the GUI training, plan and defect tests: `from conftest import tiny_config`)."""
    from designer.core.training_config import TrainConfig
    base = dict(dataset="synthetic", epochs=2, batch_size=32, train_limit=192, test_limit=64,
                augment_crop=False, augment_flip=False, schedule="constant", lr=0.01,
                device="cpu", precision="fp32", channels_last="off", threads=1)
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


def one_epoch_config(**kw: object):
    """tiny_config for one short epoch (the window tests that only need a finished run)."""
    return tiny_config(**{"epochs": 1, "train_limit": 128, **kw})


@pytest.fixture
def state(tmp_path, monkeypatch):
    """A settings / recovery folder of this test (CNN_DESIGNER_STATE_DIR)."""
    monkeypatch.setenv("CNN_DESIGNER_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture
def make_window(qtbot, state, monkeypatch):
    """Windows of the app on `state`, shown. Errors go to win.errors; the question
    about unsaved changes takes win.answers in turn, then "discard"."""
    from designer.gui.app import create_window

    def make(path=None, register=True, with_panels=True):
        win = create_window(path, with_panels=with_panels)
        win.errors = []
        win.answers = []
        monkeypatch.setattr(win, "_show_error", lambda t, text: win.errors.append(text))
        monkeypatch.setattr(win, "_ask_save_changes",
                            lambda: win.answers.pop(0) if win.answers else "discard")
        if register:
            qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        return win
    return make


@pytest.fixture
def undo_stack(qapp):
    """An undo stack that is emptied at teardown, while its commands' Python
    objects are alive. Left to the garbage collector, an unparented stack
    and the commands in it are freed in either order, and Qt then deletes
    commands that are already gone (a segfault at exit when a module runs
    alone). Widgets given a stack empty it in qtbot.addWidget's
    before_close_func; the window owns its stack."""
    from PySide6.QtGui import QUndoStack
    stack = QUndoStack()
    yield stack
    stack.clear()


@pytest.fixture
def samples_dir() -> Path:
    return ROOT / "samples"


@pytest.fixture
def app_window(qtbot, tmp_path, monkeypatch):
    """The app's window (create_window, with its panels), shown; closing it never
    asks to save."""
    from designer.gui.app import create_window
    monkeypatch.setenv("CNN_DESIGNER_STATE_DIR", str(tmp_path / "state"))
    win = create_window()
    monkeypatch.setattr(win, "_ask_save_changes", lambda: "discard")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item):
    """After pytest-qt has closed a test's widgets: delete them now. Its
    deleteLater() waits for an event loop that may never run, and a closed
    window left alive is then freed by the cyclic garbage collector at some
    random allocation of a later test, with worker threads still running:
    that crashed test modules run alone. Runs outside pytest-qt's wrapper."""
    result = yield
    if "PySide6.QtCore" in sys.modules:
        from PySide6.QtCore import QCoreApplication, QEvent
        if QCoreApplication.instance() is not None:
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            QCoreApplication.processEvents()
    return result
