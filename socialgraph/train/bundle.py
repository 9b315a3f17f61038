"""A trained model on disk: a folder that can be loaded without running any code from it.

Layout::

    manifest.json          format name, format version, library version, sha256 of every other file
    config.yaml            the run's configuration (socialgraph.train.config.Config)
    meta.json              model shape, engagement kind, preference categories, training metrics
    model.safetensors      network weights
    encoders.json          fitted encoder configuration (JSON) ...
    encoders.safetensors   ... and their arrays
    inputs.safetensors     encoded user / item inputs (so loading needs no re-encoding) and users' spectral positions
    edges.safetensors      the message-passing friend pairs and engagement rows
    graph/                 the graph in the folder format (Parquet): ids, attributes, edges, blocked pairs
    metrics.jsonl          one line per validation pass during training

Weights and arrays are safetensors, everything else JSON / YAML / Parquet: nothing is unpickled. Files are
written to a temporary sibling folder that is renamed into place, so a crash leaves no half-written bundle.
Loading checks that every file is present and matches its sha256, and that the format version is one this
library reads; otherwise it raises :class:`BundleError` saying what is wrong.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Union

import numpy as np
import torch
import yaml
from safetensors.numpy import load_file as load_numpy, save_file as save_numpy
from safetensors.torch import load_file as load_torch, save_file as save_torch

from socialgraph.config import from_dict, to_dict
from socialgraph.data.folder import read_folder, write_folder
from socialgraph.encoders.modalities import ModalityEncoders
from socialgraph.model.social_model import ModelShape, NodeInputs, SocialModel
from socialgraph.train.config import Config
from socialgraph.train.fitted import FittedModel
from socialgraph.train.inputs import EncodedGraph

FORMAT = "socialgraph-bundle"
FORMAT_VERSION = 4  # 2: random-walk pair features; 3: rating baselines; 4: spectral positions
MANIFEST = "manifest.json"


class BundleError(RuntimeError):
    """A bundle that is missing, incomplete, tampered with, or from an incompatible version."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _inputs_arrays(prefix: str, inputs: NodeInputs | None) -> dict[str, np.ndarray]:
    if inputs is None:
        return {}
    out = {f"{prefix}/x/{m}": v.numpy() for m, v in inputs.x.items()}
    out.update({f"{prefix}/mask/{m}": v.numpy().astype(np.uint8) for m, v in inputs.mask.items()})
    if inputs.positions is not None:
        out[f"{prefix}/positions"] = inputs.positions.numpy()
    return out


def _inputs_from(prefix: str, arrays: dict[str, np.ndarray], num: int) -> NodeInputs:
    x = {k.split("/", 2)[2]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith(f"{prefix}/x/")}
    mask = {k.split("/", 2)[2]: torch.from_numpy(v.astype(bool)) for k, v in arrays.items()
            if k.startswith(f"{prefix}/mask/")}
    positions = arrays.get(f"{prefix}/positions")
    return NodeInputs(num, x, mask, positions=None if positions is None else torch.from_numpy(positions))


def save_bundle(fitted: FittedModel, path: Union[str, os.PathLike], *, overwrite: bool = False,
                history: list[dict] | None = None) -> Path:
    """Write ``fitted`` to the folder ``path`` atomically and return it."""
    from socialgraph import __version__

    path = Path(path)
    if path.exists() and not overwrite and any(path.iterdir()):
        raise FileExistsError(f"{path} exists and is not empty; choose another --out or remove it")
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        (tmp / "config.yaml").write_text(yaml.safe_dump(to_dict(fitted.config), sort_keys=False))
        meta = {"shape": asdict(fitted.model.shape), "engagement_kind": fitted.engagement_kind,
                "preference_source": fitted.preference_source, "preference_names": fitted.preference_names,
                "metrics": fitted.metrics}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=float))
        save_torch({k: v.contiguous() for k, v in fitted.model.state_dict().items()}, str(tmp / "model.safetensors"))
        enc_cfg, enc_arrays = {}, {}
        for side, enc in (("users", fitted.encoded.user_encoders), ("items", fitted.encoded.item_encoders)):
            if enc is not None:
                cfg, arrays = enc.get_state()
                enc_cfg[side] = cfg
                enc_arrays.update({f"{side}/{k}": np.ascontiguousarray(v) for k, v in arrays.items()})
        (tmp / "encoders.json").write_text(json.dumps(enc_cfg))
        save_numpy(enc_arrays, str(tmp / "encoders.safetensors"))
        save_numpy({**_inputs_arrays("users", fitted.encoded.users), **_inputs_arrays("items", fitted.encoded.items)},
                   str(tmp / "inputs.safetensors"))
        edges = {"mp_edges": np.ascontiguousarray(fitted.mp_edges, dtype=np.int64)}
        if fitted.mp_engagements is not None:
            edges["mp_engagements"] = np.ascontiguousarray(fitted.mp_engagements, dtype=np.int64)
        save_numpy(edges, str(tmp / "edges.safetensors"))
        write_folder(fitted.graph, tmp / "graph", format="parquet")
        (tmp / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (history or [])))
        files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "socialgraph_version": __version__,
                    "files": {f: _sha256(tmp / f) for f in files}}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        if path.exists():
            shutil.rmtree(path)
        tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def verify_bundle(path: Union[str, os.PathLike]) -> dict:
    """The manifest of a complete, untampered bundle of a readable version; :class:`BundleError` otherwise."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"{path}: no such bundle folder (train one with `socialgraph train ... --out {path}`)")
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except FileNotFoundError:
        raise BundleError(f"{path}: {MANIFEST} is missing; this is not a socialgraph bundle or it is incomplete") \
            from None
    except json.JSONDecodeError as err:
        raise BundleError(f"{path / MANIFEST}: not valid JSON ({err}); the bundle is damaged") from None
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{path}: not a socialgraph bundle (format {manifest.get('format')!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format version {manifest.get('format_version')} cannot be read by this "
                          f"socialgraph (reads version {FORMAT_VERSION}); retrain the model with this version")
    for name, digest in manifest.get("files", {}).items():
        f = path / name
        if not f.is_file():
            raise BundleError(f"{path}: file {name} is missing; the bundle is incomplete")
        if _sha256(f) != digest:
            raise BundleError(f"{path}: file {name} does not match its checksum in {MANIFEST}; the bundle was "
                              f"modified after it was written, refusing to load it")
    for required in ("config.yaml", "meta.json", "model.safetensors", "inputs.safetensors", "edges.safetensors"):
        if required not in manifest.get("files", {}):
            raise BundleError(f"{path}: {MANIFEST} does not list {required}; the bundle is incomplete")
    return manifest


def load_bundle(path: Union[str, os.PathLike]) -> FittedModel:
    """Load a bundle written by :func:`save_bundle` (verifying it first)."""
    path = Path(path)
    verify_bundle(path)
    config = from_dict(Config, yaml.safe_load((path / "config.yaml").read_text()), where=str(path / "config.yaml"))
    meta = json.loads((path / "meta.json").read_text())
    shape = ModelShape(**meta["shape"])
    model = SocialModel(config.model, shape)
    model.load_state_dict(load_torch(str(path / "model.safetensors")))
    model.eval()
    enc_cfg = json.loads((path / "encoders.json").read_text()) if (path / "encoders.json").exists() else {}
    enc_arrays = load_numpy(str(path / "encoders.safetensors")) if enc_cfg else {}
    encoders = {}
    for side, cfg in enc_cfg.items():
        own = {k[len(side) + 1:]: v for k, v in enc_arrays.items() if k.startswith(f"{side}/")}
        encoders[side] = ModalityEncoders.from_state(cfg, own)
    inputs = load_numpy(str(path / "inputs.safetensors"))
    graph = read_folder(path / "graph")
    users = _inputs_from("users", inputs, graph.num_users)
    width = config.model.link_spectral + config.model.link_autoencoder
    if width and (users.positions is None or users.positions.shape[1] != width):
        raise BundleError(f"{path}: the model reads {width} position columns per user (model.link_spectral "
                          f"{config.model.link_spectral} + link_autoencoder {config.model.link_autoencoder}) and "
                          f"inputs.safetensors has {0 if users.positions is None else users.positions.shape[1]}; the "
                          f"bundle is incomplete")
    items = _inputs_from("items", inputs, graph.num_items) if graph.num_items else None
    edges = load_numpy(str(path / "edges.safetensors"))
    encoded = EncodedGraph(encoders.get("users"), encoders.get("items"), users, items)
    return FittedModel(config, model, graph, encoded, edges["mp_edges"], edges.get("mp_engagements"),
                       meta.get("engagement_kind"), meta.get("preference_source"), meta.get("preference_names", []),
                       meta.get("metrics", {}))
