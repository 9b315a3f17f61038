"""Dataset cards: what is known about a dataset before reading it, parsed from the YAML files in ``datasets/``.

Every dataset is described by a YAML *card* in the project's top-level ``datasets/`` folder (name, family, home
page, files with their sha256 and the other names upstream releases gave them, license, expected counts,
citation). One card file may describe several datasets through ``variants`` (e.g. one name per Twitch country);
``{variant}`` and any key of a variant's mapping are substituted into the card's strings. A card marked
``open_variants`` accepts any ``<prefix><variant>`` name. :mod:`socialgraph.data.registry` finds, verifies and
downloads the files a card names.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

import yaml

from socialgraph.data.errors import DataError

#: The folder of dataset cards (and the embedded MUSAE files), at the project's top level.
CARDS_DIR = Path(__file__).resolve().parents[2] / "datasets"

#: Counts a card may pin; each is the :meth:`SocialGraph.summary` key of the same name.
COUNT_KEYS = ("users", "friend_edges", "friend_pairs", "items", "engagements")

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


__all__ = ["CARDS_DIR", "COUNT_KEYS", "DatasetCard", "FileSpec", "get_card", "list_datasets"]
