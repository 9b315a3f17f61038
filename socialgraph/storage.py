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
import re
import secrets
import shutil
from pathlib import Path
from typing import Union

# A scratch folder beside its target: ``.<name>.tmp-<pid>-<hex>`` while written, ``.<name>.old-...`` while replaced.
_SCRATCH = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old)-(?P<pid>\d+)-[0-9a-f]{8}$")
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


# ------------------------------------------------------------------------------------------------ folders
def scratch(path: Path, kind: str) -> Path:
    """A recognisable sibling name for a folder being written (``tmp``) or being replaced (``old``)."""
    return path.parent / f".{path.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # os.kill(pid, 0) would signal the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: the process exists, under another user
        return True
    return True


def remove_stale(path: Union[str, os.PathLike]) -> list[Path]:
    """Remove the scratch folders that killed writers of ``path`` left (their pid is gone); return them."""
    path = Path(path)
    removed: list[Path] = []
    if not path.parent.is_dir():
        return removed
    for entry in path.parent.iterdir():
        m = _SCRATCH.match(entry.name)
        if m and m["name"] == path.name and entry.is_dir() and not entry.is_symlink() \
                and not _pid_alive(int(m["pid"])):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def publish_folder(tmp: Path, path: Path) -> None:
    """Rename the complete (fsynced) ``tmp`` to ``path``, moving an existing ``path`` aside first and removing it
    after, so that readers see the old folder or the new one; the parent folder is synced after the rename."""
    old = None
    if path.exists():
        old = scratch(path, "old")
        os.replace(path, old)
    try:
        os.replace(tmp, path)
    except BaseException:
        if old is not None:  # put the previous folder back rather than leave none
            os.replace(old, path)
        raise
    fsync_dir(path.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
