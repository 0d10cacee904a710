"""A finished run's results: accuracy, per-class accuracy, confusion matrix and
test images with their predicted and true labels."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QBoxLayout, QGridLayout, QHBoxLayout,
                               QHeaderView, QLabel,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from designer.gui.training.data_label import thumbnail
from designer.gui.training.runs import Run, Samples

THUMB = 48   # pixels per test image (CIFAR's 32 scaled up)
IMAGE_COLUMNS = 6


def _heat(fraction: float) -> QColor:
    """White -> blue as the fraction grows."""
    f = float(np.clip(fraction, 0.0, 1.0))
    return QColor(int(255 - 200 * f), int(255 - 150 * f), 255)


def _item(text: str, bg: QColor | None = None, tip: str = "") -> QTableWidgetItem:
    it = QTableWidgetItem(text)
    it.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
    it.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if bg is not None:
        it.setBackground(bg)
        it.setForeground(QColor("white") if bg.lightness() < 140 else QColor("black"))
    if tip:
        it.setToolTip(tip)
    return it


def _table() -> QTableWidget:
    t = QTableWidget()
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.verticalHeader().setDefaultSectionSize(20)
    t.horizontalHeader().setMinimumSectionSize(24)
    return t


class ResultsView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.header = QLabel("Select a finished run to see its results.")
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.per_class = _table()
        self.per_class.setColumnCount(2)
        self.per_class.setHorizontalHeaderLabels(["class", "accuracy"])
        head = self.per_class.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.per_class.verticalHeader().setVisible(False)
        self.confusion = _table()
        self.confusion.setToolTip("Rows: true class; columns: predicted class")
        self.confusion.horizontalHeader().setDefaultSectionSize(36)
        self.confusion.horizontalHeader().setMinimumSectionSize(20)
        self.images = QWidget()
        self.images_grid = QGridLayout(self.images)
        self.images_grid.setSpacing(2)
        self.images_grid.setContentsMargins(0, 0, 0, 0)

        self.header.setMinimumWidth(230)
        self.per_class.setMinimumWidth(230)
        left = QVBoxLayout()
        left.addWidget(self.header)
        left.addWidget(self.per_class, 1)
        mid = QVBoxLayout()
        mid.addWidget(QLabel("Confusion matrix (rows: true, columns: predicted)"))
        mid.addWidget(self.confusion, 1)
        right = QVBoxLayout()
        right.addWidget(QLabel("Test images: predicted (true); red = wrong"))
        right.addWidget(self.images)
        right.addStretch(1)
        lay = QHBoxLayout(self)
        lay.addLayout(left, 0)
        lay.addLayout(mid, 1)
        lay.addLayout(right, 0)
        self._left, self._mid = left, mid
        self.column = False

    def use_column(self) -> None:
        """One column for a narrow dock: summary, the whole confusion matrix (its
        cells share the width, no scroll bars), per-class accuracy, test images."""
        self.column = True
        lay = self.layout()
        assert isinstance(lay, QBoxLayout)
        lay.setDirection(QBoxLayout.Direction.TopToBottom)
        self._left.removeWidget(self.per_class)
        self._mid.addWidget(self.per_class)
        self._mid.setStretch(1, 0)
        self.header.setMinimumWidth(0)
        self.per_class.setMinimumWidth(0)
        for table in (self.confusion, self.per_class):
            table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.confusion.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self._fit_heights()

    def _fit_heights(self) -> None:
        """In a column every row shows: the tables are as tall as their rows."""
        if not self.column:
            return
        for table in (self.confusion, self.per_class):
            head = table.horizontalHeader()
            rows = table.verticalHeader().length()
            top = max(head.height(), head.sizeHint().height())
            table.setFixedHeight(top + rows + 2 * table.frameWidth() + 2)

    def show_run(self, run: Run | None) -> None:
        self._clear_images()
        self.per_class.setRowCount(0)
        self.confusion.setRowCount(0)
        self.confusion.setColumnCount(0)
        if run is None:
            self.header.setText("Select a run to see its results.")
            self._fit_heights()
            return
        self.header.setText(self._summary(run))
        fin = run.finished
        if fin is not None and fin.confusion:
            self._fill_per_class(fin.class_names, fin.per_class_acc)
            self._fill_confusion(fin.class_names, fin.confusion)
        if run.samples is not None:
            self._fill_images(run.samples)
        self._fit_heights()

    def _summary(self, run: Run) -> str:
        lines = [f"<b>{run.title()}</b>"]
        if run.state == "failed":
            lines.append(f"<span style='color:#b00020'>{_esc(run.message)}</span>")
        acc = run.final_accuracy
        fin = run.finished
        if acc is not None:
            what = "test" if fin is not None and fin.metrics.get("test_acc") is not None \
                else run.eval_name()
            lines.append(f"Final {what} accuracy: <b>{100 * acc:.2f}%</b>")
        if fin is not None:
            m = fin.metrics
            done = m.get("epochs_done", len(run.epochs))
            secs = m.get("seconds")
            extra = f" in {secs:.0f} s" if isinstance(secs, (int, float)) else ""
            lines.append(f"{done} epoch(s){extra}" + (", stopped early" if fin.stopped else ""))
        elif run.active:
            lines.append("Still training: results appear when it finishes.")
        if run.started is not None:
            lines.append(f"{run.started.dataset_label}, {run.started.train_size} training / "
                         f"{run.started.test_size} test images on {run.started.device}")
        return "<br>".join(lines)

    def _fill_per_class(self, names: list[str], accs: list[float]) -> None:
        self.per_class.setRowCount(len(accs))
        for i, acc in enumerate(accs):
            name = names[i] if i < len(names) else str(i)
            self.per_class.setItem(i, 0, _item(name))
            self.per_class.setItem(i, 1, _item(f"{100 * acc:.1f}%", _heat(acc)))

    def _fill_confusion(self, names: list[str], matrix: list[list[int]]) -> None:
        m = np.asarray(matrix, dtype=np.int64)
        n = m.shape[0]
        self.confusion.setRowCount(n)
        self.confusion.setColumnCount(n)
        short = [(names[i] if i < len(names) else str(i)) for i in range(n)]
        rows, columns = _header_labels(short)
        self.confusion.setVerticalHeaderLabels(rows)
        self.confusion.setHorizontalHeaderLabels(columns)
        if not self.column:   # in a column the cells share the width instead
            self.confusion.resizeColumnsToContents()
        rows = np.maximum(m.sum(axis=1, keepdims=True), 1)
        frac = m / rows
        for i in range(n):
            for j in range(n):
                tip = f"true {short[i]}, predicted {short[j]}: {m[i, j]} " \
                      f"({100 * frac[i, j]:.1f}% of {short[i]})"
                self.confusion.setItem(i, j, _item(str(m[i, j]), _heat(frac[i, j]), tip))

    def _clear_images(self) -> None:
        while self.images_grid.count():
            w = self.images_grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()

    def _fill_images(self, s: Samples) -> None:
        cols = IMAGE_COLUMNS
        for k, img in enumerate(s.images):
            pred, true = s.predicted[k], s.true[k]
            name = lambda c: s.class_names[c] if 0 <= c < len(s.class_names) else str(c)
            cell = QLabel()
            cell.setPixmap(_pixmap(img))
            cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
            ok = pred == true
            cap = QLabel(f"{name(pred)}" if ok else f"{name(pred)}\n({name(true)})")
            cap.setAlignment(Qt.AlignmentFlag.AlignCenter)
            cap.setStyleSheet(f"color: {'#1b7a1b' if ok else '#b00020'}; font-size: 8pt;")
            cell.setToolTip(f"predicted {name(pred)}, true {name(true)}")
            box = QWidget()
            v = QVBoxLayout(box)
            v.setContentsMargins(1, 1, 1, 1)
            v.setSpacing(0)
            v.addWidget(cell)
            v.addWidget(cap)
            self.images_grid.addWidget(box, k // cols, k % cols)


def _pixmap(img: np.ndarray) -> QPixmap:
    """uint8 C x H x W (1 or 3 channels) -> a scaled pixmap; 1-D signals and
    3-D clips as their thumbnail (data_label.thumbnail)."""
    a = thumbnail(np.asarray(img))
    if a.ndim == 3 and a.shape[0] not in (1, 3):
        a = a[:1]
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = np.transpose(a, (1, 2, 0))
    if a.ndim == 3 and a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    a = np.ascontiguousarray(a.astype(np.uint8))
    h, w = a.shape[:2]
    qimg = QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(qimg).scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.FastTransformation)


def _header_labels(names: list[str]) -> tuple[list[str], list[str]]:
    """Rows: the class names; columns: four letters of each ("airp", "auto"), or
    the class numbers (also shown on the rows) when four letters do not tell
    them apart ("pattern 0" ... "pattern 9")."""
    short = [n[:4] for n in names]
    if len(set(short)) == len(short):
        return names, short
    numbers = [str(i) for i in range(len(names))]
    rows = [n if n.endswith(f" {i}") or n == i else f"{i} {n}" for i, n in zip(numbers, names)]
    return rows, numbers


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
