"""Content-keyed cache of encoder outputs under :func:`socialgraph.paths.cache_root`.

The key is ``sha1(encoder type + config + fitted state arrays + input values)``: any change to the inputs, the
configuration or the fitted state gives a new key, so a warm cache returns exactly what a cold run computes.
Entries are ``.npz`` files (no pickle) written atomically (temp file + rename), so a crash never leaves a
half-written entry that a later run would trust.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import scipy.sparse as sp

from socialgraph.encoders.base import Encoded, Encoder, as_list
from socialgraph.paths import cache_root


def hash_values(values: Sequence, h: Optional["hashlib._Hash"] = None) -> str:
    """A sha1 of a sequence of scalars / strings / token lists / None, stable across runs."""
    h = h or hashlib.sha1()
    if sp.issparse(values):
        m = sp.csr_matrix(values)
        m.sum_duplicates()
        h.update(f"csr{m.shape}".encode())
        for a in (m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data.astype(np.float64)):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()
    for v in as_list(values):
        h.update(_canonical(v).encode("utf-8", "surrogatepass"))
        h.update(b"\x1e")
    return h.hexdigest()


def hash_state(encoder: Encoder) -> str:
    config, arrays = encoder.get_state()
    h = hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _canonical(v: Any) -> str:
    if v is None:
        return "\x00None"
    if isinstance(v, (list, tuple, set, frozenset, np.ndarray)):
        items = sorted(map(_canonical, v)) if isinstance(v, (set, frozenset)) else [_canonical(x) for x in v]
        return "[" + "\x1f".join(items) + "]"
    if isinstance(v, (float, np.floating)):
        return "\x00NaN" if v != v else repr(float(v))
    if isinstance(v, (bool, np.bool_)):
        return "\x00" + str(bool(v))
    if isinstance(v, (int, np.integer)):
        return repr(int(v))
    return type(v).__name__ + ":" + str(v)


class EncodingCache:
    """Stores :class:`Encoded` results in ``<root>/encoders/<type_name>/<key>.npz``."""

    def __init__(self, root: Optional[Path] = None) -> None:
        self.root = Path(root) if root is not None else cache_root() / "encoders"

    def key(self, encoder: Encoder, values: Sequence) -> str:
        return hashlib.sha1((hash_state(encoder) + hash_values(values)).encode()).hexdigest()

    def path(self, encoder: Encoder, values: Sequence) -> Path:
        return self.root / encoder.type_name / f"{self.key(encoder, values)}.npz"

    def get_or_compute(self, encoder: Encoder, values: Sequence,
                       compute: Callable[[Sequence], Encoded]) -> Encoded:
        path = self.path(encoder, values)
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as z:
                    return Encoded(z["x"], z["mask"])
            except (OSError, ValueError, KeyError):
                pass  # a damaged entry is recomputed and overwritten
        out = compute(values)
        save_npz_atomic(path, x=out.x, mask=out.mask)
        return out


def save_npz_atomic(path: Path, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
