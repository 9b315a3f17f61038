"""Dataset cards name the files their upstream releases really hold, and a copy under any accepted name is found and
verified against that name's own digest.

Offline and fast: nothing is downloaded, and only the MUSAE files the project ships (``datasets/musae``) are read.
"""
from __future__ import annotations

import re
import shutil
import urllib.parse
import warnings
from pathlib import Path, PurePosixPath

import pytest
import yaml

from socialgraph.data import DataError
from socialgraph.data.registry import (CARDS_DIR, fetch_files, get_card, list_datasets, load_dataset, locate,
                                       sha256_file)

CARD_FILES = sorted(CARDS_DIR.glob("*.yaml"))
ALL_CARDS = list_datasets()
HEX64 = re.compile(r"[0-9a-f]{64}")
ENGB = CARDS_DIR / "musae/twitch/ENGB"
FACEBOOK = CARDS_DIR / "musae/facebook_large"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """An empty data root and a private cache; downloads off."""
    monkeypatch.setenv("SOCIALGRAPH_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SOCIALGRAPH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SOCIALGRAPH_OFFLINE", "1")
    (tmp_path / "data").mkdir()


def _specs():
    return [(card, spec) for card in ALL_CARDS for spec in card.files]


def _id(item):
    card, spec = item
    return f"{card.name}:{spec.key}"


# ------------------------------------------------------------------------------------------------ the cards
@pytest.mark.parametrize("path", CARD_FILES, ids=lambda p: p.name)
def test_every_card_file_parses_into_cards(path):
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    cards = [c for c in ALL_CARDS if c.source == path]
    assert cards, f"{path.name} yields no dataset"
    variants = raw.get("variants")
    assert len(cards) == (1 if variants is None else len(variants))
    for card in cards:
        assert card.homepage.startswith("https://") or card.homepage.startswith("http://")
        assert card.license and card.citation and card.files
        assert len({f.key for f in card.files}) == len(card.files), "file keys repeat"
        for spec in card.files:
            assert "{" not in spec.path and "}" not in spec.path, "an unsubstituted variable"


def test_an_open_variant_card_builds_any_member():
    card = get_card("facebook100-Auburn71")  # not listed in the card: facebook100 takes any school
    assert card.file("graph").path == "facebook100/Auburn71.mat"
    assert card.file("graph").member == "facebook100/Auburn71.mat"


@pytest.mark.parametrize("item", _specs(), ids=_id)
def test_every_file_has_a_url_or_the_card_says_why_not(item):
    card, spec = item
    if spec.url:
        assert urllib.parse.urlsplit(spec.url).scheme in ("http", "https")
        return
    assert PurePosixPath(spec.path).name in card.notes, (
        f"{spec.path} has no url and the notes of {card.source.name} do not say why")


@pytest.mark.parametrize("item", _specs(), ids=_id)
def test_paths_digests_and_urls_are_well_formed(item):
    card, spec = item
    for rel, digest in spec.candidates():
        p = PurePosixPath(rel)
        assert not p.is_absolute() and ".." not in p.parts and rel == str(p), rel
        assert digest is None or HEX64.fullmatch(digest), (rel, digest)
    if spec.url and "raw.githubusercontent.com" in spec.url:
        # A pinned commit, never a branch: the file a download gets is the file the digest was taken from.
        assert re.fullmatch(r"[0-9a-f]{40}", urllib.parse.urlsplit(spec.url).path.split("/")[3]), spec.url
    if spec.member:
        assert spec.url and re.search(r"\.(zip|tar\.gz|tgz|tar)$", spec.url), (spec.url, spec.member)
    if spec.url and "snap.stanford.edu/ogb/" in spec.url:
        # ogb unpacks <download_name>.zip into a <download_name>/ folder (ogb/linkproppred/master.csv).
        assert spec.member.split("/")[0] == PurePosixPath(urllib.parse.urlsplit(spec.url).path).stem


@pytest.mark.parametrize("path", CARD_FILES, ids=lambda p: p.name)
def test_also_alternatives_parse_into_candidates_with_the_cards_own_name_first(path):
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for card in (c for c in ALL_CARDS if c.source == path):
        for spec in card.files:
            cands = spec.candidates()
            assert cands[0] == (spec.path, spec.sha256)
            assert cands[1:] == spec.also
            assert len({rel for rel, _ in cands}) == len(cands), "a name is listed twice"
            raw_spec = next(f for f in raw["files"] if f["key"] == spec.key)
            # every alternative of the raw card survives, except a variant's empty one (no earlier name)
            assert len(spec.also) <= len(raw_spec.get("also") or [])


def test_twitch_alternatives_follow_the_upstream_renames():
    # DE.json was never renamed in the author's repository; SNAP's zip calls it musae_DE.json
    assert get_card("twitch-de").file("features").also == (("musae/twitch/DE/musae_DE.json", None),)
    engb = get_card("twitch-engb").file("features")
    assert engb.candidates() == (
        ("musae/twitch/ENGB/ENGB_features.json", "efcd846f7b687d299c9c674f3cda43cd70de8307d2558895bddd3645eb38d500"),
        ("musae/twitch/ENGB/ENGB.json", "d55948bd911ab28e0a89c4946562d5a8b363b9a7e4216e1a4986f37c74caa777"),
        ("musae/twitch/ENGB/musae_ENGB_features.json", None))
    assert get_card("twitch-engb").file("edges").also == (("musae/twitch/ENGB/musae_ENGB_edges.csv", None),)


def test_cards_name_the_files_of_the_pinned_upstream_commits():
    """The names checked against the upstream repositories (see each card's header comment)."""
    assert get_card("github").file("features").path == "musae/git_web_ml/git_features.json"
    assert ("musae/git_web_ml/musae_git_features.json", None) in get_card("github").file("features").also
    assert get_card("epinions").file("catalog").path == "epinions/catalog_epinion.txt"
    assert "Epinion%26Ciao/rating_with_timestamp.mat" in get_card("epinions").file("ratings_time").url
    for name, zip_name in (("ogbl-ppa", "ppassoc"), ("ogbl-citation2", "citation-v2"), ("ogbl-collab", "collab"),
                           ("ogbl-ddi", "ddi")):
        for spec in get_card(name).files:
            assert spec.url.endswith(f"/{zip_name}.zip") and spec.member.startswith(f"{zip_name}/"), spec


# ------------------------------------------------------------------------------------------------ locating copies
def _fake_card(cards_dir: Path, good: str, bad: str) -> None:
    cards_dir.mkdir()
    (cards_dir / "fake.yaml").write_text(f"""\
name: fake
family: musae
homepage: https://example.org/fake
license: MIT
citation: nobody
folder: fake
files:
- key: edges
  path: fake/new_edges.csv
  sha256: '{good}'
  url: https://example.org/fake/new_edges.csv
  also:
  - path: fake/old_edges.csv
    sha256: '{bad}'
  - path: fake/snap_edges.csv
    sha256: null
""", encoding="utf-8")


def test_a_fake_card_finds_each_name_and_verifies_it_against_its_own_digest(tmp_path):
    root = tmp_path / "data"
    content = b"id_1,id_2\n0,1\n"
    (tmp_path / "x").write_bytes(content)
    good = sha256_file(tmp_path / "x")
    old = "ab" * 32  # another release's digest
    _fake_card(tmp_path / "cards", good, old)
    [card] = list_datasets(cards_dir=tmp_path / "cards")
    assert get_card("fake", cards_dir=tmp_path / "cards") == card
    spec = card.file("edges")
    assert [rel for rel, _ in spec.candidates()] == ["fake/new_edges.csv", "fake/old_edges.csv",
                                                      "fake/snap_edges.csv"]
    assert locate(card, spec, root) is None

    (root / "fake").mkdir()
    (root / "fake/snap_edges.csv").write_bytes(content)  # an unpinned alternative: used, with a warning
    assert locate(card, spec, root) == (root / "fake/snap_edges.csv", None)
    with pytest.warns(UserWarning, match="no pinned sha256"):
        assert fetch_files(card) == {"edges": root / "fake/snap_edges.csv"}

    (root / "fake/old_edges.csv").write_bytes(content)  # an earlier name wins over a later alternative ...
    assert locate(card, spec, root) == (root / "fake/old_edges.csv", old)
    with pytest.raises(DataError, match="checksum mismatch"):  # ... and is held to that name's digest
        fetch_files(card)

    (root / "fake/new_edges.csv").write_bytes(content)  # the card's own name comes first of all
    assert locate(card, spec, root) == (root / "fake/new_edges.csv", good)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fetch_files(card) == {"edges": root / "fake/new_edges.csv"}


def test_twitch_engb_under_its_first_release_name_is_found_and_checked(tmp_path):
    """ENGB's games json was ENGB.json in the first upstream release (commit 032d501). The shipped file renamed to
    that name is located with that release's digest, and refused: it is the newer file, not the old one."""
    folder = tmp_path / "data/musae/twitch/ENGB"
    shutil.copytree(ENGB, folder)
    (folder / "ENGB_features.json").rename(folder / "ENGB.json")
    card = get_card("twitch-engb")
    spec = card.file("features")
    assert locate(card, spec) == (folder / "ENGB.json", spec.also[0][1])
    with pytest.raises(DataError, match="checksum mismatch") as err:
        load_dataset("twitch-engb")
    assert "ENGB.json" in str(err.value)


def test_twitch_engb_with_the_right_file_under_the_current_name_loads(tmp_path):
    folder = tmp_path / "data/musae/twitch/ENGB"
    shutil.copytree(ENGB, folder)
    card = get_card("twitch-engb")
    assert fetch_files(card) == {k: folder / f"ENGB_{k}.{'json' if k == 'features' else 'csv'}"
                                 for k in ("edges", "target", "features")}
    graph = load_dataset("twitch-engb")
    assert (graph.num_users, graph.num_friend_pairs) == (7126, 35324)


def test_musae_facebook_under_snaps_names_is_found_and_verified(tmp_path):
    """SNAP's facebook_large.zip names the files musae_facebook_*: a copy under those names is used (edges and
    features verified against the same digests as the author's names, the target unpinned)."""
    folder = tmp_path / "data/musae/facebook_large"
    folder.mkdir(parents=True)
    for part in ("edges.csv", "target.csv", "features.json"):
        shutil.copy(FACEBOOK / f"facebook_{part}", folder / f"musae_facebook_{part}")
    card = get_card("musae-facebook")
    with pytest.warns(UserWarning, match="musae_facebook_target.csv has no pinned sha256"):
        paths = fetch_files(card)
    assert paths == {"edges": folder / "musae_facebook_edges.csv", "target": folder / "musae_facebook_target.csv",
                     "features": folder / "musae_facebook_features.json"}
    (folder / "musae_facebook_edges.csv").write_text("id_1,id_2\n0,1\n")
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch_files(card)
