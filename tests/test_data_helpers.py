"""Helpers (no tests): tiny CIFAR-10 folders and archives in the official layout."""
from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck"]


def batch(count: int, seed: int) -> dict[bytes, object]:
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"tiny", b"labels": [int(v) for v in rng.integers(0, 10, count)],
            b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
            b"filenames": [f"img_{i}.png".encode() for i in range(count)]}


def write_cifar(root: Path, per_batch: int = 8, test: int = 10) -> Path:
    """root/cifar-10-batches-py with 5 training batches, a test batch and the meta file."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(batch(per_batch, i), protocol=2))
    (folder / "test_batch").write_bytes(pickle.dumps(batch(test, 99), protocol=2))
    meta = {b"label_names": [c.encode() for c in CLASSES], b"num_cases_per_batch": per_batch}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return folder


def cifar_archive(tmp: Path) -> tuple[bytes, str]:
    """(tar.gz bytes holding cifar-10-batches-py, its md5)."""
    folder = write_cifar(tmp / "src")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    data = buf.getvalue()
    return data, hashlib.md5(data).hexdigest()
