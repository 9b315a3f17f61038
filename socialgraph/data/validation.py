"""Checks that turn raw tables into clean arrays, or fail with a :class:`DataError` that says where and what to do.

Every check works on a :class:`Table`: a ``DataFrame`` plus where it came from (a file name, and for text files the
physical line of each row, the header being line 1). Errors name the file, the line (or the row for Parquet files
and in-memory frames), the offending id or value, and a fix. Recoverable oddities (self-loops under the default
policy, exact duplicate edge rows) are reported with :class:`DataWarning` instead.

The contracts, all vectorised over rows:

* ids: a column holds either integers or strings, never both; in text files a value is an integer when it reads as
  one (``-?(0|[1-9][0-9]*)``). All user-id columns of a graph share one kind, and so do all item-id columns.
* numbers: ``weight`` / ``value`` must be finite; numeric attribute columns may hold ``NaN`` (missing, later a mask)
  but never ``inf``.
* times: integers are unix seconds; strings are parsed as ISO-8601 (or any date pandas reads) and stored as int64
  unix seconds, naive times being taken as UTC.
* edges: self-loops are dropped (with a warning) or refused; an undirected pair listed as ``(a, b)`` and ``(b, a)``
  is merged silently, a row repeated exactly is merged with a warning; directed graphs keep both directions.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from socialgraph.data.adjacency import unordered_keys
from socialgraph.data.errors import DataError
from socialgraph.data.schema import MULTIHOT_SEP, Role

_INT_TEXT = r"-?(?:0|[1-9][0-9]*)"
_SELF_LOOP_POLICIES = ("drop", "error")
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1
_WIDE = "does not fit in a signed 64-bit integer"
_WIDE_ID_HINT = (f"integer ids must lie between {_INT64_MIN} and {_INT64_MAX}; use string ids for longer ones: in "
                 "CSV write them with a letter prefix (u12345...) in every file naming them, in Parquet store the "
                 "column as strings")
_WIDE_TIME_HINT = "times are unix seconds (1262304000) or ISO-8601 dates (2010-01-01)"


def show(value) -> str:
    """``repr`` of an id or value as the user wrote it (``3``, ``'alice'``), numpy scalars shown as Python ones."""
    return repr(value.item() if isinstance(value, np.generic) else value)


class DataWarning(UserWarning):
    """Input data that was repaired on the way in (self-loops dropped, duplicate rows merged)."""


@dataclass
class Table:
    """A raw table and where it came from.

    Attributes:
        frame: the rows as read, columns untouched.
        file: the name used in messages (``"friends.csv"``, or ``"friends table"`` for an in-memory frame).
        lines: physical line of each row in a text file (header = line 1), or ``None`` when rows have no lines
            (Parquet files, in-memory frames: messages then name the 1-based row).
        text: whether values came from text (CSV), so that ids reading as integers are integers.
    """

    frame: pd.DataFrame
    file: str
    lines: Optional[np.ndarray] = None
    text: bool = False

    def __post_init__(self) -> None:
        self.frame = self.frame.reset_index(drop=True)
        if self.lines is not None and len(self.lines) != len(self.frame):
            raise ValueError(f"{self.file}: {len(self.lines)} line numbers for {len(self.frame)} rows")

    def __len__(self) -> int:
        return len(self.frame)

    def take(self, rows: np.ndarray) -> "Table":
        """The rows ``rows`` (mask or positions), keeping their line numbers."""
        rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows, dtype=np.int64)
        return Table(self.frame.iloc[rows], self.file, None if self.lines is None else self.lines[rows], self.text)

    def line(self, row: int) -> Optional[int]:
        return None if self.lines is None else int(self.lines[row])

    def error(self, row: Optional[int], message: str, hint: Optional[str] = None) -> DataError:
        """A :class:`DataError` at ``row`` (0-based position in ``frame``), or about the whole table when ``None``."""
        if row is not None and self.lines is None:
            message = f"row {row + 1}: {message}"
        return DataError(message, file=self.file, line=None if row is None else self.line(row), hint=hint)

    def where(self, row: int) -> str:
        """``"friends.csv: line 7"`` (or ``"... row 6"``) for warnings."""
        line = self.line(row)
        return f"{self.file}: line {line}" if line is not None else f"{self.file}: row {row + 1}"


# ---------------------------------------------------------------------------------------------------- columns
def require_columns(table: Table, required: Sequence[str], example: str) -> None:
    """Fail unless ``table`` has every column of ``required``; ``example`` shows a correct header."""
    missing = [c for c in required if c not in table.frame.columns]
    if missing:
        raise DataError(
            f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}; "
            f"the header has {list(map(str, table.frame.columns))}",
            file=table.file, line=1 if table.text else None,
            hint=f"start the file with a header such as `{example}`")


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


# ---------------------------------------------------------------------------------------------------- ids
def parse_ids(table: Table, column: str) -> np.ndarray:
    """The ids of ``column`` as int64, or as an object array of ``str``; fails on missing or mixed ids."""
    s = table.frame[column]
    missing = s.isna().to_numpy()
    if missing.any():
        row = _first(missing)
        raise table.error(row, f"missing {column}", hint=f"every row needs a {column}; fill it in or remove the row")
    if len(s) == 0:
        return np.zeros(0, dtype=np.int64)
    if pd.api.types.is_bool_dtype(s):
        raise table.error(0, f"{column} holds booleans ({show(s.iloc[0])})", hint="ids must be integers or strings")
    whole = _whole_numbers(table, column, s, "an integer id", "ids must be integers or strings", _WIDE_ID_HINT)
    if whole is not None:
        return whole
    if table.text:
        txt = s.astype(str).str.strip()
        is_int = txt.str.fullmatch(_INT_TEXT).to_numpy(dtype=bool)
    else:
        is_int = s.map(lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)))
        is_str = s.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        is_int = is_int.to_numpy(dtype=bool)
        other = ~(is_int | is_str)
        if other.any():
            row = _first(other)
            raise table.error(row, f"{column} {show(s.iloc[row])} is a {type(s.iloc[row]).__name__}",
                              hint="ids must be integers or strings")
        txt = s
    if is_int.all():
        return _int64(table, column, txt, _WIDE_ID_HINT, text=table.text)
    if not is_int.any():
        return np.asarray(txt.to_numpy(dtype=object), dtype=object)
    # mixed: report the first value of the rarer kind, since that is most likely the stray one
    odd = is_int if is_int.sum() <= (~is_int).sum() else ~is_int
    row, other_row = _first(odd), _first(~odd)
    raise table.error(
        row, f"mixed id types in {column}: {show(s.iloc[row])} is {'an integer' if is_int[row] else 'a string'} but "
        f"{show(s.iloc[other_row])} ({table.where(other_row)}) is {'an integer' if is_int[other_row] else 'a string'}",
        hint="use one kind of id throughout (all integers, or all strings such as 'u17'); zero-padded "
             "numbers like '007' count as strings")


def id_kind(ids: np.ndarray) -> str:
    return "integer" if ids.dtype.kind in "iu" else "string"


def check_same_id_kind(columns: Sequence[tuple[Table, str, np.ndarray]], what: str) -> None:
    """Fail when the id columns of ``columns`` (all naming ``what``, e.g. users) do not share one kind."""
    columns = [c for c in columns if len(c[2])]
    if not columns:
        return
    ref_table, ref_col, ref = columns[0]
    for table, col, ids in columns[1:]:
        if id_kind(ids) != id_kind(ref):
            raise table.error(
                0, f"mixed id types across tables: {col} {show(ids[0])} is {'an' if id_kind(ids) == 'integer' else 'a'} "
                f"{id_kind(ids)} but {ref_table.file} {ref_col} holds {id_kind(ref)}s (e.g. {show(ref[0])})",
                hint=f"all {what} ids must be of one type in every file")


def check_unique_ids(table: Table, column: str, ids: np.ndarray) -> None:
    """Fail when an id appears twice in an entity table (users, items)."""
    dup = pd.Index(ids).duplicated()
    if dup.any():
        row = _first(dup)
        first = _first(pd.Index(ids) == ids[row])
        raise table.error(row, f"duplicate {column} {show(ids[row])} (first at {table.where(first)})",
                          hint=f"each {column} may appear once; merge the two rows")


def rows_of(index: pd.Index, table: Table, column: str, ids: np.ndarray, among: str) -> np.ndarray:
    """Rows of ``ids`` in ``index``; fails naming the first id that ``index`` lacks."""
    rows = index.get_indexer(ids)
    unknown = rows < 0
    if unknown.any():
        row = _first(unknown)
        raise table.error(row, f"unknown {column} {show(ids[row])}: not in {among} ({int(unknown.sum())} unknown in all)",
                          hint=f"add it to {among}, or remove the row")
    return rows.astype(np.int64)


# ---------------------------------------------------------------------------------------------------- values
def parse_float(table: Table, column: str, *, allow_nan: bool) -> np.ndarray:
    """``column`` as float64; fails on words and ``inf``, and on ``NaN`` unless ``allow_nan``."""
    s = table.frame[column]
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=np.float64)
    if pd.api.types.is_numeric_dtype(s):
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        words = np.isnan(v) & s.notna().to_numpy()
        if words.any():
            row = _first(words)
            raise table.error(row, f"{column} {show(s.iloc[row])} is not a number",
                              hint=f"{column} must hold numbers" + (" (leave a cell empty when unknown)"
                                                                   if allow_nan else ""))
    inf = np.isinf(v)
    if inf.any():
        row = _first(inf)
        raise table.error(row, f"{column} is {v[row]} (infinite)", hint="use a finite number, or leave it empty")
    if not allow_nan and np.isnan(v).any():
        row = _first(np.isnan(v))
        raise table.error(row, f"{column} is missing or NaN", hint=f"every row needs a {column}, or drop the column")
    return v


def parse_time(table: Table, column: str) -> np.ndarray:
    """``column`` as int64 unix seconds: integers are taken as such, strings and datetimes are parsed."""
    s = table.frame[column]
    present = s.notna().to_numpy()
    if not present.all():
        row = _first(~present)
        raise table.error(row, f"{column} is missing", hint=f"every row needs a {column}, or drop the column")
    if pd.api.types.is_bool_dtype(s):
        raise table.error(0, f"{column} holds booleans", hint="times are unix seconds or ISO-8601 dates")
    whole = _whole_numbers(table, column, s, "whole unix seconds", "times are integer unix seconds or ISO-8601 dates",
                           _WIDE_TIME_HINT)
    if whole is not None:
        return whole
    if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s):
        dt = pd.to_datetime(s, utc=True)
    else:
        txt = s.astype(str).str.strip()
        is_int = txt.str.fullmatch(_INT_TEXT).to_numpy(dtype=bool)
        out = _int64(table, column, txt.where(is_int, "0"), _WIDE_TIME_HINT, text=True).copy()  # may be read-only
        rest = txt[~is_int]
        dt = pd.to_datetime(rest, utc=True, format="ISO8601", errors="coerce")
        if dt.isna().any():  # slower element-wise parsing only for the rows ISO-8601 could not read
            bad = dt.isna()
            dt[bad] = pd.to_datetime(rest[bad], utc=True, format="mixed", errors="coerce")
        if dt.isna().any():
            row = int(np.flatnonzero(~is_int)[_first(dt.isna().to_numpy())])
            raise table.error(row, f"{column} {show(s.iloc[row])} is not a time",
                              hint="use unix seconds (1262304000) or ISO-8601 (2010-01-01 or 2010-01-01T12:00:00Z)")
        out[~is_int] = _unix_seconds(dt)
        return out
    return _unix_seconds(dt)


def _unix_seconds(dt: pd.Series) -> np.ndarray:
    return ((dt - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)


# ---------------------------------------------------------------------------------------------------- edges
def drop_self_loops(table: Table, src: np.ndarray, dst: np.ndarray, ids: np.ndarray, policy: str) -> np.ndarray:
    """Mask of rows that are not self-loops; warns (``policy="drop"``) or fails (``"error"``) when some are."""
    if policy not in _SELF_LOOP_POLICIES:
        raise ValueError(f"self_loops must be one of {_SELF_LOOP_POLICIES}, not {policy!r}")
    loop = src == dst
    if loop.any():
        row = _first(loop)
        what = f"self-loop {show(ids[src[row]])} -> {show(ids[src[row]])}"
        if policy == "error":
            raise table.error(row, f"{what} ({int(loop.sum())} self-loops in all)",
                              hint="remove them, or read with self_loops='drop' (or `self_loops: drop` in "
                                   "schema.yaml)")
        warnings.warn(f"{table.where(row)}: dropped {int(loop.sum())} self-loops (first: {what})", DataWarning,
                      stacklevel=3)
    return ~loop


def dedupe_edges(table: Table, src: np.ndarray, dst: np.ndarray, ids: np.ndarray, num_nodes: int,
                 directed: bool) -> np.ndarray:
    """Rows to keep (increasing) so that each edge appears once, ``src``/``dst`` being node rows.

    Directed: one row per ordered pair. Undirected: one row per unordered pair, ``(b, a)`` after ``(a, b)`` being the
    usual way to list a friendship (merged silently). A row repeating an earlier row exactly is merged with a
    :class:`DataWarning`. The first occurrence wins, with its weight and time.
    """
    n = np.int64(max(num_nodes, 1))
    exact = src.astype(np.int64) * n + dst
    _, first_exact = np.unique(exact, return_index=True)
    repeated = np.ones(len(src), dtype=bool)
    repeated[first_exact] = False
    if repeated.any():
        row = _first(repeated)
        orig = _first(exact == exact[row])
        warnings.warn(f"{table.where(row)}: merged {int(repeated.sum())} duplicate edge rows (first: "
                      f"{show(ids[src[row]])} -> {show(ids[dst[row]])} repeats {table.where(orig)})", DataWarning,
                      stacklevel=3)
    key = exact if directed else unordered_keys(np.stack([src, dst], 1), n)
    _, keep = np.unique(key, return_index=True)
    return np.sort(keep)


# ---------------------------------------------------------------------------------------------------- attributes
def coerce_attributes(table: Table, id_column: str, roles: Mapping[str, Role], base_dir: Optional[Path]) -> pd.DataFrame:
    """The attribute columns of ``table`` (all but ``id_column``) converted to what their roles promise.

    numeric -> float64 (``NaN`` missing, ``inf`` refused); multihot -> a list of tokens per row (``None`` missing;
    strings are split on ``|``); text -> str; image -> an absolute path that must exist (relative paths are taken
    from ``base_dir``); categorical and ignored columns are kept as read.
    """
    out = table.frame.drop(columns=[id_column]).copy()
    for col, role in roles.items():
        s = out[col]
        if role is Role.NUMERIC:
            out[col] = parse_float(table, col, allow_nan=True)
        elif role is Role.MULTIHOT:
            out[col] = _multihot(s)
        elif role is Role.TEXT:
            out[col] = s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v))
        elif role is Role.IMAGE:
            out[col] = _image_paths(table, col, base_dir)
    for col in out.columns:
        # one in-memory form for strings, whichever reader produced them: object dtype, None when missing
        if pd.api.types.is_string_dtype(out[col]) and out[col].dtype != object:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def _multihot(s: pd.Series) -> pd.Series:
    def tokens(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, str):
            return [t.strip() for t in v.split(MULTIHOT_SEP) if t.strip()]
        return [str(t) if not isinstance(t, (int, np.integer)) else int(t) for t in list(v)]

    return pd.Series([tokens(v) for v in s.astype(object)], index=s.index, dtype=object)


def _image_paths(table: Table, column: str, base_dir: Optional[Path]) -> pd.Series:
    s = table.frame[column]
    present = s.notna().to_numpy()
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    resolved = s.astype(object).copy()
    unique = pd.unique(s[present].astype(str))
    absolute = {p: str((base / p).resolve()) if not os.path.isabs(p) else p for p in unique}
    missing = {p for p, a in absolute.items() if not os.path.isfile(a)}
    if missing:
        bad = s.astype(str).isin(missing).to_numpy() & present
        row = _first(bad)
        raise table.error(row, f"image {show(s.iloc[row])} in {column} does not exist (looked for "
                               f"{absolute[str(s.iloc[row])]}; {int(bad.sum())} rows name missing images)",
                          hint="image paths are relative to the data folder (or absolute); fix the path or leave "
                               "the cell empty")
    resolved[present] = s[present].astype(str).map(absolute)
    resolved[~present] = None
    return resolved


def check_roles(table: Table, roles: Mapping[str, str], id_column: str, schema_file: str,
                lines: Optional[Mapping[str, int]] = None) -> dict[str, Role]:
    """Declared roles as :class:`Role`, failing on unknown roles and on columns that ``table`` lacks."""
    out: dict[str, Role] = {}
    valid = [r.value for r in Role]
    for col, role in roles.items():
        line = None if lines is None else lines.get(col)
        if col not in table.frame.columns or col == id_column:
            raise DataError(f"column {col!r} is declared but {table.file} has no such attribute column "
                            f"(columns: {[c for c in table.frame.columns if c != id_column]})", file=schema_file,
                            line=line, hint="fix the column name or remove it from the schema")
        try:
            out[col] = Role(role.value if isinstance(role, Role) else str(role).strip().lower())
        except ValueError:
            raise DataError(f"unknown role {role!r} for column {col!r}", file=schema_file, line=line,
                            hint=f"roles are {', '.join(valid)}") from None
    return out


__all__ = [
    "DataWarning", "Table", "show", "check_roles", "check_same_id_kind", "check_unique_ids", "coerce_attributes",
    "dedupe_edges", "drop_self_loops", "id_kind", "parse_float", "parse_ids", "parse_time", "require_columns",
    "rows_of",
]


def _whole_numbers(table: "Table", column: str, s: pd.Series, what: str, hint: str,
                   wide_hint: str) -> Optional[np.ndarray]:
    """An integer column, or a float column of whole finite numbers, as int64; ``None`` for other dtypes."""
    if pd.api.types.is_integer_dtype(s):
        if s.dtype.kind == "u" and len(s) and s.max() > _INT64_MAX:  # uint64 would wrap round silently
            row = _first(s.to_numpy() > _INT64_MAX)
            raise table.error(row, f"{column} {show(s.iloc[row])} {_WIDE}", hint=wide_hint)
        return s.to_numpy(dtype=np.int64)
    if not pd.api.types.is_float_dtype(s):
        return None
    v = s.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(v) | (v != np.round(v))
    if bad.any():
        row = _first(bad)
        raise table.error(row, f"{column} {show(v[row])} is not {what}", hint=hint)
    wide = np.abs(v) >= 2.0 ** 63
    if wide.any():
        row = _first(wide)
        raise table.error(row, f"{column} {show(v[row])} {_WIDE}", hint=wide_hint)
    return v.astype(np.int64)


def _int64(table: "Table", column: str, values: pd.Series, wide_hint: str, *, text: bool) -> np.ndarray:
    """Integers (``text=False``), or their text (``-?[0-9]+``), as int64; fails naming the first one beyond 64 bits,
    where numpy raises an ``OverflowError`` naming neither the file nor the value."""
    try:
        return values.astype(np.int64).to_numpy() if text else values.to_numpy().astype(np.int64)
    except OverflowError:
        pass
    for row, value in enumerate(values.to_numpy(dtype=object)):  # only on failure: find the culprit
        if not _INT64_MIN <= int(value) <= _INT64_MAX:
            raise table.error(row, f"{column} {value if text else show(value)} {_WIDE}", hint=wide_hint)
    raise AssertionError("unreachable: an OverflowError without a value beyond 64 bits")
