"""The dataset registry: a card's files found, verified and downloaded, and dispatch to one loader per family.

Every dataset is described by a YAML *card* (:mod:`socialgraph.data.cards`). :func:`load_dataset` resolves a card's files
under :func:`~socialgraph.paths.data_root` (``$SOCIALGRAPH_DATA``), verifies them, and calls the family's loader in
:mod:`socialgraph.data.loaders`.

Contract:

* Nothing is ever written into the data root except by an explicit download of absent files (never at test time:
  ``SOCIALGRAPH_OFFLINE=1`` turns downloads off). Derived files (processed graphs, copies that third-party readers
  need to write next to) go to :func:`~socialgraph.paths.cache_root`.
* A file is verified by its sha256 once; the result is cached in ``cache_root()/checksums.json`` keyed by
  ``(absolute path, size, mtime_ns)``, so repeated loads stat the files instead of re-hashing them.
* A card's ``embedded: true`` lets a file fall back to the copy shipped in the project's ``datasets/`` folder when
  the data root lacks it (only MIT-licensed MUSAE files are shipped: Facebook page-page, Twitch DE and ENGB).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import tarfile
import tempfile
import urllib.parse
import urllib.request
import warnings
import zipfile
from pathlib import Path
from typing import Mapping, Optional

from tqdm.auto import tqdm

# The card names stay importable from here, where callers have always found them.
from socialgraph.data.cards import CARDS_DIR, DatasetCard, FileSpec, get_card, list_datasets
from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph
from socialgraph.paths import cache_root, data_root

_HASH_CHUNK = 1 << 20


# ---------------------------------------------------------------------------------------------------- files
def locate(card: DatasetCard, spec: FileSpec, root: Optional[Path] = None) -> Optional[tuple[Path, Optional[str]]]:
    """Where ``spec`` lies and the digest it must have there: under the data root (under the card's own name, then
    under each name an upstream release used), else, for embedded cards, in the project's ``datasets/``."""
    for base in [root or data_root()] + ([CARDS_DIR] if card.embedded else []):
        for rel, digest in spec.candidates():
            p = base / rel
            if p.exists():
                return p, digest
    return None


def resolve(card: DatasetCard, spec: FileSpec, root: Optional[Path] = None) -> Optional[Path]:
    """Where ``spec`` lies (see :func:`locate`), or ``None``."""
    found = locate(card, spec, root)
    return None if found is None else found[0]


def is_present(card: DatasetCard) -> bool:
    """Whether every required file of ``card`` can be found (data root or embedded copy)."""
    return all(resolve(card, f) is not None for f in card.files if f.required)


def sha256_file(path: Path, progress: bool = True) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (with a progress bar for files over 64 MiB)."""
    h = hashlib.sha256()
    size = path.stat().st_size
    with open(path, "rb") as fh, tqdm(total=size, unit="B", unit_scale=True, desc=f"sha256 {path.name}",
                                      disable=not progress or size < (64 << 20), leave=False) as bar:
        for chunk in iter(lambda: fh.read(_HASH_CHUNK), b""):
            h.update(chunk)
            bar.update(len(chunk))
    return h.hexdigest()


class _ChecksumCache:
    """Digests already computed, keyed by ``path|size|mtime_ns``, persisted in ``cache_root()/checksums.json``.

    A changed file has another size or mtime and so another key: it is hashed again rather than trusted.
    """

    def __init__(self) -> None:
        self.path = cache_root() / "checksums.json"
        try:
            self.known: dict[str, str] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.known = {}
        self.dirty = False

    @staticmethod
    def key(path: Path) -> str:
        st = path.stat()
        return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"

    def digest(self, path: Path) -> str:
        k = self.key(path)
        if k not in self.known:
            self.known[k] = sha256_file(path)
            self.dirty = True
        return self.known[k]

    def save(self) -> None:
        if not self.dirty:
            return
        # Another process may have added digests meanwhile: merge, then replace atomically.
        try:
            self.known = {**json.loads(self.path.read_text()), **self.known}
        except (OSError, ValueError):
            pass
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".checksums-")
        with os.fdopen(fd, "w") as fh:
            json.dump(self.known, fh)
        os.replace(tmp, self.path)
        self.dirty = False


def _read_manifest(name: str) -> dict[str, str]:
    """``relative path -> sha256`` from a ``SHA256SUMS`` file kept next to the cards."""
    path = CARDS_DIR / name
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, rel = line.split(maxsplit=1)
            out[rel.strip().lstrip("*").removeprefix("./")] = digest
    return out


def verify_file(path: Path, expected: str, cache: Optional[_ChecksumCache] = None, *, what: str = "") -> None:
    """Raise :class:`DataError` unless ``path`` has sha256 ``expected``."""
    own = cache is None
    cache = cache or _ChecksumCache()
    got = cache.digest(path)
    if own:
        cache.save()
    if got != expected.lower():
        raise DataError(
            f"checksum mismatch{' for ' + what if what else ''}: sha256 is {got}, the card expects {expected}",
            file=str(path), hint="the file is corrupt or another version: delete it and download it again from "
                                 "the dataset's home (see `socialgraph datasets info NAME`)")


def _verify(card: DatasetCard, found: Mapping[str, tuple[Path, Optional[str]]]) -> None:
    """Check every found file against the digest of the name it was found under (see :func:`locate`)."""
    cache = _ChecksumCache()
    try:
        for spec in card.files:
            if spec.key not in found:
                continue
            path, digest = found[spec.key]
            if spec.directory:
                if spec.manifest:
                    sums = _read_manifest(spec.manifest)
                    prefix = Path(spec.path).name + "/"
                    members = {k[len(prefix):]: v for k, v in sums.items() if k.startswith(prefix)}
                    for rel, member_digest in tqdm(sorted(members.items()), desc=f"verify {spec.path}",
                                                   leave=False, disable=len(members) < 500):
                        if (path / rel).exists():  # a missing image is a missing value, not corruption
                            verify_file(path / rel, member_digest, cache, what=card.name)
            elif digest:
                verify_file(path, digest, cache, what=card.name)
            else:
                warnings.warn(f"{card.name}: {path} has no pinned sha256 in {card.source}; using it unverified",
                              stacklevel=3)
    finally:
        cache.save()


# ---------------------------------------------------------------------------------------------------- download
def _offline() -> bool:
    """Whether ``SOCIALGRAPH_OFFLINE`` turns downloads off."""
    return os.environ.get("SOCIALGRAPH_OFFLINE", "").strip() not in ("", "0", "false", "no")


def _reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether ``url``'s host accepts a connection."""
    parts = urllib.parse.urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)),
                                 timeout=timeout).close()
        return True
    except OSError:
        return False


def _fetch(url: str, dest: Path) -> None:
    """Stream ``url`` to ``dest`` with a progress bar."""
    req = urllib.request.Request(url, headers={"User-Agent": "socialgraph-dataset-loader"})
    with urllib.request.urlopen(req, timeout=60) as resp, open(dest, "wb") as out, \
            tqdm(total=int(resp.headers.get("Content-Length") or 0) or None, unit="B", unit_scale=True,
                 desc=f"download {Path(urllib.parse.urlsplit(url).path).name}") as bar:
        for chunk in iter(lambda: resp.read(_HASH_CHUNK), b""):
            out.write(chunk)
            bar.update(len(chunk))


def _extract(archive: Path, member: str, dest: Path) -> None:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf, zf.open(member) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            src = tf.extractfile(member)
            if src is None:
                raise DataError(f"{member!r} is not a regular file in the archive", file=str(archive))
            with src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
    else:
        raise DataError(f"expected a zip or tar archive holding {member!r}", file=str(archive))


def download(card: DatasetCard, spec: FileSpec, root: Optional[Path] = None) -> Path:
    """Download ``spec`` from its URL into the data root, verify it, and move it into place atomically.

    Archives are fetched once into ``cache_root()/downloads`` and the member is extracted from there.
    """
    root = root or data_root()
    dest = root / spec.path
    if not spec.url:
        raise DataError(f"{card.name}: no download URL is known for {spec.path}", file=str(dest),
                        hint=f"get it from {card.homepage} and put it there (or set SOCIALGRAPH_DATA)")
    downloads = cache_root() / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
        os.close(fd)
    except OSError as err:
        raise DataError(f"cannot write the download into the data root: {err}", file=str(dest),
                        hint="point SOCIALGRAPH_DATA at a writable folder") from err
    tmp = Path(tmp_name)
    try:
        if spec.member:
            archive = downloads / hashlib.sha256(spec.url.encode()).hexdigest()[:16]
            if not archive.exists():
                part = archive.with_suffix(".part")
                _fetch(spec.url, part)
                os.replace(part, archive)
            _extract(archive, spec.member, tmp)
        else:
            _fetch(spec.url, tmp)
        if spec.sha256:
            verify_file(tmp, spec.sha256, what=f"{card.name} (downloaded from {spec.url})")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _missing(card: DatasetCard, spec: FileSpec, root: Path, why: str) -> DataError:
    """The error for a required file that is neither in the data root nor downloadable; ``why`` says which."""
    names = " or ".join(rel for rel, _ in spec.candidates())
    return DataError(
        f"dataset {card.name!r} is not in the data root ({names} is missing) and {why}",
        file=str(root / spec.path),
        hint=f"put a copy of {card.folder or spec.path} from {card.homepage} under SOCIALGRAPH_DATA (now {root})")


def _obtain(card: DatasetCard, spec: FileSpec, root: Path) -> tuple[Path, Optional[str]]:
    """Download an absent required file, or raise a :class:`DataError` saying why it could not be."""
    if not spec.url or spec.directory:
        raise _missing(card, spec, root, "no download address is known for it")
    if _offline():
        raise _missing(card, spec, root, "downloads are off (SOCIALGRAPH_OFFLINE is set; unset it to download)")
    host = urllib.parse.urlsplit(spec.url).hostname
    if not _reachable(spec.url):
        raise _missing(card, spec, root, f"its home {host} cannot be reached from here (no network?)")
    try:
        return download(card, spec, root), spec.sha256
    except OSError as err:  # HTTP errors are OSErrors too
        raise _missing(card, spec, root, f"the download from {spec.url} failed: {err}") from err


def fetch_files(card: DatasetCard, *, verify: bool = True) -> dict[str, Path]:
    """``key -> path`` of the card's files that exist, downloading absent required ones when online.

    Raises :class:`DataError` naming the first missing required file, ``SOCIALGRAPH_DATA``, and why it could not be
    downloaded (downloads off, host unreachable, or the download itself failed).
    """
    root = data_root()
    found: dict[str, tuple[Path, Optional[str]]] = {}
    for spec in card.files:
        hit = locate(card, spec, root)
        if hit is None and spec.required:
            hit = _obtain(card, spec, root)
        elif hit is None and spec.url and not spec.directory and not _offline() and _reachable(spec.url):
            try:  # an optional file enriches the dataset; failing to fetch it must not block loading
                hit = download(card, spec, root), spec.sha256
            except (DataError, OSError) as err:
                warnings.warn(f"{card.name}: optional file {spec.path} could not be downloaded: {err}", stacklevel=2)
        if hit is not None:
            found[spec.key] = hit
    if verify:
        _verify(card, found)
    return {key: path for key, (path, _) in found.items()}


# ---------------------------------------------------------------------------------------------------- loading
def load_dataset(name: str, *, verify: bool = True) -> SocialGraph:
    """Load dataset ``name`` as a :class:`SocialGraph`.

    Files are read from ``data_root()`` (downloaded there first when absent and online), verified against the
    card's sha256 unless ``verify=False``, and parsed by the family's loader; parsed graphs are cached in
    ``cache_root()`` keyed by the files' digests. A warning is issued when the counts differ from the card's.
    """
    from socialgraph.data.loaders import get_loader
    from socialgraph.data.loaders._cache import cached_graph

    card = get_card(name)
    loader = get_loader(card.family)
    paths = fetch_files(card, verify=verify)
    graph = cached_graph(card, paths, lambda: loader(card, paths))
    summary = graph.summary()
    off = {k: (summary[k], v) for k, v in card.expected.items() if summary[k] != v}
    if off:
        warnings.warn(f"{name}: counts differ from the card ({{key: (loaded, card)}}): {off}", stacklevel=2)
    return graph


def load_ogb_split(name: str, *, verify: bool = True) -> dict:
    """The official OGB link split of ``name`` (e.g. ``"ogbl-ddi"``): ``{"train"|"valid"|"test": {...}}``.

    Each part maps ``"edge"`` (and ``"edge_neg"`` where OGB ships negatives) to int64 ``[N, 2]`` node rows, exactly
    as OGB's ``get_edge_split`` returns them (rows equal ``SocialGraph`` user rows).
    """
    from socialgraph.data.loaders.ogb import edge_split

    card = get_card(name)
    if card.family != "ogb":
        raise DataError(f"{name!r} is not an OGB dataset (family {card.family!r})",
                        hint="official splits exist for ogbl-* datasets only")
    return edge_split(card, fetch_files(card, verify=verify))


__all__ = ["CARDS_DIR", "DatasetCard", "FileSpec", "download", "fetch_files", "get_card", "is_present", "list_datasets",
           "load_dataset", "load_ogb_split", "locate", "resolve", "sha256_file", "verify_file"]
