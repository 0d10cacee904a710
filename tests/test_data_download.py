"""CIFAR-10 download against a local HTTP server on 127.0.0.1 (no internet)."""
from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import Iterator

import pytest

from designer.nn import data_download
from designer.nn.data import DatasetError, download_cifar10, find_cifar10, load_cifar10

from test_data_helpers import cifar_archive


class Server:
    """Serves one archive; `cut` bytes: the first `fail_times` responses close
    the connection after that many bytes; `ranges`: honour Range requests."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.cut: int | None = None
        self.fail_times = 0
        self.ranges = True
        self.requests: list[str | None] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                rng = self.headers.get("Range")
                server.requests.append(rng)
                start = 0
                if rng and server.ranges:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(server.payload):
                        self.send_response(416)
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range",
                                     f"bytes {start}-{len(server.payload) - 1}/"
                                     f"{len(server.payload)}")
                else:
                    self.send_response(200)
                body = server.payload[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut is not None and server.fail_times > 0:
                    server.fail_times -= 1
                    self.wfile.write(body[:server.cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/cifar-10-python.tar.gz"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def archive(tmp_path: Path) -> tuple[bytes, str]:
    return cifar_archive(tmp_path / "make")


@pytest.fixture
def server(archive: tuple[bytes, str]) -> Iterator[Server]:
    s = Server(archive[0])
    yield s
    s.close()


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_download_verifies_extracts_and_reports_progress(tmp_path, server, archive) -> None:
    root = tmp_path / "data"
    seen: list[tuple[int, int]] = []
    folder = download_cifar10(root, progress=lambda d, t: seen.append((d, t)),
                              url=server.url, md5=archive[1])
    assert folder == root / "cifar-10-batches-py" == find_cifar10(root)
    assert len(load_cifar10(root).train_x) == 40
    assert seen and seen[-1] == (len(archive[0]), len(archive[0]))
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    assert _leftovers(root) == ["cifar-10-batches-py"]  # no archive, no temp folder
    # a second call finds the folder and does not download again
    assert download_cifar10(root, url=server.url, md5=archive[1]) == folder
    assert len(server.requests) == 1


def test_bad_checksum_deletes_the_file_and_leaves_no_folder(tmp_path, server) -> None:
    root = tmp_path / "data"
    with pytest.raises(DatasetError, match="corrupt.*md5"):
        download_cifar10(root, url=server.url, md5="0" * 32)
    assert _leftovers(root) == []


def test_interrupted_download_resumes_with_range(tmp_path, server, archive) -> None:
    server.cut, server.fail_times = len(archive[0]) // 3, 1
    root = tmp_path / "data"
    folder = download_cifar10(root, url=server.url, md5=archive[1])
    assert find_cifar10(root) == folder
    assert server.requests[0] is None
    assert server.requests[1] == f"bytes={len(archive[0]) // 3}-"
    assert _leftovers(root) == ["cifar-10-batches-py"]


def test_server_without_range_restarts_from_zero(tmp_path, server, archive) -> None:
    server.cut, server.fail_times, server.ranges = 1000, 1, False
    root = tmp_path / "data"
    download_cifar10(root, url=server.url, md5=archive[1])
    assert find_cifar10(root) is not None and len(load_cifar10(root).test_x) == 10


def test_download_that_keeps_failing_gives_a_clear_error_and_no_folder(
        tmp_path, server, archive, monkeypatch) -> None:
    monkeypatch.setattr(data_download, "RETRIES", 2)
    server.cut, server.fail_times = 100, 100
    root = tmp_path / "data"
    with pytest.raises(DatasetError, match="run the download again to resume"):
        download_cifar10(root, url=server.url, md5=archive[1])
    assert not (root / "cifar-10-batches-py").exists()
    part = root / "cifar-10-python.tar.gz.part"
    assert part.is_file() and 0 < part.stat().st_size < len(archive[0])
    # the next attempt resumes from the kept part and completes
    kept = part.stat().st_size
    server.fail_times = 0
    download_cifar10(root, url=server.url, md5=archive[1])
    assert server.requests[-1] == f"bytes={kept}-"
    assert find_cifar10(root) is not None
    assert _leftovers(root) == ["cifar-10-batches-py"]


def test_cancel_keeps_the_partial_file_for_later(tmp_path, server, archive) -> None:
    root = tmp_path / "data"
    with pytest.raises(DatasetError, match="cancelled"):
        download_cifar10(root, should_stop=lambda: True, url=server.url, md5=archive[1])
    assert not (root / "cifar-10-batches-py").exists()


def test_unreachable_server_is_a_plain_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(data_download, "RETRIES", 0)
    with pytest.raises(DatasetError, match="interrupted"):
        download_cifar10(tmp_path / "d", url="http://127.0.0.1:9/none.tar.gz", md5=None)


def test_not_an_archive_is_deleted_with_a_clear_message(tmp_path) -> None:
    junk = Server(b"this is not a tar file" * 100)
    try:
        with pytest.raises(DatasetError, match="not a readable archive"):
            download_cifar10(tmp_path / "d", url=junk.url, md5=None)
    finally:
        junk.close()
    assert _leftovers(tmp_path / "d") == []
