"""The dataset registry: dataset cards, checksum verification, download, and dispatch to one loader per family.

Every dataset is described by a YAML *card* in the project's top-level ``datasets/`` folder (name, family, home
page, files with their sha256, license, expected counts, citation). :func:`load_dataset` resolves a card's files
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
* One card file may describe several datasets through ``variants`` (e.g. one name per Twitch country); ``{variant}``
  and any key of a variant's mapping are substituted into the card's strings.
"""
from __future__ import annotations

import difflib
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

import yaml
from tqdm.auto import tqdm

from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph
from socialgraph.paths import cache_root, data_root

#: The folder of dataset cards (and the embedded MUSAE files), at the project's top level.
CARDS_DIR = Path(__file__).resolve().parents[2] / "datasets"

#: Counts a card may pin; each is the :meth:`SocialGraph.summary` key of the same name.
COUNT_KEYS = ("users", "friend_edges", "friend_pairs", "items", "engagements")

_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileSpec:
    """One file of a dataset.

    Attributes:
        key: the name the family's loader asks for (``"friends"``, ``"ratings"``, ...).
        path: location relative to the data root, exactly as in the shared layout (``musae/twitch/DE/DE.json``).
        sha256: expected digest; ``None`` when no copy was available to pin it (the file is then used unverified,
            with a warning).
        url: where to download it from; ``member`` names the file inside ``url`` when that is a zip / tar archive.
        required: whether the loader can do without it.
        directory: the path is a folder; ``manifest`` (a ``SHA256SUMS`` file next to the cards) pins its files.
        also: other ``(path, sha256)`` under which an upstream release has shipped the same file (the Twitch games
            json is ``DE.json`` in one commit, ``DE_features.json`` in another); a copy under any of them is accepted
            and verified against its own digest. ``path`` and ``sha256`` are where a download goes and what it
            must hash to.
    """

    key: str
    path: str
    sha256: Optional[str] = None
    url: Optional[str] = None
    member: Optional[str] = None
    required: bool = True
    directory: bool = False
    manifest: Optional[str] = None
    also: tuple[tuple[str, Optional[str]], ...] = ()

    def candidates(self) -> tuple[tuple[str, Optional[str]], ...]:
        """Every ``(path, sha256)`` the file may be found under, the card's own first."""
        return ((self.path, self.sha256), *self.also)


@dataclass(frozen=True)
class DatasetCard:
    """What is known about one dataset before reading it.

    ``params`` carries loader options that differ between members of a family (column roles, file layout);
    ``expected`` maps :data:`COUNT_KEYS` to the counts measured on the pinned files.
    """

    name: str
    family: str
    title: str
    homepage: str
    license: str
    citation: str
    folder: str
    files: tuple[FileSpec, ...]
    expected: Mapping[str, int] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    notes: str = ""
    embedded: bool = False
    source: Optional[Path] = None

    def file(self, key: str) -> FileSpec:
        for f in self.files:
            if f.key == key:
                return f
        raise KeyError(f"card {self.name!r} lists no file with key {key!r}")

    def to_dict(self) -> dict:
        """The card's fields as plain JSON-able values (for ``socialgraph datasets info --json``)."""
        return {
            "name": self.name, "family": self.family, "title": self.title, "homepage": self.homepage,
            "license": self.license, "citation": self.citation, "folder": self.folder,
            "files": [{k: v for k, v in vars(f).items() if v not in (None, ())} for f in self.files],
            "expected": dict(self.expected), "notes": self.notes, "embedded": self.embedded,
        }


# ---------------------------------------------------------------------------------------------------- cards
def _substitute(value: Any, subs: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for k, v in subs.items():
            value = value.replace("{" + k + "}", str(v))
        return value
    if isinstance(value, list):
        return [_substitute(v, subs) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, subs) for k, v in value.items()}
    return value


def _file_spec(raw: dict) -> FileSpec:
    # An empty digest (a variant without a pinned copy) means the same as null; an alternative whose file name is
    # empty (a variant whose upstream never renamed the file: ``dir/{old_name}`` with old_name '') is none.
    also = tuple((a["path"], a.get("sha256") or None) for a in raw.get("also") or []
                 if a.get("path") and not a["path"].endswith("/"))
    return FileSpec(**{**raw, "sha256": raw.get("sha256") or None, "also": also})


def _card_from_dict(raw: dict, source: Path) -> DatasetCard:
    try:
        files = tuple(_file_spec(f) for f in raw.get("files", []))
        expected = {k: int(v) for k, v in (raw.get("expected") or {}).items()}
        unknown = set(expected) - set(COUNT_KEYS)
        if unknown:
            raise TypeError(f"unknown expected counts {sorted(unknown)}; allowed: {list(COUNT_KEYS)}")
        return DatasetCard(
            name=raw["name"], family=raw["family"], title=raw.get("title", raw["name"]),
            homepage=raw["homepage"], license=raw["license"], citation=str(raw.get("citation", "")).strip(),
            folder=raw.get("folder", ""), files=files, expected=expected, params=raw.get("params") or {},
            notes=str(raw.get("notes", "")).strip(), embedded=bool(raw.get("embedded", False)), source=source)
    except (KeyError, TypeError) as err:
        raise DataError(f"malformed dataset card: {err}", file=str(source),
                        hint="every card needs name, family, homepage, license and files (key, path, sha256, url)")


def _expand(raw: dict, variant: Any) -> dict:
    """One card from a multi-dataset card: ``variant`` is a name or a mapping of substitutions (plus ``expected``)."""
    v = {"variant": variant} if isinstance(variant, str) else dict(variant)
    item = _substitute(raw, {k: x for k, x in v.items() if isinstance(x, (str, int)) and k != "expected"})
    if "expected" in v:
        item["expected"] = v["expected"]
    return item


def _read_cards(directory: Path) -> tuple[dict[str, DatasetCard], dict[str, tuple[dict, Path]]]:
    """Cards by name, and the templates of open-ended families (``open_variants``) by name prefix."""
    if not directory.is_dir():
        raise DataError("the dataset card folder is missing", file=str(directory),
                        hint="run from a checkout of the project: cards live in its top-level datasets/ folder")
    cards: dict[str, DatasetCard] = {}
    templates: dict[str, tuple[dict, Path]] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise DataError(f"not valid YAML: {err}", file=str(path)) from err
        variants = raw.pop("variants", None)
        if raw.pop("open_variants", False):
            # Any ``<prefix><variant>`` name is valid (e.g. each of the 100 Facebook100 schools).
            templates[raw["name"].split("{variant}")[0]] = (raw, path)
        for item in [raw] if variants is None else [_expand(raw, v) for v in variants]:
            card = _card_from_dict(item, path)
            if card.name in cards:
                raise DataError(f"dataset {card.name!r} is defined twice", file=str(path),
                                hint=f"the other definition is in {cards[card.name].source}")
            cards[card.name] = card
    return cards, templates


def list_datasets(cards_dir: Optional[Path] = None) -> list[DatasetCard]:
    """All dataset cards, sorted by family then name."""
    cards, _ = _read_cards(cards_dir or CARDS_DIR)
    return sorted(cards.values(), key=lambda c: (c.family, c.name))


def get_card(name: str, cards_dir: Optional[Path] = None) -> DatasetCard:
    """The card of dataset ``name``; a :class:`DataError` lists close names when it is unknown."""
    cards, templates = _read_cards(cards_dir or CARDS_DIR)
    if name in cards:
        return cards[name]
    for prefix, (raw, source) in templates.items():
        if name.startswith(prefix) and len(name) > len(prefix):
            return _card_from_dict(_expand(raw, name[len(prefix):]), source)
    close = difflib.get_close_matches(name, list(cards), n=3)
    hint = f"did you mean {', '.join(close)}?" if close else "run `socialgraph datasets list` for the known names"
    raise DataError(f"unknown dataset {name!r}", hint=hint)


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


__all__ = ["DatasetCard", "FileSpec", "download", "fetch_files", "get_card", "is_present", "list_datasets",
           "load_dataset", "load_ogb_split", "locate", "resolve", "sha256_file", "verify_file"]
