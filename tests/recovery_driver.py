"""A real app window in its own process, driven line by line on stdin, for the
crash-recovery tests (they kill it with SIGKILL). Not a test module.

Commands: `edit V` (conv1.out_channels = V through the undo stack, answered
`edited V <time>`), `offer` (offer the recoveries, keep them all; answered
`offered N <values>`), `close` (a clean close; answered `closed`)."""
from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSocketNotifier  # noqa: E402

from designer.gui.app import _application, create_window  # noqa: E402
from designer.gui.commands import SetParamCommand  # noqa: E402


def main() -> int:
    app = _application()
    window = create_window(sys.argv[1] if len(sys.argv) > 1 else None, with_panels=False)
    offered: list[int] = []
    window._ask_restore_recovery = (   # type: ignore[method-assign]
        lambda rec: offered.append(rec.design.layer("conv1").params["out_channels"]))
    window._ask_save_changes = lambda: "discard"   # type: ignore[method-assign]
    window.show()
    buffer = b""

    def reply(text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def on_input() -> None:
        nonlocal buffer
        chunk = os.read(sys.stdin.fileno(), 4096)
        if not chunk:
            app.quit()
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            run(line.decode().split())

    def run(words: list[str]) -> None:
        if not words:
            return
        if words[0] == "edit":
            value = int(words[1])
            window.undo_stack.push(SetParamCommand(window.context.design, "conv1",
                                                   "out_channels", value))
            reply(f"edited {value} {time.time():.3f}")
        elif words[0] == "offer":
            offered.clear()
            window.offer_recovery()
            reply("offered " + " ".join(str(v) for v in [len(offered), *offered]))
        elif words[0] == "close":
            window.close()
            reply("closed")
            app.quit()

    notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(on_input)
    reply(f"ready {window.autosaver.path}")
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
