"""Typed configuration: dataclasses that round-trip through plain dicts, YAML and JSON, checked on the way in.

Every tunable of the project lives in a dataclass with a default; :func:`to_dict` / :func:`from_dict` convert
nested dataclasses. Like scikit-learn's ``_validate_params``, every value is checked against its field before
anything runs, the check being derived from the field's annotation and its declared range:

* ``int`` (not ``bool``), ``float`` (an ``int`` is accepted; never ``NaN`` or infinite), ``bool``, ``str``;
* ``Literal[...]`` and ``choices`` (one of fixed values), ``Optional[X]`` / ``Union[X, Y]``, ``list[X]``;
* a nested dataclass: a *section*, given as a mapping (``null`` keeps its defaults);
* ranges declared with :func:`setting` (``ge`` / ``gt`` / ``le`` / ``lt``), applied to numbers and list elements.

A value that fails raises :class:`ConfigError`, whose message is one line naming where the value came from (file
and line for YAML, ``--set ...`` for an override), the key path, what was expected and what was given::

    my.yaml: line 3: config train.epochs must be an integer >= 1, got 'three'

Unknown keys are refused with the closest valid key and the list of valid keys. The same checks apply to
:func:`from_dict`, :func:`load_yaml`, :func:`update` and :func:`apply_overrides` (``--set key=value``), and to a
dataclass built directly in Python (its ``__post_init__`` calls :func:`check_fields`).
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import math
import numbers
import operator
import re
import types
import typing
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping, Optional, Type, TypeVar, Union

import yaml

T = TypeVar("T")
Lines = Mapping[tuple, int]

# YAML 1.1 (PyYAML) reads ``1e-3`` as a string (it wants ``1.0e-3``); such text is still accepted for a float.
_NUMBER_TEXT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_BOUNDS = (("ge", operator.ge), ("gt", operator.gt), ("le", operator.le), ("lt", operator.lt))


class ConfigError(ValueError):
    """A configuration value, key or file that is not what the configuration expects.

    ``str(err)`` is one line: ``[<source>: ][line <n>: ]<what is wrong>``, where the source is the YAML file or the
    ``--set`` override the value came from. Attributes ``key`` (dotted path, or ``None``), ``source`` and ``line``
    (1-based, YAML only) say the same for programs.
    """

    def __init__(self, message: str, *, key: Optional[str] = None, source: Optional[str] = None,
                 line: Optional[int] = None) -> None:
        self.key, self.source, self.line = key, source, line
        where = (f"{source}: " if source else "") + (f"line {line}: " if line is not None else "")
        super().__init__(re.sub(r"\s*[\r\n]+\s*", " ", where + message).strip())  # one line, whatever the parts held


def setting(default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING, ge: Any = None,
            gt: Any = None, le: Any = None, lt: Any = None, choices: Optional[tuple] = None,
            aliases: Optional[Mapping[Any, Any]] = None) -> Any:
    """A dataclass field with a declared range, read by the checks of this module.

    Args:
        default / factory: the field's default value, or a function making it (for lists).
        ge / gt / le / lt: bounds of a number (or of each element of a list of numbers): ``>=``, ``>``, ``<=``, ``<``.
        choices: the allowed values of a ``str`` field whose choices are defined elsewhere (a module tuple).
        aliases: older spellings accepted and replaced, matched by type and value (``{True: "all"}``).
    """
    meta = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt), ("choices", choices),
                              ("aliases", aliases)) if v is not None}
    if factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


# ------------------------------------------------------------------------------------------------ one value
def _is_union(typ: Any) -> bool:
    return typing.get_origin(typ) is Union or isinstance(typ, types.UnionType)


def _in_range(value: float, meta: Mapping) -> bool:
    return all(op(value, meta[key]) for key, op in _BOUNDS if key in meta)  # NaN compares false: it fails any bound


def _number(value: Any, typ: type, meta: Mapping) -> tuple[bool, Any]:
    if isinstance(value, bool):
        return False, None
    if typ is int:
        ok = isinstance(value, numbers.Integral)
        return (True, int(value)) if ok and _in_range(int(value), meta) else (False, None)
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        value = float(value)
    if not isinstance(value, numbers.Real) or not math.isfinite(value) or not _in_range(value, meta):
        return False, None
    return True, float(value)


def _coerce(value: Any, typ: Any, meta: Mapping) -> tuple[bool, Any]:
    """``(True, value)`` (normalised: ``1`` -> ``1.0`` for a float) when ``value`` fits ``typ`` and ``meta``'s range,
    else ``(False, None)``. Annotations this module cannot describe accept anything."""
    origin = typing.get_origin(typ)
    if _is_union(typ):
        for alt in typing.get_args(typ):
            ok, out = _coerce(value, alt, meta)
            if ok:
                return ok, out
        return False, None
    if typ is type(None):
        return value is None, None
    if origin is Literal:  # by type as well as value: True must not pass for 1
        return any(type(value) is type(c) and value == c for c in typing.get_args(typ)), value
    if typ is bool:  # numpy's bool is no subclass of bool
        return (True, bool(value)) if type(value).__name__ in ("bool", "bool_") else (False, None)
    if typ in (int, float):
        return _number(value, typ, meta)
    if typ is str:
        ok = isinstance(value, str) and ("choices" not in meta or value in meta["choices"])
        return ok, value if ok else None
    if typ is list or origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False, None
        item = (typing.get_args(typ) or (Any,))[0]
        parts = [_coerce(v, item, meta) for v in value]
        return (True, [v for _, v in parts]) if all(ok for ok, _ in parts) else (False, None)
    return True, value


def _range_text(meta: Mapping) -> str:
    lo = ("[", meta["ge"]) if "ge" in meta else ("(", meta["gt"]) if "gt" in meta else None
    hi = ("]", meta["le"]) if "le" in meta else (")", meta["lt"]) if "lt" in meta else None
    if lo and hi:
        return f" in {lo[0]}{lo[1]}, {hi[1]}{hi[0]}"
    if lo:
        return f" {'>=' if lo[0] == '[' else '>'} {lo[1]}"
    if hi:
        return f" {'<=' if hi[0] == ']' else '<'} {hi[1]}"
    return ""


def _expected(typ: Any, meta: Mapping, plural: bool = False) -> str:
    """What ``typ`` (with ``meta``'s range) accepts, in words: ``an integer >= 1``, ``one of ('a', 'b')``."""
    if _is_union(typ):
        parts = ["true, false" if alt is bool else _expected(alt, meta, plural) for alt in typing.get_args(typ)]
        return ", ".join(parts[:-1]) + " or " + parts[-1]
    if typ is type(None):
        return "null"
    if typing.get_origin(typ) is Literal:
        values = typing.get_args(typ)
        return repr(values[0]) if len(values) == 1 else f"one of {values}"
    if typ is str and "choices" in meta:
        return f"one of {tuple(meta['choices'])}"
    if typ is list or typing.get_origin(typ) in (list, tuple):
        item = (typing.get_args(typ) or (Any,))[0]
        return "a list" + ("" if item is Any else f" of {_expected(item, meta, plural=True)}")
    words = {bool: ("true or false", "booleans"), int: ("an integer", "integers"), float: ("a number", "numbers"),
             str: ("a string", "strings")}.get(typ, (getattr(typ, "__name__", str(typ)),) * 2)
    return words[plural] + (_range_text(meta) if typ in (int, float) else "")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# ------------------------------------------------------------------------------------------------ sections
@dataclasses.dataclass(frozen=True)
class _Where:
    """Where checked values came from: the source named in messages, the YAML line of each key path, and
    whether key paths are read from a configuration root (``config train.epochs``) or a bare dataclass (``epochs``)."""

    source: Optional[str] = None
    lines: Lines = dataclasses.field(default_factory=dict)
    rooted: bool = True

    def name(self, path: tuple) -> str:
        dotted = ".".join(map(str, path))
        return (f"config {dotted}" if dotted else "config") if self.rooted else dotted

    def error(self, message: str, path: tuple) -> ConfigError:
        line, up = None, path
        while line is None and up is not None:  # the key's own line, else its section's
            line = self.lines.get(up)
            up = up[:-1] if up else None
        return ConfigError(message, key=".".join(map(str, path)) or None, source=self.source, line=line)


def _fields(cls: type) -> tuple[dict[str, dataclasses.Field], dict[str, Any]]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}, typing.get_type_hints(cls)


def _check_keys(data: Mapping, fields: Mapping[str, Any], path: tuple, where: _Where) -> None:
    unknown = sorted((k for k in data if k not in fields), key=str)
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), list(fields), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise where.error(f"{where.name(path)}: unknown key(s) {unknown}{hint}; valid keys: {sorted(fields)}",
                          path + (unknown[0],))


def _check_field(f: dataclasses.Field, typ: Any, value: Any, path: tuple, where: _Where) -> Any:
    """``value`` checked against field ``f`` (annotated ``typ``) and normalised; :class:`ConfigError` otherwise."""
    for alias, real in (f.metadata.get("aliases") or {}).items():
        if type(value) is type(alias) and value == alias:
            value = real
            break
    if dataclasses.is_dataclass(typ):
        return _section(typ, value, path, where)
    ok, out = _coerce(value, typ, f.metadata)
    if not ok:
        raise where.error(f"{where.name(path)} must be {_expected(typ, f.metadata)}, got {_show(value)}", path)
    return out


def _section(cls: Type[T], value: Any, path: tuple, where: _Where) -> T:
    """A section from a mapping (``None``: the defaults) or an instance; fails on scalars and lists."""
    if isinstance(value, cls):
        return value
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        fields, _ = _fields(cls)
        if path:
            first = next(iter(fields.values()))
            default = first.default if first.default is not dataclasses.MISSING else "..."
            what = f"a section: a mapping of its settings such as `{path[-1]}: {{{first.name}: {default}}}`"
        else:
            what = f"a mapping of sections ({', '.join(fields)})"
        raise where.error(f"{where.name(path)} must be {what}, got {_show(value)}", path)
    fields, hints = _fields(cls)
    _check_keys(value, fields, path, where)
    return cls(**{name: _check_field(fields[name], hints[name], v, path + (name,), where)
                  for name, v in value.items()})


def check_fields(obj: Any) -> None:
    """Check every field of the dataclass instance ``obj`` and normalise it in place (``1`` -> ``1.0`` for a float,
    an alias to its value, a mapping given for a section to the section). Config dataclasses call it from
    ``__post_init__``, so that one built directly in Python is checked as one read from a file.

    Raises:
        ConfigError: naming the first field that fails (``dim must be an integer >= 1, got -8``).
    """
    fields, hints = _fields(type(obj))
    where = _Where(rooted=False)
    for name, f in fields.items():
        value = getattr(obj, name)
        if not (dataclasses.is_dataclass(hints[name]) and isinstance(value, hints[name])):  # sections: checked
            object.__setattr__(obj, name, _check_field(f, hints[name], value, (name,), where))


def from_dict(cls: Type[T], data: Mapping | None, where: Optional[str] = None, *, lines: Optional[Lines] = None) -> T:
    """Build ``cls`` from nested plain dicts; missing keys keep their defaults.

    Args:
        cls: the configuration dataclass (its fields may be dataclasses: sections).
        data: the values, e.g. a parsed YAML file; ``None`` gives the defaults.
        where: the source named in messages (a file name); none by default.
        lines: the 1-based line of each key path (``("train", "epochs")``), as :func:`read_yaml` returns.

    Raises:
        ConfigError: for an unknown key (with the closest valid one), a section given a scalar, or a value of the
            wrong type or out of its range: one line with the source, line, key path, expected and given value.
    """
    return _section(cls, data, (), _Where(source=where, lines=lines or {}))


def update(obj: Any, key: str, value: Any, *, source: Optional[str] = None) -> None:
    """Set the setting at the dotted ``key`` (``"train.epochs"``) of the configuration ``obj`` in place, checked as
    :func:`from_dict` checks it. A section (``"model"``) takes a mapping, merged key by key.

    Raises:
        ConfigError: naming ``source`` (e.g. ``--set train.epochs=three``), the key and the expected value.
    """
    where = _Where(source=source)
    path = tuple(key.split("."))
    target = obj
    for i, name in enumerate(path[:-1]):
        fields, hints = _fields(type(target))
        _check_keys({name: None}, fields, path[:i], where)
        if not dataclasses.is_dataclass(hints[name]):
            raise where.error(f"{where.name(path[:i + 1])} is a setting, not a section; set it with "
                              f"{'.'.join(path[:i + 1])}=VALUE", path[:i + 1])
        target = getattr(target, name)
    # every value is checked before any is set, so that a refused update changes nothing
    for section, name, checked in _assignments(target, path, value, where):
        object.__setattr__(section, name, checked)


def _assignments(target: Any, path: tuple, value: Any, where: _Where) -> list[tuple[Any, str, Any]]:
    """``(section, field, checked value)`` for setting ``path[-1]`` of ``target``; a mapping for a section is
    merged key by key."""
    fields, hints = _fields(type(target))
    name = path[-1]
    _check_keys({name: None}, fields, path[:-1], where)
    if dataclasses.is_dataclass(hints[name]) and isinstance(value, Mapping):
        return [a for k, v in value.items() for a in _assignments(getattr(target, name), path + (k,), v, where)]
    return [(target, name, _check_field(fields[name], hints[name], value, path, where))]


def parse_override(text: str, *, label: str = "--set") -> tuple[str, Any]:
    """``"train.epochs=30"`` -> ``("train.epochs", 30)``.

    The value is read as YAML (``30`` an integer, ``0.1`` a number, ``true`` a boolean, ``[15, 10]`` a list, ``null``
    or nothing: null, ``{dim: 32}`` a section's settings) and kept as text where it is not valid YAML.
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"expected KEY=VALUE such as train.epochs=30, got {text!r}", source=label)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def apply_overrides(obj: T, overrides: Iterable[str], *, label: str = "--set") -> T:
    """Apply ``KEY=VALUE`` overrides (:func:`parse_override`) to ``obj`` in place, in order, and return it.

    Raises:
        ConfigError: ``--set train.epochs=three: config train.epochs must be an integer >= 1, got 'three'``.
    """
    for text in overrides:
        key, value = parse_override(text, label=label)
        update(obj, key, value, source=f"{label} {text}")
    return obj


# ------------------------------------------------------------------------------------------------ files
def to_dict(obj: Any) -> dict:
    """A nested dataclass as plain dicts/lists (JSON- and YAML-safe)."""
    return json.loads(json.dumps(dataclasses.asdict(obj)))


def yaml_key_lines(node: Optional[yaml.Node], prefix: tuple = ()) -> dict[tuple, int]:
    """1-based line of every mapping key in a composed YAML document, keyed by its path (``()``: the document)."""
    out: dict[tuple, int] = {} if prefix or node is None else {(): node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            path = prefix + (k.value,)
            out[path] = k.start_mark.line + 1
            out.update(yaml_key_lines(v, path))
    return out


def read_yaml(path: str | Path) -> tuple[Any, dict[tuple, int]]:
    """A YAML file's data and the line of each key path (see :func:`from_dict`).

    Raises:
        ConfigError: when the file cannot be read or is not valid YAML (with the line of the problem).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"cannot read the configuration: not UTF-8 text ({err.reason} at byte {err.start})",
                          source=str(path)) from None
    except OSError as err:
        raise ConfigError(f"cannot read the configuration: {err.strerror or err}", source=str(path)) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = "" if mark is None else f" (column {mark.column + 1})"
        problem = err.problem or err.context or "syntax error"
        if problem.startswith("but ") and err.context:  # "expected a single document ..., but found another"
            problem = f"{err.context}, {problem}"
        raise ConfigError(f"malformed YAML{where}: {problem}; fix the syntax, "
                          "e.g. indentation or a missing `:` after a key", source=str(path),
                          line=None if mark is None else mark.line + 1) from None
    except yaml.YAMLError as err:
        raise ConfigError(f"malformed YAML: {err}", source=str(path)) from None
    return data, yaml_key_lines(node)


def load_yaml(cls: Type[T], path: str | Path) -> T:
    """Read a YAML configuration file into ``cls``, checked as :func:`from_dict` checks it.

    Raises:
        ConfigError: ``my.yaml: line 3: config train.epochs must be an integer >= 1, got 'three'``; also for a file
            that cannot be read or is malformed YAML.
    """
    data, lines = read_yaml(path)
    return from_dict(cls, data, str(path), lines=lines)


__all__ = ["ConfigError", "apply_overrides", "check_fields", "from_dict", "load_yaml", "parse_override",
           "read_yaml", "setting", "to_dict", "update", "yaml_key_lines"]
