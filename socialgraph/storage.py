"""Files the project publishes: durable (flushed to disk before the rename that publishes them) and digested.

A rename is atomic, but without an ``fsync`` first a crash can publish a file whose blocks never reached the disk
(an empty or zero-filled file under its final name). Bundles, suggestion shards and cached graphs are all written
to a temporary sibling, made durable with these functions, then renamed; the folder holding the rename is synced
after it, so that the rename itself survives a crash.
"""
from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

# Folders some file systems cannot sync; the rename is still atomic there.
_UNSYNCABLE = (errno.EINVAL, errno.EBADF, errno.ENOTSUP, errno.EACCES)


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to the new file ``path`` (it must not exist) and flush it to disk."""
    with open(path, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def fsync_file(path: Path) -> None:
    """Flush an existing file's content to disk."""
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename in it) to disk, where the platform can open folders (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in _UNSYNCABLE:
            raise
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flush every file under ``root``, then every folder bottom-up, so a rename never publishes empty files."""
    entries = sorted(Path(root).rglob("*"), key=lambda p: len(p.parts), reverse=True)
    for p in entries:
        if p.is_file():
            fsync_file(p)
    for d in [p for p in entries if p.is_dir()] + [Path(root)]:
        fsync_dir(d)


def sha256(path: Path) -> str:
    """Hex sha256 of a file's content, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
