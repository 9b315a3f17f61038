"""The dataset registry: every present dataset loads with the verified counts, checksums are enforced, absent
datasets fail clearly, the data root is never written, and the CLI prints the summary."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from shipped import SHIPPED, dataset_params, pick, present
from socialgraph.data import DataError, load
from socialgraph.data.registry import get_card, is_present, list_datasets, load_dataset, load_ogb_split

# Counts measured on the shared files, as listed in /work/shared/datasets/README.md ("counts (verified)").
# friend_pairs for undirected graphs; ciao is directed, so its README counts trust rows (friend_edges).
README = {
    "lastfm-hetrec-2k": dict(users=1892, friend_pairs=12717, items=17632, engagements=92834),
    "ciao": dict(users=7375, items=105114, engagements=284086, friend_edges=111781),
    "ego-facebook": dict(users=4039, friend_pairs=88234),
    "musae-facebook": dict(users=22470, friend_pairs=171002 - 179),
    "twitch-de": dict(users=9498, friend_pairs=153138),
    "twitch-engb": dict(users=7126, friend_pairs=35324),
    "movielens-100k": dict(users=943, items=1682, engagements=100000, friend_edges=0),
    "cora": dict(users=2708, friend_pairs=10556 // 2),
    "citeseer": dict(users=3327, friend_pairs=9104 // 2),
    "ogbl-ddi": dict(users=4267, friend_pairs=1067911),
    "seal-usair": dict(users=332, friend_pairs=2126),
    "seal-yeast": dict(users=2375, friend_pairs=11693),
    "seal-celegans": dict(users=297, friend_pairs=2148),
    "seal-power": dict(users=4941, friend_pairs=6594),
}


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("SOCIALGRAPH_OFFLINE", "1")  # nothing downloads at test time


def _listing(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


@pytest.mark.dataset(*sorted(README))
def test_every_shared_dataset_has_a_present_card(data_root):
    present = {c.name for c in list_datasets() if is_present(c)}
    assert set(README) <= present


def test_shipped_datasets_are_present_with_an_empty_data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALGRAPH_DATA", str(tmp_path))
    assert {c.name for c in list_datasets() if is_present(c)} == set(SHIPPED)


def test_cards_pin_the_shared_files_and_readme_counts():
    for name, counts in README.items():
        card = get_card(name)
        assert card.homepage.startswith("http") and card.license and card.citation
        for spec in card.files:
            if spec.required and not spec.directory:
                assert spec.sha256 and len(spec.sha256) == 64, (name, spec.path)
        for key, value in counts.items():
            if key in card.expected:
                assert card.expected[key] == value, (name, key)


@pytest.mark.parametrize("name", dataset_params(*sorted(README)))
def test_present_dataset_loads_with_readme_counts(name, data_root):
    before = _listing(data_root / get_card(name).folder)
    graph = load(name)  # through data.load, which dispatches to the registry
    summary = graph.summary()
    for key, value in README[name].items():
        assert summary[key] == value, (name, key, summary[key], value)
    if not graph.directed:
        f = graph.friends
        assert np.all(f[:, 0] < f[:, 1]) and len(np.unique(f, axis=0)) == len(f)
    assert graph.friends.max(initial=-1) < graph.num_users
    if graph.engagements is not None:
        assert graph.engagements[:, 1].max() < graph.num_items
    for table, n in ((graph.user_attrs, graph.num_users), (graph.item_attrs, graph.num_items)):
        if table is not None:
            assert len(table) == n
    assert _listing(data_root / get_card(name).folder) == before


@pytest.mark.dataset("lastfm-hetrec-2k", "movielens-100k", "ciao")
def test_modalities_of_the_multimodal_datasets(data_root):
    lastfm = load_dataset("lastfm-hetrec-2k")
    tags = lastfm.user_attrs.frame["tags"]
    assert all(isinstance(t, list) for t in tags.dropna()) and tags.notna().sum() > 1000
    assert lastfm.engagement_value.min() >= 1
    ml = load_dataset("movielens-100k")
    items = ml.item_attrs.frame
    assert ml.item_attrs.roles["poster"].value == "image"
    posters = items["poster"].dropna()
    assert 1500 < len(posters) <= 1682 and all(Path(p).is_file() for p in posters[:20])
    assert items["description"].notna().sum() > 1500
    assert ml.engagement_time is not None and ml.engagement_value.max() == 5
    ciao = load_dataset("ciao")
    assert ciao.directed and ciao.engagement_time is not None
    assert "Books" in set(ciao.item_attrs.frame["category"].dropna())


def test_repeated_load_is_served_from_cache():
    from socialgraph.paths import cache_root

    first = load_dataset("musae-facebook")
    entries = list((cache_root() / "graphs").glob("musae-facebook-*"))
    assert len(entries) == 1
    again = load_dataset("musae-facebook")
    assert np.array_equal(first.friends, again.friends)
    assert first.user_attrs.frame["description"].iloc[:50].tolist() == \
        again.user_attrs.frame["description"].iloc[:50].tolist()
    assert json.loads((cache_root() / "checksums.json").read_text())  # digests remembered for the next load


@pytest.mark.dataset("ogbl-ddi")
def test_ogb_official_split(data_root):
    split = load_ogb_split("ogbl-ddi")
    assert split["train"]["edge"].shape == (1067911, 2)
    assert split["valid"]["edge"].shape == (133489, 2) and split["valid"]["edge_neg"].shape == (101882, 2)
    assert split["test"]["edge"].shape == (133489, 2) and split["test"]["edge_neg"].shape == (95599, 2)


# (folder to copy, file to corrupt, its dataset, an intact neighbour in the same folder and its users)
CORRUPTIONS = {
    "seal": ("seal", "seal/USAir.mat", "seal-usair", "seal-yeast", 2375),
    "twitch": ("musae/twitch", "musae/twitch/ENGB/ENGB_edges.csv", "twitch-engb", "twitch-de", 9498),
}


def test_checksum_mismatch_is_detected(data_root, shipped_root, tmp_path, monkeypatch):
    case = "seal" if present("seal-usair") and present("seal-yeast") else "twitch"
    folder, corrupt, name, neighbour, users = CORRUPTIONS[case]
    source = data_root / folder if (data_root / folder).is_dir() else shipped_root / folder
    shutil.copytree(source, tmp_path / folder)
    target = tmp_path / corrupt
    raw = bytearray(target.read_bytes())
    raw[-2] ^= 0x01
    target.write_bytes(bytes(raw))
    monkeypatch.setenv("SOCIALGRAPH_DATA", str(tmp_path))
    with pytest.raises(DataError, match="checksum mismatch") as err:
        load_dataset(name)
    assert Path(corrupt).name in str(err.value)
    assert load_dataset(neighbour).num_users == users  # the intact neighbour still loads


def test_absent_dataset_names_file_and_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALGRAPH_DATA", str(tmp_path))
    with pytest.raises(DataError) as err:
        load_dataset("epinions")
    msg = str(err.value)
    assert "epinions/trustnetwork.mat" in msg and "SOCIALGRAPH_DATA" in msg
    assert list(tmp_path.iterdir()) == []  # offline: nothing was created


def test_unknown_name_suggests_close_ones():
    with pytest.raises(DataError, match="did you mean.*twitch-de"):
        get_card("twitch-d")


def test_absent_dataset_says_why_it_was_not_downloaded(tmp_path, monkeypatch):
    """Offline, unreachable and failed downloads are three different messages, each one line."""
    from socialgraph.data import registry

    monkeypatch.setenv("SOCIALGRAPH_DATA", str(tmp_path))
    with pytest.raises(DataError, match="downloads are off") as err:
        load_dataset("twitch-es")
    assert "\n" not in str(err.value)
    monkeypatch.setenv("SOCIALGRAPH_OFFLINE", "0")
    monkeypatch.setattr(registry, "_reachable", lambda url: False)
    with pytest.raises(DataError, match="raw.githubusercontent.com cannot be reached") as err:
        load_dataset("twitch-es")
    assert "SOCIALGRAPH_OFFLINE" not in str(err.value)  # it is not offline: do not tell it to go online

    def refuse(url, dest):
        raise OSError("HTTP Error 404: Not Found")

    monkeypatch.setattr(registry, "_reachable", lambda url: True)
    monkeypatch.setattr(registry, "_fetch", refuse)
    with pytest.raises(DataError, match="download from https://.*ES_edges.csv failed: HTTP Error 404"):
        load_dataset("twitch-es")
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # no partial download left behind


@pytest.mark.parametrize("name, graph", [("musae-facebook", (22470, 170823)), ("twitch-de", (9498, 153138)),
                                         ("twitch-engb", (7126, 35324))])
def test_shipped_graphs_fall_back_to_the_embedded_copy(name, graph, tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALGRAPH_DATA", str(tmp_path))
    loaded = load_dataset(name)
    assert (loaded.num_users, loaded.num_friend_pairs) == graph
    assert list(tmp_path.iterdir()) == []


def test_a_copy_under_an_earlier_upstream_name_is_found(shipped_root, tmp_path, monkeypatch):
    """ENGB's games json was ENGB.json in the first upstream release: a copy under that name is located and
    verified against that release's own digest (so the renamed newer file is refused as another version)."""
    from socialgraph.data.registry import locate

    folder = tmp_path / "musae/twitch/ENGB"
    shutil.copytree(shipped_root / "musae/twitch/ENGB", folder)
    (folder / "ENGB_features.json").rename(folder / "ENGB.json")
    monkeypatch.setenv("SOCIALGRAPH_DATA", str(tmp_path))
    card = get_card("twitch-engb")
    path, digest = locate(card, card.file("features"))
    assert path == folder / "ENGB.json" and digest == card.file("features").also[0][1]
    with pytest.raises(DataError, match="checksum mismatch"):
        load_dataset("twitch-engb")


CLI_COUNTS = {"lastfm-hetrec-2k": ((1892, 12717, 17632, 92834), "hetrec-lastfm"),
              "twitch-engb": ((7126, 35324, 0, 0), "musae")}


def test_cli_info_json(data_root):
    from typer.testing import CliRunner

    from socialgraph.cli.main import app

    name = pick(*CLI_COUNTS)
    result = CliRunner().invoke(app, ["datasets", "info", name, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    counts, family = CLI_COUNTS[name]
    assert (out["users"], out["friend_pairs"], out["items"], out["engagements"]) == counts
    assert out["card"]["family"] == family and out["card"]["files"][0]["sha256"]
    listing = CliRunner().invoke(app, ["datasets", "list"])
    assert listing.exit_code == 0 and name in listing.stdout
    missing = CliRunner().invoke(app, ["datasets", "info", "epinions"])
    assert missing.exit_code == 2 and "SOCIALGRAPH_DATA" in missing.output
