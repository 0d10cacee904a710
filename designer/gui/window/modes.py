"""Modes: Design, Train and Inspect, each a whole-window arrangement of docks
around its own central page.

Docks are assigned to modes by objectName, so a panel added later joins a mode
with one line:

    window.modes.assign("inspect", "dock_convolution_explorer",
                        Qt.RightDockWidgetArea, tabify_with="dock_receptive_field")

A dock assigned to no mode is left alone (it stays where the user put it). A
dock may belong to several modes; each mode keeps its own arrangement
(QMainWindow.saveState), remembered in the settings and restored at the next
start. View > Reset layout puts every mode back to its default arrangement.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QStackedWidget, QTabBar, QToolBar, QToolButton,
                               QWidget)

from designer.gui.menus import drop_repeated_connections

if TYPE_CHECKING:
    from designer.gui.main_window import MainWindow

STATE_VERSION = 12      # restoreState refuses arrangements saved by another layout scheme
SETTINGS_GROUP = "modes"


@dataclass
class DockPlace:
    """Where a dock goes in a mode's default arrangement. `size` is a fraction of
    the window: its width for a left/right dock, its height for a top/bottom dock
    or for one split below another; `minimum` is the least that in pixels."""
    name: str
    area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea
    size: float = 0.0
    minimum: int = 0
    below: str | None = None        # split under this dock (same column)
    tabify_with: str | None = None  # a tab beside this dock


@dataclass
class Mode:
    key: str
    title: str
    page: QWidget
    action: QAction
    places: list[DockPlace] = field(default_factory=list)

    def dock_names(self) -> list[str]:
        return [p.name for p in self.places]


class ModeManager(QObject):
    mode_changed = Signal(str)

    def __init__(self, window: "MainWindow", settings: QSettings) -> None:
        super().__init__(window)
        self.window = window
        self.settings = settings
        self.modes: dict[str, Mode] = {}
        self.current: str | None = None
        self._states: dict[str, QByteArray] = {}
        self._known: dict[str, list[str]] = {}   # the docks each saved state knows
        self.stack = QStackedWidget()
        self.stack.setObjectName("modePages")
        canvas = window.takeCentralWidget()      # taken, not deleted: it becomes a page
        if canvas is not None:
            self.stack.addWidget(canvas)
        window.setCentralWidget(self.stack)
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.bar = QToolBar("Modes")
        self.bar.setObjectName("modeBar")
        self.bar.setMovable(False)
        self.bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.bar)
        self.reset_action = QAction("Reset &Layout", window)
        self.reset_action.setToolTip("Put every mode's panels back where they started")
        self.reset_action.triggered.connect(lambda _c=False: self.reset_layout())

    # --- building ---------------------------------------------------------------
    def add_mode(self, key: str, title: str, page: QWidget, shortcut: str, tip: str) -> Mode:
        if self.stack.indexOf(page) < 0:
            self.stack.addWidget(page)
        action = QAction(title, self.window)
        action.setCheckable(True)
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip} ({shortcut})")
        action.setObjectName(f"mode_{key}")
        action.triggered.connect(lambda _c=False, k=key: self.switch(k))
        self.group.addAction(action)
        self.bar.addAction(action)
        button = self.bar.widgetForAction(action)
        if isinstance(button, QToolButton):
            button.setObjectName("modeButton")
        mode = Mode(key, title, page, action)
        self.modes[key] = mode
        return mode

    def assign(self, key: str, dock_name: str,
               area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
               size: float = 0.0, minimum: int = 0, below: str | None = None,
               tabify_with: str | None = None) -> None:
        """Make a dock (by objectName) part of a mode, placed so by default."""
        mode = self.modes[key]
        mode.places = [p for p in mode.places if p.name != dock_name]
        mode.places.append(DockPlace(dock_name, area, size, minimum, below, tabify_with))
        if self.current == key and dock_name not in self._known.get(key, []):
            self._place_newcomers(key)

    def hide_all_but(self, key: str) -> None:
        """Before the first show: only this mode's docks count towards the
        window's minimum size (a column of every dock would be taller than a screen)."""
        for name in self.managed() - set(self.modes[key].dock_names()):
            dock = self.dock(name)
            if dock is not None:
                dock.hide()

    def dock(self, name: str) -> QDockWidget | None:
        found = self.window.findChild(QDockWidget, name)
        return found if isinstance(found, QDockWidget) else None

    def managed(self) -> set[str]:
        return {n for m in self.modes.values() for n in m.dock_names()}

    # --- switching ----------------------------------------------------------------
    def switch(self, key: str) -> None:
        if key not in self.modes:
            raise KeyError(key)
        mode = self.modes[key]
        mode.action.setChecked(True)
        drop_repeated_connections(self.bar)   # (a Qt 6.11 leak: see menus.py)
        if key == self.current:
            return
        if self.current is not None:
            self._remember(self.current)
        self.current = key
        self.stack.setCurrentWidget(mode.page)
        state = self._states.get(key)
        if state is None or not self.window.restoreState(state, STATE_VERSION):
            self.apply_default(key)
        else:
            self._place_newcomers(key)
        self._hide_stale_tab_bars()
        QTimer.singleShot(0, self, self._hide_stale_tab_bars)   # dies with the window
        self.mode_changed.emit(key)

    def apply_default(self, key: str) -> None:
        """Arrange the mode's docks as its DockPlaces say; hide other modes' docks."""
        w = self.window
        mine = set(self.modes[key].dock_names())
        for name in self.managed() - mine:
            dock = self.dock(name)
            if dock is not None:
                dock.hide()
        places = [p for p in self.modes[key].places if self.dock(p.name) is not None]
        for p in places:
            w.removeDockWidget(self.dock(p.name))   # out of any old split or tab group
        placed: dict[str, QDockWidget] = {}
        for p in places:
            self._put(p, placed)
        self._known[key] = self._all_names()
        self._size(places)
        QTimer.singleShot(0, self, lambda: self.current == key and self._size(places))
        self._hide_stale_tab_bars()

    def _put(self, p: DockPlace, placed: dict[str, QDockWidget]) -> None:
        w, dock = self.window, self.dock(p.name)
        assert dock is not None
        if p.tabify_with and p.tabify_with in placed:
            w.tabifyDockWidget(placed[p.tabify_with], dock)
            dock.show()
            placed[p.tabify_with].raise_()   # the first of a tab group stays in front
        elif p.below and p.below in placed:
            w.splitDockWidget(placed[p.below], dock, Qt.Orientation.Vertical)
            dock.show()
        else:
            w.addDockWidget(p.area, dock)
            dock.show()
        placed[p.name] = dock

    def _size(self, places: list[DockPlace]) -> None:
        w = self.window
        across: tuple[list[QDockWidget], list[int]] = ([], [])
        down: tuple[list[QDockWidget], list[int]] = ([], [])
        for p in places:
            dock = self.dock(p.name)
            if dock is None or not p.size or dock.isHidden():
                continue
            sideways = p.below is None and p.area in (Qt.DockWidgetArea.LeftDockWidgetArea,
                                                      Qt.DockWidgetArea.RightDockWidgetArea)
            whole = w.width() if sideways else w.height()
            target = across if sideways else down
            target[0].append(dock)
            target[1].append(max(p.minimum, int(p.size * whole)))
        if across[0]:
            w.resizeDocks(across[0], across[1], Qt.Orientation.Horizontal)
        if down[0]:
            w.resizeDocks(down[0], down[1], Qt.Orientation.Vertical)

    def _place_newcomers(self, key: str) -> None:
        """After restoring a saved arrangement: docks it did not know yet go to
        their default places (or are hidden when they belong to other modes)."""
        known = set(self._known.get(key, []))
        mine = self.modes[key]
        placed = {n: d for n in mine.dock_names() if n in known
                  for d in [self.dock(n)] if d is not None and not d.isHidden()}
        fresh = [p for p in mine.places if p.name not in known and self.dock(p.name)]
        for name in self.managed() - set(mine.dock_names()) - known:
            dock = self.dock(name)
            if dock is not None:
                dock.hide()
        for p in fresh:
            self._put(p, placed)
        self._known[key] = self._all_names()
        self._size(fresh)

    def _hide_stale_tab_bars(self) -> None:
        """A tab group whose docks were hidden can leave its tab bar on screen
        (Qt 6.11); a real tab bar names at least two docks that are shown."""
        shown = {d.windowTitle() for d in self.window.findChildren(QDockWidget)
                 if not d.isHidden() and not d.isFloating()}
        direct = Qt.FindChildOption.FindDirectChildrenOnly
        for bar in self.window.findChildren(QTabBar, options=direct):
            titles = {bar.tabText(i) for i in range(bar.count())}
            if bar.isVisible() and len(titles & shown) < 2:
                bar.hide()

    def _all_names(self) -> list[str]:
        return [d.objectName() for d in self.window.findChildren(QDockWidget)]

    def _remember(self, key: str) -> None:
        self._states[key] = self.window.saveState(STATE_VERSION)
        self._known[key] = self._all_names()

    # --- persistence ----------------------------------------------------------------
    def save(self) -> None:
        """Write every mode's arrangement and the current mode to the settings."""
        if self.current is None:
            return
        self._remember(self.current)
        s = self.settings
        s.beginGroup(SETTINGS_GROUP)
        s.setValue("current", self.current)
        for key, state in self._states.items():
            s.setValue(f"{key}/state", state)
            s.setValue(f"{key}/docks", ",".join(self._known.get(key, [])))
        s.endGroup()
        s.sync()

    def restore(self) -> None:
        """At first show: read the saved arrangements, enter the saved mode."""
        s = self.settings
        s.beginGroup(SETTINGS_GROUP)
        for key in self.modes:
            state = s.value(f"{key}/state")
            if isinstance(state, QByteArray) and not state.isEmpty():
                self._states[key] = state
                names = s.value(f"{key}/docks")
                self._known[key] = [n for n in str(names or "").split(",") if n]
        current = s.value("current")
        s.endGroup()
        self.current = None
        first = next(iter(self.modes))
        self.switch(current if isinstance(current, str) and current in self.modes else first)

    def reset_layout(self) -> None:
        """Forget every saved arrangement and lay out the current mode afresh."""
        self._states.clear()
        self._known.clear()
        self.settings.remove(SETTINGS_GROUP)
        if self.current is not None:
            self.apply_default(self.current)
