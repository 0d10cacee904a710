"""Dataset choice: CIFAR-10 from a data folder (found / located / downloaded)
or the synthetic dataset. Everything that touches the disk or the network runs
off the GUI thread."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from designer.gui.training.data_label import nd_dataset_text
from designer.gui.lifetimes import keep_until_finished
from designer.gui.training.background import call_in_background

DATASETS = [("cifar10", "CIFAR-10"), ("synthetic", "Synthetic (not real data)")]
SETTINGS_KEY = "training/data_dir"


class DownloadWorker(QObject):
    progress = Signal(int, int)     # bytes done, bytes total (0 when unknown)
    done = Signal(object, str)      # path or None, error message ("" when fine)

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self._data_dir = data_dir
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @Slot()
    def run(self) -> None:
        try:
            from designer.nn.data import download_cifar10
            path = download_cifar10(self._data_dir, self._report, self._cancel.is_set)
            if self._cancel.is_set():
                self.done.emit(None, "download cancelled")
            else:
                self.done.emit(Path(path), "")
        except BaseException as e:  # network, disk, checksum: all shown to the user
            msg = "download cancelled" if self._cancel.is_set() else \
                f"the download failed: {e or type(e).__name__}"
            self.done.emit(None, msg)

    def _report(self, done: int, total: int | None) -> None:
        # Qt ints are 32-bit: report in kilobytes
        self.progress.emit(int(done) // 1024, int(total or 0) // 1024)


class DatasetBox(QWidget):
    """Emits changed() when the dataset or the data folder changes."""
    changed = Signal()
    message = Signal(str)            # an error for the panel's message area
    status_known = Signal(bool)      # CIFAR-10 found or not, after each check

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._default_dir: Path | None = None
        self._found: bool | None = None
        self._check_serial = 0
        self._deferred = True    # the first check waits for activate(): torch is slow to import
        self._dl_thread: QThread | None = None
        self._dl_worker: DownloadWorker | None = None
        self.nd_text: str | None = None    # set for 1-D / 3-D designs (set_design_shape)

        self.combo = QComboBox()
        for key, label in DATASETS:
            self.combo.addItem(label, key)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("default data folder")
        self.folder.setToolTip("The folder holding cifar-10-batches-py (or where to download it)")
        stored = settings.value(SETTINGS_KEY, "")
        self.folder.setText(str(stored) if stored else "")
        self.locate_button = QPushButton("Locate…")
        self.download_button = QPushButton("Download")
        self.download_button.setToolTip("Fetch CIFAR-10 (163 MB) from its official address")
        self.cancel_button = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Dataset", self.combo)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(self.locate_button)
        form.addRow("Data folder", row)
        dl = QHBoxLayout()
        dl.addWidget(self.download_button)
        dl.addWidget(self.progress, 1)
        dl.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(form)
        lay.addLayout(dl)
        lay.addWidget(self.status)
        self._show_downloading(False)

        self.combo.currentIndexChanged.connect(self._on_dataset_changed)
        self.folder.editingFinished.connect(self._on_folder_edited)
        self.locate_button.clicked.connect(self.locate)
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button.clicked.connect(self.cancel_download)
        self._on_dataset_changed()

    # --- values -------------------------------------------------------------
    @property
    def dataset(self) -> str:
        return str(self.combo.currentData())

    def set_dataset(self, key: str) -> None:
        i = self.combo.findData(key)
        self.combo.setCurrentIndex(i if i >= 0 else 0)

    @property
    def data_dir(self) -> str | None:
        """The chosen folder, or None for the engine's default."""
        text = self.folder.text().strip()
        return text or None

    @property
    def found(self) -> bool | None:
        return self._found

    def set_data_dir(self, path: str | None, remember: bool = True) -> None:
        self._deferred = False
        self.folder.setText(path or "")
        if remember:
            self._settings.setValue(SETTINGS_KEY, path or "")
        self.refresh_status()
        self.changed.emit()

    # --- status -------------------------------------------------------------
    def activate(self) -> None:
        """Run the first dataset check (the panel calls this once it is shown)."""
        if self._deferred:
            self._deferred = False
            self.refresh_status()

    def set_design_shape(self, input_shape: tuple[int, ...],
                         output_shape: tuple[int, ...] | None) -> None:
        """A 1-D or 3-D design trains on synthetic data of its shape: say so,
        and grey out the CIFAR-10 controls (the setting is kept for 2-D)."""
        text = nd_dataset_text(input_shape, output_shape)
        if text == self.nd_text:
            return
        self.nd_text = text
        self.combo.setEnabled(text is None)
        self._on_dataset_changed()

    def refresh_status(self) -> None:
        if self.nd_text is not None:
            self._found = None
            self._set_status(self.nd_text, "#1f4e79")
            return
        if self.dataset == "synthetic":
            self._found = None
            self._set_status("Synthetic images with learnable patterns: not real data. "
                             "Use it to try a design without downloading anything.", "#555")
            return
        self._set_status("Looking for CIFAR-10…", "#555")
        self._found = None
        if self._deferred:
            return
        self._check_serial += 1
        serial, folder = self._check_serial, self.data_dir
        call_in_background(lambda: _find(folder),
                           lambda res, err: self._on_checked(serial, res, err), self)

    def _on_checked(self, serial: int, res: Any, err: BaseException | None) -> None:
        if serial != self._check_serial or self.dataset == "synthetic" \
                or self.nd_text is not None:
            return
        if err is not None:
            self._found = False
            self._set_status(f"Cannot look for CIFAR-10: {err}", "#b00020")
        else:
            folder, path, incomplete = res
            if self._default_dir is None and self.data_dir is None:
                self._default_dir = folder
            self._found = path is not None
            if path is not None:
                self._set_status(f"CIFAR-10 found in {path}", "#1b7a1b")
            elif incomplete is not None:
                self._set_status(f"{incomplete[0].upper()}{incomplete[1:]}: delete that folder "
                                 "and use Download, or Locate… a complete copy.", "#b00020")
            else:
                self._set_status(f"CIFAR-10 not found in {folder}: use Download, or "
                                 "Locate… the folder that holds cifar-10-batches-py.",
                                 "#b00020")
        self.status_known.emit(bool(self._found))

    def _set_status(self, text: str, colour: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {colour};")

    # --- user actions ---------------------------------------------------------
    def _on_dataset_changed(self) -> None:
        real = self.dataset == "cifar10" and self.nd_text is None
        for w in (self.folder, self.locate_button, self.download_button):
            w.setEnabled(real)
        self.refresh_status()
        self.changed.emit()

    def _on_folder_edited(self) -> None:
        if (self._settings.value(SETTINGS_KEY, "") or "") != self.folder.text().strip():
            self.set_data_dir(self.data_dir)

    def ask_folder(self) -> str:
        """The folder dialog (tests replace this)."""
        start = self.data_dir or (str(self._default_dir) if self._default_dir else "")
        return QFileDialog.getExistingDirectory(self, "Folder with CIFAR-10", start)

    def locate(self) -> None:
        path = self.ask_folder()
        if path:
            p = Path(path)
            if p.name == "cifar-10-batches-py":  # the user picked the inner folder
                p = p.parent
            self.set_data_dir(str(p))

    @property
    def downloading(self) -> bool:
        return self._dl_thread is not None

    def start_download(self) -> None:
        if self._dl_thread is not None:
            return
        folder = Path(self.data_dir) if self.data_dir else self._default_dir
        if folder is None:
            call_in_background(lambda: _find(None)[0],
                               lambda res, err: self._download_into(res, err), self)
            return
        self._download_into(folder, None)

    def _download_into(self, folder: Path | None, err: BaseException | None) -> None:
        if folder is None:
            self.message.emit(f"No folder to download into: {err}")
            return
        thread = QThread()
        worker = DownloadWorker(Path(folder))
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        worker.progress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        worker.done.connect(self._on_download_done, Qt.ConnectionType.QueuedConnection)
        self._dl_thread, self._dl_worker = thread, worker
        self.progress.setRange(0, 0)
        self._show_downloading(True)
        self._set_status(f"Downloading CIFAR-10 into {folder}…", "#555")
        keep_until_finished(thread, worker, stop=worker.cancel)   # outlives this box
        thread.start()

    def cancel_download(self) -> None:
        if self._dl_worker is not None:
            self._dl_worker.cancel()

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Cancel a download and join its thread."""
        thread = self._dl_thread
        if thread is None:
            return True
        self.cancel_download()
        ok = thread.wait(timeout_ms)
        if ok:
            self._dl_thread, self._dl_worker = None, None
        return ok

    @Slot(int, int)
    def _on_progress(self, done_kb: int, total_kb: int) -> None:
        if total_kb > 0:
            self.progress.setRange(0, total_kb)
            self.progress.setValue(min(done_kb, total_kb))
            self.progress.setFormat(f"{done_kb / 1024:.0f} / {total_kb / 1024:.0f} MB")
        else:
            self.progress.setRange(0, 0)

    @Slot(object, str)
    def _on_download_done(self, path: Path | None, error: str) -> None:
        if self._dl_thread is not None:
            self._dl_thread.wait(5000)
        self._dl_thread, self._dl_worker = None, None
        self._show_downloading(False)
        if error:
            self.message.emit(error if error == "download cancelled" else
                              f"CIFAR-10: {error}")
        self.refresh_status()

    def _show_downloading(self, on: bool) -> None:
        self.progress.setVisible(on)
        self.cancel_button.setVisible(on)
        self.download_button.setEnabled(not on and self.dataset == "cifar10")


def _find(folder: str | None) -> tuple[Path, Path | None, str | None]:
    """(the folder looked in, the CIFAR-10 folder or None, what is missing from
    an incomplete one or None). Runs off the GUI thread."""
    from designer.nn.data import cifar10_incomplete, default_data_dir, find_cifar10
    where = Path(folder).expanduser() if folder else default_data_dir()
    found = find_cifar10(where)
    return where, found, None if found is not None else cifar10_incomplete(where)
