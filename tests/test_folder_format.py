"""The folder format on real data: read, write, read back equal; atomic writes; role inference on real tables."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipped import SYNTH_SOCIAL, graph, pick
from socialgraph.data import Role, SocialGraph, load
from socialgraph.data.convert import from_pandas, to_pandas
from socialgraph.data.folder import read_folder, read_schema, write_folder
from socialgraph.data.schema import infer_roles
from socialgraph.data.validation import DataWarning


def assert_graphs_equal(a: SocialGraph, b: SocialGraph) -> None:
    assert (a.name, a.directed) == (b.name, b.directed)
    np.testing.assert_array_equal(a.user_ids, b.user_ids)
    assert a.user_ids.dtype.kind == b.user_ids.dtype.kind
    for field in ("friends", "friend_weight", "friend_time", "item_ids", "engagements", "engagement_value",
                  "engagement_time", "blocked"):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None) == (y is None), field
        if x is not None:
            np.testing.assert_array_equal(x, y, err_msg=field)
    for field in ("user_attrs", "item_attrs"):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None) == (y is None), field
        if x is not None:
            assert x.roles == y.roles
            pd.testing.assert_frame_equal(x.frame, y.frame)


@pytest.fixture(scope="module")
def lastfm(data_root) -> SocialGraph:
    """Last.fm 2K: friendships, listens as engagements, per-user tags (text and top-3 multihot), artist names; where
    it is absent, the synthetic social graph (every role, items, times) with a few blocked pairs."""
    if pick("lastfm-hetrec-2k", SYNTH_SOCIAL) == SYNTH_SOCIAL:
        g = graph(SYNTH_SOCIAL)
        g.blocked = g.friends[:5, ::-1].copy() if g.blocked is None else g.blocked
        g.blocked[:, 1] = g.friends[100:100 + len(g.blocked), 1]
        return g
    d = data_root / "lastfm-hetrec-2k"
    friends = pd.read_csv(d / "user_friends.dat", sep="\t").rename(columns={"userID": "src", "friendID": "dst"})
    listens = pd.read_csv(d / "user_artists.dat", sep="\t").rename(
        columns={"userID": "user_id", "artistID": "item_id", "weight": "value"})
    tags = pd.read_csv(d / "tags.dat", sep="\t", encoding="latin-1")
    tagged = pd.read_csv(d / "user_taggedartists.dat", sep="\t").merge(tags, on="tagID")
    per_user = tagged.groupby("userID")["tagValue"]
    users = pd.DataFrame({"user_id": np.sort(listens["user_id"].unique())})
    users["tags"] = users["user_id"].map(per_user.agg(lambda t: ", ".join(sorted(set(t)))))
    users["top_tags"] = users["user_id"].map(per_user.agg(lambda t: list(t.value_counts().index[:3])))
    users["listens"] = users["user_id"].map(listens.groupby("user_id")["value"].sum()).astype(float)
    users.loc[users.index % 7 == 0, "listens"] = np.nan  # some missing numbers
    artists = pd.read_csv(d / "artists.dat", sep="\t", usecols=["id", "name"]).rename(
        columns={"id": "item_id", "name": "artist"})
    blocked = friends.iloc[:5][["src", "dst"]].assign(dst=friends["dst"].iloc[100:105].to_numpy())
    return from_pandas(friends, users, artists, listens, blocked, name="lastfm",
                       roles={"users": {"tags": "text", "top_tags": "multihot"}, "items": {"artist": "text"}})


@pytest.mark.dataset("lastfm-hetrec-2k")
def test_lastfm_counts(lastfm):
    assert lastfm.num_users == 1892
    assert lastfm.num_friend_edges == 12717  # 25,434 rows listing each friendship both ways, merged silently
    assert (lastfm.friends[:, 0] < lastfm.friends[:, 1]).all()
    assert lastfm.num_items == 17632 and lastfm.num_engagements == 92834
    assert lastfm.user_attrs.roles == {"tags": Role.TEXT, "top_tags": Role.MULTIHOT, "listens": Role.NUMERIC}
    assert lastfm.user_attrs.frame["top_tags"].dropna().map(len).max() == 3


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_real_data(lastfm, tmp_path, fmt):
    out = write_folder(lastfm, tmp_path / "lastfm", format=fmt)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{t}.{fmt}" for t in ("friends", "users", "items", "engagements", "blocked")] + ["schema.yaml"])
    assert [p.name for p in tmp_path.iterdir()] == ["lastfm"]  # no temporary folder left behind
    assert_graphs_equal(lastfm, read_folder(out))
    assert_graphs_equal(lastfm, load(out))  # the data layer's entry point reads folders too


def test_round_trip_with_times_and_string_ids(tmp_path):
    friends = pd.DataFrame({"src": ["ann", "bob", "cy", "bob"], "dst": ["bob", "cy", "ann", "ann"],
                            "weight": [1.0, 0.5, 2.0, 9.0], "time": ["2021-03-01", "2021-03-02T10:00:00Z",
                                                                      "1614556800", "2021-01-01"]})
    users = pd.DataFrame({"user_id": ["dee", "ann"], "country": ["FR", None], "age": [31.0, np.nan]})
    g = from_pandas(friends, users, directed=True, name="tiny")
    assert g.user_ids.tolist() == ["dee", "ann", "bob", "cy"]
    assert g.friend_time.tolist()[:2] == [1614556800, 1614679200]
    for fmt in ("csv", "parquet"):
        assert_graphs_equal(g, read_folder(write_folder(g, tmp_path / fmt, format=fmt)))


def test_write_is_atomic(lastfm, tmp_path, monkeypatch):
    calls = []
    real = pd.DataFrame.to_csv

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", flaky)
    with pytest.raises(OSError, match="No space"):
        write_folder(lastfm, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_write_refuses_to_clobber_unless_asked(lastfm, tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        write_folder(lastfm, target)
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    write_folder(lastfm, target, overwrite=True)
    assert not (target / "notes.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert read_folder(target).num_friend_edges == lastfm.num_friend_edges


def test_schema_written_with_every_role(lastfm, tmp_path):
    schema = read_schema(write_folder(lastfm, tmp_path / "x") / "schema.yaml")
    assert schema.name == lastfm.name and schema.directed is False
    if lastfm.name == "lastfm":
        assert schema.roles["users"] == {"tags": Role.TEXT, "top_tags": Role.MULTIHOT, "listens": Role.NUMERIC}
        assert schema.roles["items"] == {"artist": Role.TEXT}
    else:  # every role a column can have, ignore included
        assert schema.roles["users"] == {"bio": Role.TEXT, "city": Role.CATEGORICAL, "age": Role.NUMERIC,
                                         "activity": Role.NUMERIC, "interests": Role.MULTIHOT,
                                         "community": Role.IGNORE}
        assert schema.roles["items"] == {"title": Role.TEXT, "genre": Role.CATEGORICAL, "tags": Role.MULTIHOT,
                                         "community": Role.IGNORE}


def test_musae_facebook_as_a_folder(shipped_root, tmp_path):
    """A real user-made folder: page-page edges (with 179 self-loops) and the page table, roles inferred."""
    src = shipped_root / "musae" / "facebook_large"
    d = tmp_path / "fb"
    d.mkdir()
    edges = pd.read_csv(src / "facebook_edges.csv")
    edges.rename(columns={"id_1": "src", "id_2": "dst"}).to_csv(d / "friends.csv", index=False)
    pd.read_csv(src / "facebook_target.csv").rename(columns={"id": "user_id"}).to_parquet(d / "users.parquet")
    with pytest.warns(DataWarning, match="dropped 179 self-loops"):
        g = read_folder(d)
    pairs = np.unique(np.sort(edges.to_numpy(), axis=1), axis=0)
    assert g.num_users == 22470
    assert g.num_friend_edges == int((pairs[:, 0] != pairs[:, 1]).sum())
    assert g.user_attrs.roles == {"page_name": Role.TEXT, "page_type": Role.CATEGORICAL}
    assert g.user_attrs.frame["page_type"].nunique() == 4


def test_infer_roles_on_real_tables(shipped_root, lastfm):
    twitch = pd.read_csv(shipped_root / "musae" / "twitch" / "DE" / "DE_target.csv")
    assert infer_roles(twitch, "id") == {"days": Role.NUMERIC, "mature": Role.CATEGORICAL, "views": Role.NUMERIC,
                                         "partner": Role.CATEGORICAL, "new_id": Role.IGNORE}
    fb = pd.read_csv(shipped_root / "musae" / "facebook_large" / "facebook_target.csv")
    assert infer_roles(fb, "id") == {"facebook_id": Role.IGNORE, "page_name": Role.TEXT,
                                     "page_type": Role.CATEGORICAL}
    users = to_pandas(lastfm)["users"]
    if lastfm.name == "lastfm":
        assert infer_roles(users, "user_id") == {"tags": Role.TEXT, "top_tags": Role.MULTIHOT,
                                                 "listens": Role.NUMERIC}
    else:  # the columns whose role is unambiguous from their values alone
        got = infer_roles(users, "user_id")
        assert {k: got[k] for k in ("bio", "age", "activity", "interests")} == {
            "bio": Role.TEXT, "age": Role.NUMERIC, "activity": Role.NUMERIC, "interests": Role.MULTIHOT}


def test_typo_warning_and_case(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "friends.csv").write_text("src,dst\n1,2\n")
    (d / "Users.csv").write_text("user_id\n1\n")
    (d / "README.md").write_text("not data")
    with pytest.warns(DataWarning, match=r"Users\.csv .* is not read") as record:
        read_folder(d)
    assert not any("README" in str(w.message) for w in record)


def test_engagements_without_friends_make_a_graph(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "friends.csv").write_text("src,dst\n")
    (d / "engagements.csv").write_text("user_id,item_id,value,time\n1,a,5,2020-01-01\n2,a,3,2020-01-02\n")
    g = read_folder(d)
    assert g.num_users == 2 and g.num_friend_edges == 0 and g.item_ids.tolist() == ["a"]
    assert g.engagement_time.tolist() == [1577836800, 1577923200]


def test_documented_example_reads_as_described(tmp_path):
    """The complete example of docs/data-format.md, taken from the page itself."""
    import re

    doc = (Path(__file__).resolve().parents[1] / "docs" / "data-format.md").read_text()
    d = tmp_path / "tiny-club"
    (d / "img").mkdir(parents=True)
    for name, body in re.findall(r"`tiny-club/(\w+\.csv)`\s*```csv\n(.*?)```", doc, flags=re.S):
        (d / name).write_text(body)
    (d / "schema.yaml").write_text(re.search(r"```yaml\n(.*?)```", doc, flags=re.S).group(1))
    for img in ("ann.jpg", "bob.png", "dee.jpg"):
        (d / "img" / img).write_bytes(b"\xff\xd8")
    g = read_folder(d)
    assert g.name == "tiny-club" and g.user_ids.tolist() == ["ann", "bob", "cy", "dee"]
    assert g.num_friend_edges == 3 and g.num_items == 2 and g.num_engagements == 3 and len(g.blocked) == 1
    assert g.user_attrs.roles == {"bio": Role.TEXT, "avatar": Role.IMAGE, "age": Role.NUMERIC,
                                  "country": Role.CATEGORICAL, "interests": Role.MULTIHOT}
    frame = g.user_attrs.frame
    assert np.isnan(frame["age"][1]) and frame["bio"][2] is None and frame["avatar"][2] is None
    assert frame["interests"].tolist() == [["climbing", "baking"], ["music", "film"], ["music"], None]
    assert g.friend_time.tolist() == [1614556800, 1618252200, 1618252200]  # ISO dates and unix seconds
