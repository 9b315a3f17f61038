"""OGB link-property datasets (ogbl-ddi, ogbl-collab, ogbl-ppa, ogbl-citation2) through ``ogb``'s own reader.

``PygLinkPropPredDataset`` writes ``processed/`` next to its input, so the card's files are copied into
``cache_root()/ogb/<ogbl_name>/`` and read there. torch >= 2.6 loads with ``weights_only=True`` by default, which
ogb 1.3.6's ``torch.load`` calls cannot satisfy (its split files pickle numpy objects; its processed file pickles
PyG objects). :func:`trusted_torch_load` re-enables full unpickling *only* for files inside that copy, and only
after they were checked: the copied inputs by the registry's sha256 verification, the processed file against the
digest recorded when ogb wrote it (a mismatch discards it so that ogb rebuilds it from the verified raw files).

Mapping: users are the OGB nodes; friends are the graph ogb serves (the official *training* edges) as undirected
pairs; validation and test edges are not in the graph, they come from :func:`edge_split`.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np

from socialgraph.data.errors import DataError
from socialgraph.data.graph import SocialGraph
from socialgraph.data.loaders._common import undirected
from socialgraph.paths import cache_root, data_root


@contextlib.contextmanager
def trusted_torch_load(folder: Path) -> Iterator[None]:
    """Within the block, ``torch.load`` of a file under ``folder`` unpickles fully (``weights_only=False``).

    Every other ``torch.load`` keeps its defaults. The original function is restored on exit.
    """
    import torch

    folder = Path(folder).resolve()
    original = torch.load

    def load(f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)) and Path(f).resolve().is_relative_to(folder):
            kwargs.setdefault("weights_only", False)
        return original(f, *args, **kwargs)

    torch.load = load
    try:
        yield
    finally:
        torch.load = original


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _working_copy(card, paths: Mapping[str, Path]) -> Path:
    """Copy the verified files into the cache, keeping their layout below the card's folder."""
    dest = cache_root() / card.folder
    for key, src in paths.items():
        rel = Path(card.file(key).path).relative_to(card.folder)
        target = dest / rel
        if not target.exists() or target.stat().st_size != src.stat().st_size:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
    # A processed file is trusted only if it is the one ogb wrote here (digest recorded next to it).
    processed, stamp = dest / "processed", dest / "processed.sha256"
    if processed.exists():
        recorded = dict(line.split(maxsplit=1)[::-1] for line in stamp.read_text().splitlines()) \
            if stamp.exists() else {}
        files = sorted(p for p in processed.glob("*.pt"))
        if not files or any(recorded.get(p.name) != _digest(p) for p in files):
            shutil.rmtree(processed)
            stamp.unlink(missing_ok=True)
    return dest


def _dataset(card, paths: Mapping[str, Path]):
    from ogb.linkproppred import PygLinkPropPredDataset

    copy = _working_copy(card, paths)
    name = card.params["ogb_name"]
    try:
        with trusted_torch_load(copy):
            ds = PygLinkPropPredDataset(name=name, root=str(copy.parent))
    except Exception as err:  # ogb raises bare exceptions on malformed inputs
        raise DataError(f"ogb could not read {name}: {err}", file=str(copy),
                        hint=f"check the files under {data_root() / card.folder}") from err
    stamp = copy / "processed.sha256"
    if not stamp.exists():
        stamp.write_text("".join(f"{_digest(p)} {p.name}\n" for p in sorted((copy / "processed").glob("*.pt"))))
    return ds, copy


def load(card, paths: Mapping[str, Path]) -> SocialGraph:
    ds, _ = _dataset(card, paths)
    data = ds[0]
    ei = data.edge_index.numpy()
    n = int(data.num_nodes)
    return SocialGraph(name=card.name, user_ids=np.arange(n, dtype=np.int64), friends=undirected(ei[0], ei[1]),
                       directed=False)


def edge_split(card, paths: Mapping[str, Path]) -> dict:
    """OGB's official split as numpy: ``{part: {"edge": [N, 2] int64, "edge_neg": ...}}`` for train/valid/test."""
    ds, copy = _dataset(card, paths)
    with trusted_torch_load(copy):
        split = ds.get_edge_split()
    out: dict = {}
    for part, fields in split.items():
        out[part] = {}
        for key, value in fields.items():
            arr = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
            out[part][key] = arr.astype(np.int64) if arr.dtype.kind in "iu" else arr
    return out
