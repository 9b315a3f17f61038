"""Attribute tables and the modality role of each column.

A column's :class:`Role` says which encoder reads it: free ``text``, an ``image`` path, a ``categorical`` value, a
``multihot`` set of tokens (a list in memory, ``|``-separated in CSV files), a ``numeric`` value, or ``ignore``.
Roles are declared in a folder's ``schema.yaml`` or inferred by :func:`infer_roles`.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MULTIHOT_SEP = "|"


class Role(str, enum.Enum):
    TEXT = "text"
    IMAGE = "image"
    CATEGORICAL = "categorical"
    MULTIHOT = "multihot"
    NUMERIC = "numeric"
    IGNORE = "ignore"


@dataclass
class AttributeTable:
    """Attributes aligned to rows ``0..n-1`` of users or items; ``roles`` maps each used column to its modality.

    Missing values are ``NaN`` / ``None`` (encoders turn them into presence masks, never into zeros).
    """

    frame: pd.DataFrame
    roles: dict[str, Role] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.roles = {c: Role(r) for c, r in self.roles.items() if Role(r) is not Role.IGNORE}
        unknown = [c for c in self.roles if c not in self.frame.columns]
        if unknown:
            raise ValueError(f"roles name columns that the table lacks: {unknown}; columns: {list(self.frame.columns)}")
        self.frame = self.frame.reset_index(drop=True)

    def __len__(self) -> int:
        return len(self.frame)

    def columns(self, role: Role) -> list[str]:
        return [c for c, r in self.roles.items() if r is role]

    def take(self, rows: np.ndarray) -> "AttributeTable":
        return AttributeTable(self.frame.iloc[np.asarray(rows)].reset_index(drop=True), dict(self.roles))


def infer_roles(frame: pd.DataFrame, id_column: str) -> dict[str, Role]:
    """Guess each column's role from its values.

    In order: all missing -> ignore; lists -> multihot; bool (or ``True``/``False`` words) -> categorical;
    identifier-like columns (name ending in ``id``, every value distinct, integers or short tokens) -> ignore;
    numbers -> numeric (categorical for integer columns with at most two values); strings that are image paths ->
    image; strings mostly holding ``|`` -> multihot; short strings of at most two words with few distinct values ->
    categorical; other strings -> text.
    """
    roles: dict[str, Role] = {}
    for col in frame.columns:
        if col == id_column:
            continue
        s = frame[col].dropna()
        if s.empty:
            roles[col] = Role.IGNORE
            continue
        if s.dtype == object and s.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).all():
            roles[col] = Role.MULTIHOT
            continue
        textual = pd.api.types.is_string_dtype(s) or s.dtype == object
        if pd.api.types.is_bool_dtype(s) or (textual and set(map(str, s.unique())) <= _BOOL_WORDS):
            roles[col] = Role.CATEGORICAL
        elif _looks_like_id(str(col), s):
            roles[col] = Role.IGNORE
        elif pd.api.types.is_numeric_dtype(s):
            roles[col] = Role.CATEGORICAL if (pd.api.types.is_integer_dtype(s) and s.nunique() <= 2) else Role.NUMERIC
        else:
            txt = s.astype(str)
            words = txt.str.split().str.len().mean()
            if txt.str.lower().str.endswith(_IMAGE_SUFFIXES).mean() > 0.9:
                roles[col] = Role.IMAGE
            elif txt.str.contains(MULTIHOT_SEP, regex=False).mean() > 0.5:
                roles[col] = Role.MULTIHOT
            elif s.nunique() <= max(50, 0.01 * len(s)) and txt.str.len().mean() < 40 and words <= 2:
                roles[col] = Role.CATEGORICAL
            else:
                roles[col] = Role.TEXT
    return roles


def _looks_like_id(name: str, s: pd.Series) -> bool:
    """A second key of the row (``facebook_id``, ``new_id``): named like an id and distinct on every row."""
    if not name.lower().endswith("id") or len(s) < 2 or s.nunique() != len(s):
        return False
    if pd.api.types.is_integer_dtype(s):
        return True
    return (pd.api.types.is_string_dtype(s) or s.dtype == object) and not s.astype(str).str.contains(r"\s").any()


_BOOL_WORDS = {"True", "False", "true", "false"}
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp")
