"""Fetch CIFAR-10 from its official address: progress, md5 check, resume with
HTTP Range after an interruption, atomic extraction (temp folder, then rename)."""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from designer.nn.data import (FOLDER, OFFICIAL_MD5, OFFICIAL_URL, DatasetError, default_data_dir,
                              find_cifar10)

ARCHIVE = "cifar-10-python.tar.gz"
CHUNK = 1 << 16
RETRIES = 3
TIMEOUT_S = 30.0

Progress = Callable[[int, int], None]
ShouldStop = Callable[[], bool]


class DownloadCancelled(DatasetError):
    """The user stopped the download (the partial file is kept for resuming)."""


def download_cifar10(data_dir: str | os.PathLike[str] | None = None,
                     progress: Progress | None = None,
                     should_stop: ShouldStop | None = None,
                     url: str = OFFICIAL_URL, md5: str | None = OFFICIAL_MD5) -> Path:
    """Download, verify and extract CIFAR-10 into data_dir; return the folder.

    An existing complete folder is returned as is. An interrupted download
    leaves `<archive>.part`, which the next call resumes with an HTTP Range
    request; a checksum mismatch deletes it. No partial folder is ever left.
    """
    root = Path(data_dir).expanduser() if data_dir else default_data_dir()
    found = find_cifar10(root)
    if found is not None:
        return found
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatasetError(f"cannot create the data folder {root}: {e.strerror or e}") from None
    archive = root / ARCHIVE
    part = root / (ARCHIVE + ".part")
    if not archive.is_file():
        _fetch(url, part, progress, should_stop)
        if md5 is not None:
            digest = _md5(part)
            if digest != md5.lower():
                part.unlink(missing_ok=True)
                raise DatasetError(f"the downloaded file {part.name} is corrupt (md5 {digest}, "
                                   f"expected {md5}); it was deleted, try again")
        os.replace(part, archive)
    folder = _extract(archive, root)
    archive.unlink(missing_ok=True)
    return folder


def _fetch(url: str, part: Path, progress: Progress | None, should_stop: ShouldStop | None) -> None:
    """Append to `part` until the server says the file is complete."""
    failures = 0
    while True:
        done = part.stat().st_size if part.exists() else 0
        try:
            if _fetch_once(url, part, done, progress, should_stop):
                return
            failures += 1
        except DownloadCancelled:
            raise
        except urllib.error.HTTPError as e:
            if e.code == 416 and done:  # our partial file is already whole (or bogus)
                return
            raise DatasetError(f"the server refused the download of {url}: HTTP {e.code} "
                               f"{e.reason}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            failures += 1
            if failures > RETRIES:
                reason = getattr(e, "reason", None) or e
                raise DatasetError(f"the download of {url} was interrupted ({reason}); "
                                   f"{_size(part)} kept in {part}, run the download again "
                                   "to resume") from None
            continue
        if failures > RETRIES:
            raise DatasetError(f"the download of {url} keeps stopping early; {_size(part)} "
                               f"kept in {part}, run the download again to resume")


def _fetch_once(url: str, part: Path, done: int, progress: Progress | None,
                should_stop: ShouldStop | None) -> bool:
    """One request; True when the file is complete."""
    request = urllib.request.Request(url, headers={"User-Agent": "cnn-designer"})
    if done:
        request.add_header("Range", f"bytes={done}-")
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        if done and response.status != 206:  # the server ignored Range: start over
            done = 0
        length = response.headers.get("Content-Length")
        total = done + int(length) if length and length.isdigit() else 0
        with open(part, "ab" if done else "wb") as out:
            while True:
                if should_stop is not None and should_stop():
                    raise DownloadCancelled(f"download cancelled ({_size(part)} kept in "
                                            f"{part} to resume later)")
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    return not total or done >= total


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _size(path: Path) -> str:
    n = path.stat().st_size if path.exists() else 0
    return f"{n / 1e6:.1f} MB"


def _extract(archive: Path, root: Path) -> Path:
    """Extract the cifar-10-batches-py folder into a temporary folder beside
    the destination, check it, then rename it into place."""
    tmp = Path(tempfile.mkdtemp(prefix=".cifar-extract-", dir=root))
    try:
        try:
            with tarfile.open(archive) as tar:
                members = [m for m in tar.getmembers()
                           if m.name.split("/")[0] == FOLDER and (m.isfile() or m.isdir())]
                tar.extractall(tmp, members=members, filter="data")
        except (tarfile.TarError, OSError, EOFError) as e:
            archive.unlink(missing_ok=True)
            raise DatasetError(f"{archive} is not a readable archive ({e}); it was deleted, "
                               "download it again") from None
        if find_cifar10(tmp) is None:
            raise DatasetError(f"{archive} does not hold a complete {FOLDER} folder")
        dest = root / FOLDER
        if dest.exists():  # an incomplete earlier folder
            shutil.rmtree(dest)
        os.replace(tmp / FOLDER, dest)
        return dest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
