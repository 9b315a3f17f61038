"""Typed configuration: dataclasses that round-trip through plain dicts, YAML and JSON.

Every tunable of the project lives in a dataclass with a default; :func:`to_dict` / :func:`from_dict` convert
nested dataclasses, rejecting unknown keys with a message that lists the valid ones.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any, Type, TypeVar

import yaml

T = TypeVar("T")


def to_dict(obj: Any) -> dict:
    """A nested dataclass as plain dicts/lists (JSON- and YAML-safe)."""
    return json.loads(json.dumps(dataclasses.asdict(obj)))


def from_dict(cls: Type[T], data: dict | None, where: str = "config") -> T:
    """Build ``cls`` from ``data``; missing keys keep their defaults, unknown keys raise ``ValueError``."""
    data = dict(data or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; valid keys: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        typ = hints[name]
        if dataclasses.is_dataclass(typ) and isinstance(value, dict):
            value = from_dict(typ, value, f"{where}.{name}")
        kwargs[name] = value
    return cls(**kwargs)


def save_yaml(obj: Any, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(to_dict(obj), sort_keys=False))


def load_yaml(cls: Type[T], path: str | Path) -> T:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f"{path}: cannot read the configuration: {err}") from None
    if data is not None and not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of configuration sections, got {type(data).__name__}")
    return from_dict(cls, data, where=str(path))
