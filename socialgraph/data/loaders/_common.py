"""Helpers shared by the loaders: id maps, edge canonicalisation, multi-hot columns, tolerant table reading."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

import numpy as np
import pandas as pd

from socialgraph.data.errors import DataError
from socialgraph.data.graph import canonical_pairs


def index_ids(*arrays: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Sorted distinct ids over all ``arrays`` and, for each array, the row of every id (``searchsorted``)."""
    arrays = [np.asarray(a) for a in arrays]
    uniq = np.unique(np.concatenate(arrays)) if arrays else np.empty(0, dtype=np.int64)
    return uniq, [np.searchsorted(uniq, a).astype(np.int64) for a in arrays]


def rows_of(uniq: np.ndarray, ids: np.ndarray, *, file: Path, what: str) -> np.ndarray:
    """Rows of ``ids`` in the sorted id array ``uniq``; :class:`DataError` naming the first unknown id."""
    ids = np.asarray(ids)
    if len(uniq) == 0:
        pos, bad = np.zeros(len(ids), dtype=np.int64), np.arange(len(ids))
    else:
        pos = np.searchsorted(uniq, ids).clip(0, len(uniq) - 1)
        bad = np.flatnonzero(uniq[pos] != ids)
    if len(bad):
        raise DataError(f"{what} id {ids[bad[0]]!r} is not among the {len(uniq)} known ids ({len(bad)} such rows)",
                        file=str(file), hint="the files belong to different versions of the dataset")
    return pos.astype(np.int64)


def undirected(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Each unordered pair once as ``(min, max)``, self-loops dropped, int64 ``[P, 2]``."""
    return canonical_pairs(np.stack([np.asarray(src, np.int64), np.asarray(dst, np.int64)], axis=1))


def read_table(path: Path, **kwargs) -> pd.DataFrame:
    """``pandas.read_csv`` whose parse errors become a :class:`DataError` naming the file."""
    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise DataError(f"cannot parse: {err}", file=str(path),
                        hint="check that the file is the original, uncompressed one") from err


def require_columns(frame: pd.DataFrame, columns: Iterable[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"missing columns {missing}; found {list(frame.columns)}", file=str(path), line=1,
                        hint="the header must name these columns, as in the dataset's original files")


def multihot(num_rows: int, rows: np.ndarray, tokens: np.ndarray) -> list[Optional[list]]:
    """Per-row sorted lists of distinct ``tokens`` from parallel ``(rows, tokens)``; ``None`` for rows without any.

    Vectorised: one lexicographic sort and one split instead of a loop over pairs.
    """
    rows = np.asarray(rows, dtype=np.int64)
    tokens = np.asarray(tokens)
    out: list[Optional[list]] = [None] * num_rows
    if len(rows) == 0:
        return out
    order = np.lexsort((tokens, rows))
    rows, tokens = rows[order], tokens[order]
    keep = np.r_[True, (rows[1:] != rows[:-1]) | (tokens[1:] != tokens[:-1])]
    rows, tokens = rows[keep], tokens[keep]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    for r, chunk in zip(rows[starts].tolist(), np.split(tokens, starts[1:])):
        out[r] = chunk.tolist()
    return out


def read_mat_variable(path: Path, key: str):
    """Variable ``key`` of a MATLAB file, or a DataError naming the file and the variables it does hold."""
    import scipy.io

    try:
        mat = scipy.io.loadmat(path)
    except (ValueError, OSError, NotImplementedError) as err:
        raise DataError(f"cannot read the MATLAB file: {err}", file=str(path)) from err
    if key not in mat:
        raise DataError(f"no variable {key!r}; found {[k for k in mat if not k.startswith('__')]}", file=str(path))
    return mat[key]
