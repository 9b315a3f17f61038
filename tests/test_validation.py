"""Every class of bad input fails (or warns) with a message naming the file, the line and the offending id/value.

Each test writes a small bad folder to ``tmp_path``; line numbers count the header as line 1.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from socialgraph.data import DataError
from socialgraph.data.folder import read_folder
from socialgraph.data.validation import DataWarning

GOOD_FRIENDS = "src,dst\n1,2\n2,3\n"


def folder(tmp_path: Path, **files: str | bytes) -> Path:
    """A data folder in ``tmp_path`` with the given files (``friends_csv="..."`` -> ``friends.csv``)."""
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    for key, content in files.items():
        name = key.replace("_csv", ".csv").replace("_yaml", ".yaml").replace("_parquet", ".parquet")
        (d / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return d


def fails(path: Path, *parts: str, **kwargs) -> DataError:
    """Read ``path`` expecting a DataError whose message holds every one of ``parts``; nothing is written."""
    before = sorted(p.name for p in path.iterdir())
    with pytest.raises(DataError) as err:
        read_folder(path, **kwargs)
    msg = str(err.value)
    for part in parts:
        assert part in msg, f"{part!r} not in {msg!r}"
    assert sorted(p.name for p in path.iterdir()) == before
    return err.value


# ------------------------------------------------------------------------------------------------ unknown ids
def test_engagement_user_not_in_users_table(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, users_csv="user_id\n1\n2\n3\n",
               engagements_csv="user_id,item_id\n1,10\n2,10\n99,11\n")
    err = fails(d, "engagements.csv", "line 4", "99", "users.csv")
    assert err.line == 4 and err.file == "engagements.csv"


def test_engagement_item_not_in_items_table(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, items_csv="item_id,title\na,x\nb,y\n",
               engagements_csv="user_id,item_id\n1,a\n2,zz\n")
    fails(d, "engagements.csv", "line 3", "'zz'", "items.csv")


def test_blocked_user_not_in_graph(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, blocked_csv="src,dst\n1,3\n2,777\n")
    fails(d, "blocked.csv", "line 3", "777")


# ------------------------------------------------------------------------------------------------ duplicates
def test_duplicate_user_id(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, users_csv="user_id,age\n1,20\n2,30\n1,40\n")
    fails(d, "users.csv", "line 4", "duplicate user_id 1", "line 2")


def test_duplicate_item_id(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, items_csv="item_id\nx\ny\ny\n",
               engagements_csv="user_id,item_id\n1,x\n")
    fails(d, "items.csv", "line 4", "'y'")


def test_exact_duplicate_edge_warns_and_merges(tmp_path):
    d = folder(tmp_path, friends_csv="src,dst\n1,2\n2,3\n1,2\n")
    with pytest.warns(DataWarning, match=r"friends.csv: line 4: merged 1 duplicate .*1 -> 2 repeats friends.csv: line 2"):
        g = read_folder(d)
    assert g.num_friend_edges == 2


def test_reversed_pair_merges_silently_when_undirected(tmp_path, recwarn):
    d = folder(tmp_path, friends_csv="src,dst\n1,2\n2,1\n3,2\n2,3\n")
    g = read_folder(d)
    assert not [w for w in recwarn if issubclass(w.category, DataWarning)]
    assert g.num_friend_edges == 2
    assert (g.friends[:, 0] < g.friends[:, 1]).all()


def test_reversed_pair_kept_when_directed(tmp_path):
    d = folder(tmp_path, friends_csv="src,dst\n1,2\n2,1\n1,2\n", schema_yaml="directed: true\n")
    with pytest.warns(DataWarning, match="line 4"):
        g = read_folder(d)
    assert g.directed and g.num_friend_edges == 2
    assert {tuple(r) for r in g.user_ids[g.friends].tolist()} == {(1, 2), (2, 1)}


# ------------------------------------------------------------------------------------------------ self-loops
def test_self_loops_dropped_with_warning(tmp_path):
    d = folder(tmp_path, friends_csv="src,dst\n1,2\n3,3\n2,3\n4,4\n")
    with pytest.warns(DataWarning, match=r"friends.csv: line 3: dropped 2 self-loops \(first: self-loop 3 -> 3\)"):
        g = read_folder(d)
    assert g.num_friend_edges == 2 and (g.friends[:, 0] != g.friends[:, 1]).all()


def test_self_loops_refused_on_request(tmp_path):
    d = folder(tmp_path, friends_csv="src,dst\nal,bob\nbob,cy\nbob,bob\n")
    fails(d, "friends.csv", "line 4", "'bob' -> 'bob'", self_loops="error")
    # the same refusal declared in schema.yaml
    (d / "schema.yaml").write_text("self_loops: error\n")
    fails(d, "friends.csv", "line 4", "'bob'")


# ------------------------------------------------------------------------------------------------ numbers
def test_inf_in_numeric_attribute_is_an_error(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, users_csv="user_id,age\n1,20\n2,inf\n3,\n")
    fails(d, "users.csv", "line 3", "age", "inf")


def test_nan_in_numeric_attribute_is_missing(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, users_csv="user_id,age\n1,20\n2,NaN\n3,\n",
               schema_yaml="users: {columns: {age: numeric}}\n")
    g = read_folder(d)
    assert np.isnan(g.user_attrs.frame["age"].to_numpy()).tolist() == [False, True, True]


def test_nan_weight_is_an_error(tmp_path):
    d = folder(tmp_path, friends_csv="src,dst,weight\n1,2,1.5\n2,3,NaN\n")
    fails(d, "friends.csv", "line 3", "weight")


def test_nan_engagement_value_is_an_error(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, engagements_csv="user_id,item_id,value\n1,9,2\n2,9,\n")
    fails(d, "engagements.csv", "line 3", "value")


# ------------------------------------------------------------------------------------------------ empty / unreadable
def test_empty_graph(tmp_path):
    d = folder(tmp_path, friends_csv="src,dst\n", users_csv="user_id\n1\n2\n")
    fails(d, "friends.csv", "empty", "no friend edges")


def test_graph_of_only_self_loops_is_empty(tmp_path):
    d = folder(tmp_path, friends_csv="src,dst\n1,1\n")
    with pytest.warns(DataWarning):
        fails(d, "friends.csv", "empty", "self-loops")


def test_directory_named_like_a_table(tmp_path):
    d = folder(tmp_path)
    (d / "friends.csv").mkdir()
    fails(d, "friends.csv", "directory")


def test_binary_garbage(tmp_path):
    d = folder(tmp_path, friends_csv=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    fails(d, "friends.csv", "binary")


def test_not_utf8(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, users_csv="user_id,city\n1,K\xf6ln\n".encode("latin-1"))
    fails(d, "users.csv", "UTF-8")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_permissions(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS)
    (d / "friends.csv").chmod(0)
    try:
        fails(d, "friends.csv", "permission")
    finally:
        (d / "friends.csv").chmod(0o644)


def test_permission_error_is_reported_as_data_error(tmp_path, monkeypatch):
    """The same path as above, reachable when the tests run as root."""
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(pd, "read_csv", denied)
    fails(d, "friends.csv", "permission denied")


# ------------------------------------------------------------------------------------------------ truncated
def test_truncated_parquet(tmp_path):
    d = folder(tmp_path)
    pd.DataFrame({"src": np.arange(500), "dst": np.arange(1, 501)}).to_parquet(d / "friends.parquet")
    data = (d / "friends.parquet").read_bytes()
    (d / "friends.parquet").write_bytes(data[: len(data) // 2])
    fails(d, "friends.parquet", "truncated")


def test_truncated_csv_last_row(tmp_path):
    d = folder(tmp_path, friends_csv="src,dst,weight\n1,2,0.5\n2,3,0.25\n3,4")
    fails(d, "friends.csv", "line 4", "truncated", "'3,4'")


def test_csv_row_with_too_many_fields(tmp_path):
    d = folder(tmp_path, friends_csv="src,dst\n1,2\n2,3,9\n")
    fails(d, "friends.csv", "line 3", "Expected 2 fields")


# ------------------------------------------------------------------------------------------------ types
def test_weight_not_numeric(tmp_path):
    d = folder(tmp_path, friends_csv="src,dst,weight\n1,2,1\n2,3,heavy\n")
    fails(d, "friends.csv", "line 3", "'heavy'", "not a number")


def test_declared_numeric_column_holding_words(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, users_csv="user_id,age\n1,20\n2,\n3,old\n",
               schema_yaml="users:\n  columns:\n    age: numeric\n")
    fails(d, "users.csv", "line 4", "'old'")


# ------------------------------------------------------------------------------------------------ columns
@pytest.mark.parametrize("table,content,missing", [
    ("friends_csv", "source,dst\n1,2\n", "'src'"),
    ("users_csv", "id,age\n1,3\n", "'user_id'"),
    ("engagements_csv", "user_id,item\n1,3\n", "'item_id'"),
    ("blocked_csv", "src\n1\n", "'dst'"),
])
def test_missing_required_column(tmp_path, table, content, missing):
    files = {"friends_csv": GOOD_FRIENDS, table: content}
    d = folder(tmp_path, **files)
    fails(d, table.replace("_csv", ".csv"), "line 1", "missing required column", missing)


# ------------------------------------------------------------------------------------------------ id types
def test_mixed_id_types_in_one_column(tmp_path):
    d = folder(tmp_path, friends_csv="src,dst\n1,2\n2,3\n3,alice\n4,5\n")
    fails(d, "friends.csv", "line 4", "'alice'", "mixed id types")


def test_mixed_id_types_across_tables(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, users_csv="user_id\nu1\nu2\n")
    fails(d, "friends.csv", "line 2", "mixed id types across tables", "users.csv", "'u1'")


def test_mixed_id_types_in_typed_column():
    """Parquet files and DataFrames carry Python values: an object column of ints and strings is refused."""
    from socialgraph.data.convert import from_pandas

    friends = pd.DataFrame({"src": pd.Series([1, 2, "x"], dtype=object), "dst": [2, 3, 4]})
    with pytest.raises(DataError, match=r"friends table: row 3: mixed id types in src: 'x' is a string but 1"):
        from_pandas(friends)


# ------------------------------------------------------------------------------------------------ times
def test_time_that_does_not_parse(tmp_path):
    d = folder(tmp_path, friends_csv="src,dst,time\n1,2,2020-01-01\n2,3,yesterday\n")
    fails(d, "friends.csv", "line 3", "'yesterday'", "not a time")


def test_times_parse_iso_dates_and_unix_seconds(tmp_path):
    d = folder(tmp_path, friends_csv="src,dst,time\n1,2,1970-01-02\n2,3,2020-01-01T00:00:00Z\n3,4,86400\n")
    g = read_folder(d)
    assert g.friend_time.tolist() == [86400, 1577836800, 86400]


# ------------------------------------------------------------------------------------------------ images
def test_image_path_that_does_not_exist(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, users_csv="user_id,avatar\n1,img/a.png\n2,img/b.png\n3,\n")
    (d / "img").mkdir()
    (d / "img" / "a.png").write_bytes(b"\x89PNG")
    err = fails(d, "users.csv", "line 3", "'img/b.png'", "does not exist")
    assert str(d / "img" / "b.png") in str(err)
    # once it exists, paths come back absolute and a missing cell stays missing
    (d / "img" / "b.png").write_bytes(b"\x89PNG")
    g = read_folder(d)
    assert g.user_attrs.frame["avatar"].tolist()[:2] == [str((d / "img" / n).resolve()) for n in ("a.png", "b.png")]
    assert g.user_attrs.frame["avatar"].tolist()[2] is None


# ------------------------------------------------------------------------------------------------ schema.yaml
def test_malformed_schema(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, schema_yaml="directed: false\nusers: {columns: [bio\n")
    fails(d, "schema.yaml", "malformed YAML", "line ")


def test_schema_unknown_role(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, users_csv="user_id,bio\n1,x\n",
               schema_yaml="directed: false\nusers:\n  columns:\n    bio: prose\n")
    fails(d, "schema.yaml", "line 4", "unknown role 'prose'", "'bio'")


def test_schema_unknown_column(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, users_csv="user_id,bio\n1,x\n",
               schema_yaml="users:\n  columns:\n    bio: text\n    age: numeric\n")
    fails(d, "schema.yaml", "line 4", "'age'", "users.csv")


def test_schema_unknown_key(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, schema_yaml="directed: false\nuser:\n  columns: {}\n")
    fails(d, "schema.yaml", "line 2", "unknown key 'user'", "did you mean 'users'")


# ------------------------------------------------------------------------------------------------ files
def test_typo_of_a_known_file_warns(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS, engagement_csv="user_id,item_id\n1,2\n")
    with pytest.warns(DataWarning, match=r"engagement\.csv .* is not read: did you mean engagements\.csv"):
        g = read_folder(d)
    assert g.engagements is None


def test_folder_without_friends(tmp_path):
    d = folder(tmp_path, friend_csv=GOOD_FRIENDS)
    with pytest.warns(DataWarning, match="friend.csv"):
        fails(d, "no friends.csv or friends.parquet", "users", "engagements", "schema.yaml")


def test_both_csv_and_parquet(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS)
    pd.DataFrame({"src": [1], "dst": [2]}).to_parquet(d / "friends.parquet")
    fails(d, "friends.csv", "friends.parquet")


def test_blank_lines_do_not_shift_line_numbers(tmp_path):
    d = folder(tmp_path, friends_csv="src,dst\n1,2\n\n\n2,3\n3,x y\n")
    fails(d, "friends.csv", "line 6", "'x y'")


def test_quoted_newlines_do_not_shift_line_numbers(tmp_path):
    d = folder(tmp_path, friends_csv=GOOD_FRIENDS,
               users_csv='user_id,bio\n1,"two\nlines"\n2,ok\n2,dup\n')
    fails(d, "users.csv", "line 5", "duplicate user_id 2", "first at users.csv: line 4")
