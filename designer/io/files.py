"""Reading and writing files safely: the one place for both (no Qt, no torch).

Reading refuses what is not a regular file before reading from it (a device
such as /dev/zero never ends, a FIFO blocks forever) and never reads more than
a hard limit. Writing is atomic: a hidden temporary file beside the target,
fsync, rename, fsync of the folder; the file keeps its mode, a symbolic link is
written through to its target, and errors name the file the user chose.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import Iterator

STALE_TMP_SECONDS = 60.0  # a temporary file untouched this long belongs to a killed save


class NotRegularFileError(OSError):
    """A path that names a folder, device, FIFO or socket where a file is expected."""

    def __init__(self, mode: int, path: str) -> None:
        self.kind = describe_kind(mode)
        super().__init__(errno.EINVAL, f"this is {self.kind}, not a regular file", path)


def describe_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_regular(path: str | os.PathLike[str]) -> os.stat_result:
    """stat() the path (following links) and refuse anything but a regular file.
    Never opens it, so a FIFO cannot block."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFileError(st.st_mode, str(path))
    return st


def read_limited(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    Raises NotRegularFileError for anything else, FileTooLargeError past the
    limit (counted while reading, since st_size says 0 for devices), and the
    usual OSErrors. O_NONBLOCK makes opening a FIFO that replaced the file
    after the check return at once; fstat then refuses it."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    check_regular(path)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFileError(st.st_mode, str(path))
        if st.st_size > limit:
            raise FileTooLargeError(limit)
        data = f.read(limit + 1)
    if len(data) > limit:
        raise FileTooLargeError(limit)
    return data


class FileTooLargeError(ValueError):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the file is larger than {limit // 2**20} MB")


# --- writing ---------------------------------------------------------------------

def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)  # not thread-safe, hence only where /proc is missing
    os.umask(old)
    return old


def _target(path: str | os.PathLike[str]) -> Path:
    """Where to write: a symbolic link is followed to the file it names."""
    p = Path(path)
    if p.is_symlink():
        return Path(os.path.realpath(p))
    return p


_TMP_NAME = re.compile(r"\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp")


def remove_stale_temporaries(target: Path, older_than: float = STALE_TMP_SECONDS) -> int:
    """Remove `.NAME.xxxxxxxx.tmp` files left beside `target` by a killed save of
    it; those touched recently may belong to a save in progress. Returns how many."""
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(target.parent if str(target.parent) else "."))
    except OSError:
        return 0
    for entry in entries:
        m = _TMP_NAME.fullmatch(entry.name)
        if m is None or m.group("name") != target.name:
            continue
        try:
            if entry.is_file(follow_symlinks=False) and \
                    now - entry.stat(follow_symlinks=False).st_mtime > older_than:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            pass
    return removed


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # e.g. Windows: folders cannot be opened
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], make_parents: bool = False) -> Iterator[Path]:
    """A temporary path beside `path` for the block to write; on success it is
    flushed to disk and renamed onto `path` (keeping the old file's mode, or the
    usual umask mode for a new file); on failure it is removed. OSErrors name
    `path`, not the temporary file."""
    shown = str(path)
    target = _target(path)
    folder = target.parent if str(target.parent) else Path(".")
    tmp: str | None = None
    try:
        try:
            st = os.stat(target)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        else:
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, "this is a folder", shown)
            if not stat.S_ISREG(st.st_mode):  # never replace /dev/null by a file
                raise NotRegularFileError(st.st_mode, shown)
            mode = stat.S_IMODE(st.st_mode)
        if make_parents:
            folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        os.close(fd)
        yield Path(tmp)
        fd = os.open(tmp, os.O_RDWR | getattr(os, "O_BINARY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)  # after writing: a read-only mode would stop the writer
        os.replace(tmp, target)
        tmp = None
        _fsync_folder(folder)
    except OSError as e:
        if isinstance(e, NotRegularFileError) or e.filename == shown or e.errno is None:
            raise
        raise type(e)(e.errno, e.strerror or str(e), shown) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes,
                       make_parents: bool = False) -> None:
    with atomic_path(path, make_parents) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def write_text_atomic(path: str | os.PathLike[str], text: str, newline: str = "\n",
                      make_parents: bool = False) -> None:
    """Text as UTF-8; newline="" keeps the text's own line ends (CSV)."""
    with atomic_path(path, make_parents) as tmp:
        with open(tmp, "w", encoding="utf-8", newline=newline) as f:
            f.write(text)
