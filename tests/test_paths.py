"""Where data is read and caches are written: the environment decides, and an empty variable means unset."""
from __future__ import annotations

from pathlib import Path

from socialgraph.paths import cache_root, data_root


def test_empty_variables_mean_the_user_cache_not_the_current_folder(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    for name in ("SOCIALGRAPH_DATA", "SOCIALGRAPH_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, "")
    assert data_root() == home / ".cache" / "socialgraph" / "data"
    assert cache_root() == home / ".cache" / "socialgraph" / "cache" and cache_root().is_dir()
    assert not (tmp_path / "socialgraph").exists()  # nothing written relative to where the command ran


def test_variables_choose_the_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("SOCIALGRAPH_DATA", raising=False)
    monkeypatch.delenv("SOCIALGRAPH_CACHE", raising=False)
    assert data_root() == tmp_path / "xdg" / "socialgraph" / "data"
    monkeypatch.setenv("SOCIALGRAPH_DATA", str(tmp_path / "d"))
    monkeypatch.setenv("SOCIALGRAPH_CACHE", str(tmp_path / "c"))
    assert (data_root(), cache_root()) == (Path(tmp_path / "d"), Path(tmp_path / "c"))
