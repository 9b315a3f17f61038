"""Bad configuration values and bad data ids fail in one line that names where, what was expected and what was given.

Everything here is written to ``tmp_path`` (YAML configurations, tiny CSV data folders): no dataset is needed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from socialgraph.config import ConfigError, apply_overrides, check_fields, from_dict, load_yaml, parse_override
from socialgraph.data import DataError
from socialgraph.data.convert import from_pandas
from socialgraph.data.folder import read_folder
from socialgraph.model.config import ModelConfig
from socialgraph.bundle.config import Config


def one_line(err: pytest.ExceptionInfo, *parts: str) -> str:
    """The message of ``err``, checked to be one line holding every one of ``parts``."""
    msg = str(err.value)
    assert "\n" not in msg, msg
    for part in parts:
        assert part in msg, f"{part!r} not in {msg!r}"
    return msg


def yaml_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------------------------ values
@pytest.mark.parametrize("section, key, value, expected", [
    ("train", "epochs", "three", "an integer >= 1"),         # int given a word
    ("model", "dim", 64.5, "an integer >= 1"),               # int given a fraction
    ("model", "id_embedding", 1, "true or false"),           # bool given an integer
    ("train", "lr", "fast", "a number > 0"),                 # float given a word
    ("encoders", "sentence_model", 5, "a string"),           # str given a number
    ("train", "mode", "dense", "one of ('auto', 'full', 'sampled')"),  # Literal given another word
    ("encoders", "image_backbone", "resnet", "one of ('auto', 'efficientnet_lite0', 'pixels')"),  # choices
    ("train", "num_neighbors", [15, "ten"], "a list of integers >= 1"),
    ("encoders", "numeric_log", "yes", "true, false or 'auto'"),          # Union
    ("encoders", "image_dim", "wide", "an integer >= 1 or null"),         # Optional
])
def test_wrong_type_is_one_line_naming_key_expected_and_given(section, key, value, expected):
    with pytest.raises(ConfigError) as err:
        from_dict(Config, {section: {key: value}})
    one_line(err, f"config {section}.{key} must be {expected}, got {value!r}")
    assert isinstance(err.value, ValueError) and err.value.key == f"{section}.{key}"


@pytest.mark.parametrize("section, key, value, expected", [
    ("model", "dim", -8, "an integer >= 1"),
    ("train", "epochs", 0, "an integer >= 1"),
    ("train", "lr", 0, "a number > 0"),
    ("model", "dropout", 1.0, "a number in [0, 1)"),
    ("train", "hard_negative_ratio", 1.5, "a number in [0, 1]"),
    ("train", "lr", float("nan"), "a number > 0"),
    ("train", "num_neighbors", [15, 0], "a list of integers >= 1"),
    ("loss", "link", -1.0, "a number >= 0"),
])
def test_out_of_range_is_one_line(section, key, value, expected):
    with pytest.raises(ConfigError) as err:
        from_dict(Config, {section: {key: value}})
    one_line(err, f"config {section}.{key} must be {expected}, got")


def test_values_that_fit_are_normalised_not_refused():
    cfg = from_dict(Config, {"train": {"lr": 1, "num_neighbors": [5, 5]}, "model": {"dim": np.int64(32)}})
    assert cfg.train.lr == 1.0 and isinstance(cfg.train.lr, float) and cfg.model.dim == 32
    # YAML 1.1 reads 1e-3 as text; it is still a number
    assert from_dict(Config, {"train": {"lr": "1e-3"}}).train.lr == pytest.approx(0.001)
    # configurations written before the similarity scopes held a boolean
    assert from_dict(Config, {"model": {"link_feature_similarity": True}}).model.link_feature_similarity == "all"
    assert from_dict(Config, {"encoders": {"image_dim": None, "numeric_log": False}}).encoders.image_dim is None
    assert from_dict(Config, {"model": None}).model == ModelConfig()  # an empty section keeps the defaults


def test_section_given_a_scalar_is_one_line():
    with pytest.raises(ConfigError) as err:
        from_dict(Config, {"model": 5})
    one_line(err, "config model must be a section", "`model: {dim: 64}`", "got 5")
    with pytest.raises(ConfigError) as err:
        from_dict(Config, [1, 2])
    one_line(err, "config must be a mapping of sections (encoders, model, loss, train)")


def test_unknown_key_suggests_the_closest():
    with pytest.raises(ConfigError) as err:
        from_dict(Config, {"train": {"epoch": 3}})
    one_line(err, "config train: unknown key(s) ['epoch']", "did you mean 'epochs'?", "valid keys:")
    with pytest.raises(ConfigError) as err:
        from_dict(Config, {"trian": {}})
    one_line(err, "unknown key(s) ['trian']", "did you mean 'train'?")


def test_direct_construction_is_checked_too():
    with pytest.raises(ConfigError) as err:
        ModelConfig(dim=-8)
    one_line(err, "dim must be an integer >= 1, got -8")
    with pytest.raises(ConfigError) as err:
        Config(model=5)
    one_line(err, "model must be a section")
    cfg = ModelConfig()
    cfg.heads = "two"  # attributes set by hand are caught when checked again
    with pytest.raises(ConfigError, match="heads must be an integer >= 1, got 'two'"):
        check_fields(cfg)


# ------------------------------------------------------------------------------------------------ YAML files
def test_yaml_value_error_names_file_and_line(tmp_path):
    path = yaml_file(tmp_path, "model:\n  dim: 32\ntrain:\n  lr: 0.01\n  epochs: three\n")
    with pytest.raises(ConfigError) as err:
        load_yaml(Config, path)
    one_line(err, f"{path}: line 5: config train.epochs must be an integer >= 1, got 'three'")
    assert err.value.line == 5 and err.value.source == str(path)


def test_yaml_section_scalar_and_unknown_key_name_their_line(tmp_path):
    path = yaml_file(tmp_path, "train:\n  epochs: 3\nmodel: 5\n")
    with pytest.raises(ConfigError) as err:
        load_yaml(Config, path)
    one_line(err, f"{path}: line 3: config model must be a section")
    path = yaml_file(tmp_path, "\nmodel:\n  heads: 2\n  dimm: 3\n")
    with pytest.raises(ConfigError) as err:
        load_yaml(Config, path)
    one_line(err, f"{path}: line 4: config model: unknown key(s) ['dimm']", "did you mean 'dim'?")


@pytest.mark.parametrize("text, line", [
    ("train:\n  epochs: 3\n   lr: 0.1\n", 3),   # a key indented under a scalar
    ("train: [1, 2\n", 2),                     # an unclosed list
    ("model:\n\tdim: 3\n", 2),                 # a tab
])
def test_malformed_yaml_is_one_line_with_file_and_line(tmp_path, text, line):
    path = yaml_file(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_yaml(Config, path)
    one_line(err, f"{path}: line {line}: malformed YAML")


def test_unreadable_yaml_is_one_line(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_yaml(Config, tmp_path / "missing.yaml")
    one_line(err, "missing.yaml: cannot read the configuration: No such file or directory")


# ------------------------------------------------------------------------------------------------ --set
def test_overrides_are_read_as_yaml_and_checked():
    cfg = apply_overrides(Config(), ["train.epochs=30", "train.num_neighbors=[10, 5]", "model={dim: 32, heads: 4}",
                                     "encoders.image_root=", "model.id_embedding=true"])
    assert cfg.train.epochs == 30 and cfg.train.num_neighbors == [10, 5]
    assert (cfg.model.dim, cfg.model.heads, cfg.model.id_embedding) == (32, 4, True)  # a section merges
    assert cfg.model.layers == ModelConfig().layers and cfg.encoders.image_root is None
    cfg.update("train.lr", 0.01)
    assert cfg.train.lr == 0.01
    assert parse_override("train.select=auc") == ("train.select", "auc")


@pytest.mark.parametrize("override, parts", [
    ("train.epochs=three", ["--set train.epochs=three: config train.epochs must be an integer >= 1, got 'three'"]),
    ("model.dim=-8", ["config model.dim must be an integer >= 1, got -8"]),
    ("train.lr=fast", ["config train.lr must be a number > 0, got 'fast'"]),
    ("model=5", ["config model must be a section"]),
    ("train.epoch=3", ["config train: unknown key(s) ['epoch']", "did you mean 'epochs'?"]),
    ("model={dim: 32, dimm: 3}", ["config model: unknown key(s) ['dimm']"]),
    ("model={dim: 32, heads: two}", ["config model.heads must be an integer >= 1, got 'two'"]),
    ("train.epochs.max=3", ["config train.epochs is a setting, not a section"]),
    ("train.epochs", ["expected KEY=VALUE"]),
])
def test_bad_override_is_one_line(override, parts):
    cfg = Config()
    with pytest.raises(ConfigError) as err:
        cfg.apply_overrides([override])
    one_line(err, *parts)
    assert cfg == Config()  # nothing was changed by the refused override


# ------------------------------------------------------------------------------------------------ data ids
def data_folder(tmp_path: Path, friends: str, **files: str) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    (d / "friends.csv").write_text(friends)
    for name, text in files.items():
        (d / f"{name}.csv").write_text(text)
    return d


@pytest.mark.parametrize("big", ["99999999999999999999999", "9223372036854775808", "-9223372036854775809"])
def test_id_beyond_64_bits_is_one_line_naming_file_row_and_value(tmp_path, big):
    d = data_folder(tmp_path, f"src,dst\n1,2\n2,{big}\n")
    with pytest.raises(DataError) as err:
        read_folder(d)
    one_line(err, "friends.csv: line 3:", f"dst {big} does not fit in a signed 64-bit integer", "use string ids")


def test_id_beyond_64_bits_in_users_and_in_memory_tables(tmp_path):
    d = data_folder(tmp_path, "src,dst\nu1,u2\n", users="user_id,age\n1,30\n123456789012345678901234567,40\n")
    with pytest.raises(DataError) as err:
        read_folder(d)
    one_line(err, "users.csv: line 3:", "user_id 123456789012345678901234567 does not fit")
    with pytest.raises(DataError) as err:
        from_pandas(pd.DataFrame({"src": [1, 2 ** 70], "dst": [2, 3]}, dtype=object))
    one_line(err, "friends table: row 2:", f"src {2 ** 70} does not fit")
    with pytest.raises(DataError) as err:
        from_pandas(pd.DataFrame({"src": np.array([1, 2 ** 64 - 1], dtype=np.uint64), "dst": [2, 3]}))
    one_line(err, "row 2:", f"src {2 ** 64 - 1} does not fit")


def test_time_beyond_64_bits_is_one_line(tmp_path):
    d = data_folder(tmp_path, "src,dst,time\n1,2,2020-01-01\n2,3,99999999999999999999\n")
    with pytest.raises(DataError) as err:
        read_folder(d)
    one_line(err, "friends.csv: line 3:", "time 99999999999999999999 does not fit")


def test_largest_64_bit_ids_still_read(tmp_path):
    d = data_folder(tmp_path, f"src,dst\n{2 ** 63 - 1},{-2 ** 63}\n")
    assert sorted(read_folder(d).user_ids.tolist()) == [-2 ** 63, 2 ** 63 - 1]


# ------------------------------------------------------------------------------------------------ CSV rows
@pytest.mark.parametrize("friends, line", [
    ("src,dst\n1,2\n2,3,9\n", 3),          # a later row
    ("src,dst\n1,2,9\n2,3\n", 2),          # the first row (pandas would take src as an index and shift columns)
    ('src,dst\n"a\nb",c\nb,c,d\n', 4),     # after a quoted line break: the physical line
])
def test_row_with_too_many_fields_is_one_line_with_its_line(tmp_path, friends, line):
    d = data_folder(tmp_path, friends)
    with pytest.raises(DataError) as err:
        read_folder(d)
    one_line(err, f"friends.csv: line {line}: Expected 2 fields (as many as the header), found 3")


def test_first_row_with_an_extra_field_never_shifts_attributes(tmp_path):
    d = data_folder(tmp_path, "src,dst\nu1,u2\n", users="user_id,age\nu1,30,x\nu2,40\n")
    with pytest.raises(DataError) as err:
        read_folder(d)
    one_line(err, "users.csv: line 2: Expected 2 fields")
