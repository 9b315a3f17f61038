"""The folder format users bring their own data in: read it (with validation) and write it (atomically).

A data folder holds (see ``docs/data-format.md``)::

    friends.csv | friends.parquet          required   src,dst[,weight][,time]
    users.csv | users.parquet              optional   user_id + attribute columns
    items.csv | items.parquet              optional   item_id + attribute columns
    engagements.csv | engagements.parquet  optional   user_id,item_id[,value][,time]
    blocked.csv | blocked.parquet          optional   src,dst
    schema.yaml                            optional   directed, self_loops, name, per-table column roles

:func:`read_folder` reads the files into :class:`~socialgraph.data.validation.Table` s (keeping the line of every
CSV row, the header being line 1) and hands them to :func:`socialgraph.data.convert.from_pandas`, where all checks
on content live. This module only checks what is about files: which exist, whether they can be read, whether a
CSV is cut short, and the schema file. Reading never writes anything.

:func:`write_folder` writes every table into a temporary sibling folder and renames it into place once complete,
so a failure leaves no half-written folder behind.
"""
from __future__ import annotations

import csv
import difflib
import os
import re
import shutil
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional, Union

import numpy as np
import pandas as pd
import yaml

from socialgraph.config import yaml_key_lines
from socialgraph.data.convert import TABLES, from_pandas, graph_roles, to_pandas
from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph
from socialgraph.data.schema import MULTIHOT_SEP, Role
from socialgraph.data.validation import DataWarning, Table, check_roles

SCHEMA_FILE = "schema.yaml"
FORMATS = (".csv", ".parquet")
_ID_COLUMNS = {"friends": ("src", "dst"), "users": ("user_id",), "items": ("item_id",),
               "engagements": ("user_id", "item_id"), "blocked": ("src", "dst")}
_EXPECTED = ("friends.csv|parquet (required: src,dst[,weight,time]); optional users, items, engagements, blocked "
             "(.csv or .parquet) and schema.yaml; see docs/data-format.md")


# ------------------------------------------------------------------------------------------------ schema.yaml
@dataclass
class FolderSchema:
    """The contents of ``schema.yaml``.

    Attributes:
        directed: whether friend edges are directed (default ``False``).
        self_loops: ``"drop"`` (default, with a warning) or ``"error"``.
        name: the graph's name (default: the folder's name).
        roles: declared column roles, ``{"users": {column: role}, "items": {...}}``.
        lines: the schema.yaml line declaring each column, same keys as ``roles``, for messages.
    """

    directed: bool = False
    self_loops: str = "drop"
    name: Optional[str] = None
    roles: dict[str, dict[str, Role]] = field(default_factory=dict)
    lines: dict[str, dict[str, int]] = field(default_factory=dict)


def read_schema(path: Union[str, os.PathLike]) -> FolderSchema:
    """Parse and check a ``schema.yaml``; fails with a :class:`DataError` naming the line of what is wrong."""
    path = Path(path)
    file = path.name
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise DataError(f"malformed YAML: {getattr(e, 'problem', None) or e}", file=file,
                        line=None if mark is None else mark.line + 1,
                        hint="fix the syntax; see docs/data-format.md for an example") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read: {e}", file=file, hint="check the file's permissions and encoding") from None
    if data is None:
        return FolderSchema()
    if not isinstance(data, dict):
        raise DataError(f"expected a mapping of settings, got {type(data).__name__}", file=file, line=1,
                        hint="write `directed: false` and `users: {columns: {bio: text}}` style keys")
    lines = yaml_key_lines(node)
    allowed = ("directed", "self_loops", "name", "users", "items")
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            raise DataError(f"unknown key {key!r}", file=file, line=lines.get((key,)),
                            hint=(f"did you mean {close[0]!r}? " if close else "") + f"keys are {', '.join(allowed)}")
    out = FolderSchema()
    if "directed" in data:
        if not isinstance(data["directed"], bool):
            raise DataError(f"directed must be true or false, not {data['directed']!r}", file=file,
                            line=lines.get(("directed",)))
        out.directed = data["directed"]
    if "self_loops" in data:
        if data["self_loops"] not in ("drop", "error"):
            raise DataError(f"self_loops must be drop or error, not {data['self_loops']!r}", file=file,
                            line=lines.get(("self_loops",)))
        out.self_loops = data["self_loops"]
    if "name" in data:
        out.name = str(data["name"])
    valid = [r.value for r in Role]
    for table in ("users", "items"):
        if table not in data:
            continue
        spec = data[table]
        if not isinstance(spec, dict) or set(spec) - {"columns"} or not isinstance(spec.get("columns", {}), dict):
            raise DataError(f"{table} must be a mapping `columns: {{column: role}}`, got {spec!r}", file=file,
                            line=lines.get((table,)), hint=f"e.g. `{table}: {{columns: {{bio: text}}}}`")
        out.roles[table], out.lines[table] = {}, {}
        for col, role in (spec.get("columns") or {}).items():
            line = lines.get((table, "columns", col))
            if str(role).strip().lower() not in valid:
                raise DataError(f"unknown role {role!r} for {table} column {col!r}", file=file, line=line,
                                hint=f"roles are {', '.join(valid)}")
            out.roles[table][str(col)] = Role(str(role).strip().lower())
            out.lines[table][str(col)] = line
    return out


# ------------------------------------------------------------------------------------------------ files
def _find_files(folder: Path) -> dict[str, Path]:
    """The table files of ``folder`` by table name; warns about names that look like typos of known files."""
    known = {f"{t}{ext}" for t in TABLES for ext in FORMATS} | {SCHEMA_FILE}
    stems = list(TABLES) + ["schema"]
    found: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if name in known:
            stem = name.split(".")[0]
            if stem in found:
                raise DataError(f"both {found[stem].name} and {name} exist", file=str(folder),
                                hint="keep one of them")
            found[stem] = entry
            continue
        if name.startswith("."):
            continue
        stem = name.split(".")[0].lower()
        if stem in stems:
            right = SCHEMA_FILE if stem == "schema" else f"{stem}.csv or {stem}.parquet"
            warnings.warn(f"{name} in {folder} is not read: did you mean {right}? (names are lowercase, tables are "
                          f".csv or .parquet)", DataWarning, stacklevel=3)
            continue
        close = difflib.get_close_matches(stem, stems, n=1, cutoff=0.75)
        if close:
            right = SCHEMA_FILE if close[0] == "schema" else f"{close[0]}.csv"
            warnings.warn(f"{name} in {folder} is not read: did you mean {right}?", DataWarning, stacklevel=3)
    return found


def _read_table(path: Path, kind: str) -> Table:
    if path.is_dir():
        raise DataError("cannot read: it is a directory, not a file", file=path.name,
                        hint=f"a data folder holds {kind} as a .csv or .parquet file")
    try:
        if path.suffix == ".parquet":
            return _read_parquet(path)
        return _read_csv(path, _ID_COLUMNS[kind])
    except PermissionError as e:
        raise DataError(f"cannot read: permission denied ({e.strerror})", file=path.name,
                        hint="make the file readable (chmod +r)") from None


def _read_parquet(path: Path) -> Table:
    import pyarrow as pa

    try:
        frame = pd.read_parquet(path)
    except (pa.ArrowException, OSError) as e:
        raise DataError(f"cannot read: not a valid Parquet file, or truncated ({e})", file=path.name,
                        hint="write it again (a copy cut short loses the footer Parquet needs)") from None
    return Table(frame, path.name, lines=None, text=False)


def _read_csv(path: Path, id_columns: tuple[str, ...]) -> Table:
    with open(path, "rb") as f:
        head = f.read(8192)
    if b"\x00" in head:
        raise DataError("cannot read: binary data, not a CSV text file", file=path.name,
                        hint="save the table as UTF-8 CSV (or as .parquet)")
    try:
        # ids stay text so that the id checks see them as written; blank lines are kept to count lines right.
        # index_col=False: with one field more in the first row than in the header, pandas would otherwise take
        # the first column as an index and shift every column by one, silently; now it warns, and we fail.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(path, dtype={c: str for c in id_columns}, skip_blank_lines=False,
                                skipinitialspace=True, encoding="utf-8", index_col=False)
        for w in caught:
            if issubclass(w.category, pd.errors.ParserWarning) and "does not match length of data" in str(w.message):
                raise _too_many_fields(path, None)
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    except UnicodeDecodeError as e:
        raise DataError(f"cannot read: not UTF-8 text ({e.reason} at byte {e.start})", file=path.name,
                        hint="save the file as UTF-8 CSV") from None
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty", file=path.name, line=1,
                        hint="a CSV starts with a header line naming its columns") from None
    except pd.errors.ParserError as e:
        if re.search(r"Expected \d+ fields", str(e)):
            raise _too_many_fields(path, str(e)) from None
        m = re.search(r"line (\d+)", str(e))
        raise DataError(f"cannot parse: {str(e).split('C error: ')[-1].strip()}", file=path.name,
                        line=int(m.group(1)) if m else None,
                        hint="every row needs as many fields as the header; quote fields holding commas") from None
    frame.columns = [c.strip() if isinstance(c, str) else c for c in frame.columns]
    # a quoted field spanning lines shifts the lines of every later row
    extra = np.zeros(len(frame), dtype=np.int64)
    for col in frame.columns:
        s = frame[col]
        if s.dtype != object and pd.api.types.is_string_dtype(s):  # pandas reads text columns as str
            extra += s.str.count("\n").fillna(0).to_numpy(dtype=np.int64)
    lines = 2 + np.arange(len(frame), dtype=np.int64) + np.concatenate([[0], np.cumsum(extra)[:-1]]).astype(np.int64)
    blank = frame.isna().all(axis=1).to_numpy() if len(frame.columns) else np.zeros(len(frame), dtype=bool)
    table = Table(frame[~blank], path.name, lines=lines[~blank], text=True)
    _check_last_row(path, table)
    return table


def read_csv_table(path: Union[str, os.PathLike], id_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """One CSV table read with the folder format's checks (one-line :class:`DataError` naming the file and line for
    binary or non-UTF-8 content, a row with more fields than the header, a row cut short); ``id_columns`` stay
    text. Blank lines are dropped; the index is each row's physical line (header = line 1), for messages. For the
    side files commands take (``--pairs``, ``--users``, ``--hidden``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file" if not path.exists() else "cannot read: it is a directory, not a file",
                        file=str(path), hint="give the path of a CSV file")
    table = _read_csv(path, id_columns)
    return table.frame.set_axis(pd.Index(table.lines, name="line"), axis=0)


def _too_many_fields(path: Path, pandas_message: Optional[str]) -> DataError:
    """The error for the first row with more fields than the header, at its physical line.

    pandas counts records, not lines (a quoted line break shifts its count), and says it over two lines: the file is
    read again with :mod:`csv` to find the row, which costs nothing unless the file is bad.
    """
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f, skipinitialspace=True)
        header = next(reader, [])
        start = reader.line_num + 1
        for record in reader:
            if len(record) > len(header):
                # "Expected N fields" as pandas words it, so that a search for pandas' message finds this one too
                return DataError(f"Expected {len(header)} fields (as many as the header), found {len(record)}",
                                 file=path.name, line=start, hint="remove the extra separator, or quote a field that "
                                                                  'holds a comma ("Paris, France")')
            start = reader.line_num + 1
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", pandas_message or "")
    return DataError(f"Expected {m.group(1)} fields (as many as the header), found {m.group(3)}" if m else
                     "a row has more fields than the header", file=path.name, line=int(m.group(2)) if m else None,
                     hint="remove the extra separator, or quote a field that holds a comma")


def _check_last_row(path: Path, table: Table) -> None:
    """A CSV cut short mid-row parses without error, its last row padded with missing values: catch that."""
    if len(table) == 0:
        return
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - 65536))
        tail = f.read()
    last = tail.rstrip(b"\r\n").rsplit(b"\n", 1)[-1]
    if b'"' in last:  # possibly the end of a multi-line quoted field: pandas has parsed it correctly
        return
    fields = next(csv.reader([last.decode("utf-8", "replace")]), [])
    ncols = len(table.frame.columns)
    if len(fields) < ncols:
        raise DataError(f"the last row has {len(fields)} field{'s' if len(fields) != 1 else ''} but the header "
                        f"has {ncols} ({last.decode('utf-8', 'replace')!r}): the file looks truncated",
                        file=path.name, line=table.line(len(table) - 1),
                        hint="copy or export the file again, or complete the row")


def read_folder(path: Union[str, os.PathLike], *, self_loops: Optional[str] = None,
                name: Optional[str] = None) -> SocialGraph:
    """Read and validate a data folder.

    Args:
        path: the folder.
        self_loops: ``"drop"`` or ``"error"``; default: ``schema.yaml``'s ``self_loops``, else ``"drop"``.
        name: the graph's name; default: ``schema.yaml``'s ``name``, else the folder's name.

    Raises:
        DataError: naming the file, line and id of the first problem, and what to do.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataError("not a folder" if folder.exists() else "no such folder", file=str(folder),
                        hint=f"a data folder holds {_EXPECTED}")
    files = _find_files(folder)
    if "friends" not in files:
        raise DataError("no friends.csv or friends.parquet", file=str(folder), hint=f"a data folder holds {_EXPECTED}")
    schema = read_schema(files["schema"]) if "schema" in files else FolderSchema()
    tables = {kind: _read_table(p, kind) for kind, p in files.items() if kind != "schema"}
    for kind, declared in schema.roles.items():
        if kind not in tables:
            first = next(iter(schema.lines[kind].values()), None)
            raise DataError(f"columns of {kind} are declared but the folder has no {kind}.csv or {kind}.parquet",
                            file=SCHEMA_FILE, line=first, hint=f"add the {kind} file or remove `{kind}:`")
        id_column = TABLES[kind][0][0]
        if id_column in tables[kind].frame.columns:
            check_roles(tables[kind], declared, id_column, SCHEMA_FILE, schema.lines[kind])
    return from_pandas(
        tables["friends"], tables.get("users"), tables.get("items"), tables.get("engagements"),
        tables.get("blocked"), directed=schema.directed, roles=schema.roles,
        self_loops=self_loops if self_loops is not None else schema.self_loops,
        name=name or schema.name or folder.resolve().name, base_dir=folder.resolve())


# ------------------------------------------------------------------------------------------------ writing
def _csv_ready(frame: pd.DataFrame, multihot: list[str], file: str) -> pd.DataFrame:
    """Multi-hot lists joined by ``|`` (a token holding ``|`` cannot be written to CSV)."""
    out = frame.copy()
    for col in multihot:
        s = out[col].astype(object)
        present = s.map(lambda v: v is not None and not (isinstance(v, float) and np.isnan(v)))
        tokens = s[present].map(lambda v: [str(t) for t in v])
        bad = tokens.map(lambda ts: any(MULTIHOT_SEP in t for t in ts))
        if bad.any():
            raise ValueError(f"{file}: column {col!r} has a token containing {MULTIHOT_SEP!r} "
                             f"({s[bad.index[bad]].iloc[0]!r}); write with format='parquet' instead")
        out[col] = None
        out[col] = out[col].astype(object)
        out.loc[present, col] = tokens.map(MULTIHOT_SEP.join)
    return out


def write_folder(graph: SocialGraph, path: Union[str, os.PathLike], *, format: Literal["csv", "parquet"] = "csv",
                 overwrite: bool = False) -> Path:
    """Write ``graph`` as a data folder that :func:`read_folder` reads back equal.

    Every user is written to ``users.*`` (so row order and users without edges survive) and every column's role
    to ``schema.yaml``. Image paths are written as held in memory (absolute after :func:`read_folder`); images are
    not copied. String ids that read as integers (``"17"``) come back as integers from CSV: use Parquet for them.

    The folder is built next to ``path`` under a temporary name and renamed into place once complete. An existing
    non-empty ``path`` is replaced only with ``overwrite=True``.
    """
    if format not in ("csv", "parquet"):
        raise ValueError(f"format must be 'csv' or 'parquet', not {format!r}")
    target = Path(path)
    if target.exists() and not (target.is_dir() and not any(target.iterdir())) and not overwrite:
        raise FileExistsError(f"{target} exists and is not empty; pass overwrite=True to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        roles = graph_roles(graph)
        for kind, frame in to_pandas(graph).items():
            file = tmp / f"{kind}.{format}"
            if format == "parquet":
                frame.to_parquet(file, index=False)
            else:
                multihot = [c for c, r in roles.get(kind, {}).items() if r is Role.MULTIHOT]
                _csv_ready(frame, multihot, file.name).to_csv(file, index=False)
        schema: dict = {"name": graph.name, "directed": bool(graph.directed)}
        for kind, cols in roles.items():
            schema[kind] = {"columns": {c: r.value for c, r in cols.items()}}
        (tmp / SCHEMA_FILE).write_text(yaml.safe_dump(schema, sort_keys=False, allow_unicode=True), encoding="utf-8")
        if target.exists() and any(target.iterdir()):
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)  # onto a missing or empty folder: atomic on POSIX
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


__all__ = ["FolderSchema", "read_csv_table", "read_folder", "read_schema", "write_folder"]
