"""A trained model on disk: a folder that can be loaded without running any code from it.

Layout::

    manifest.json          format name, format version, library version, sha256 of every other file but manifest.sig
    manifest.sig           optional: ``hmac-sha256 <hex>``, the HMAC of manifest.json's bytes (see Signing)
    config.yaml            the run's configuration (socialgraph.bundle.config.Config)
    meta.json              model shape, engagement kind, preference categories, training metrics, and ``files``:
                           every file the bundle must hold besides manifest.json and meta.json itself
    model.safetensors      network weights
    encoders.json          fitted encoder configuration (JSON) ...
    encoders.safetensors   ... and their arrays
    inputs.safetensors     encoded user / item inputs (so loading needs no re-encoding) and users' spectral positions
    edges.safetensors      the message-passing friend pairs and engagement rows
    graph/                 the graph in the folder format (Parquet + schema.yaml): ids, attributes, edges, blocked
    metrics.jsonl          one line per validation pass during training

Formats: weights and arrays are safetensors, everything else JSON / YAML (``safe_load``) / Parquet: nothing is
unpickled, so a bundle's content can change what a model predicts but cannot run code in the loading process.

Loading (:func:`verify_bundle`, then :func:`load_bundle`) refuses, with a one-line :class:`BundleError` that names
the file and what to do, a bundle whose format version this library does not read, whose signature does not verify
(see Signing), whose listed files are missing or differ from their sha256, that holds any file its manifest does
not list (such a file is never read: ``graph/engagements.csv`` dropped into a bundle would change predictions),
whose manifest and ``meta.json``'s ``files`` disagree (so deleting ``graph/blocked.parquet`` together with its
manifest entry is detected, rather than silently switching blocking off), or whose files do not parse.

Checksums alone catch accidents, not a tamperer, who can re-compute them. Signing catches a tamperer who lacks the
key. With ``key`` given, or else the environment variable ``SOCIALGRAPH_BUNDLE_KEY`` set (non-empty; its UTF-8
bytes are the key):

* :func:`save_bundle` writes ``manifest.sig``, the HMAC-SHA256 of manifest.json's exact bytes. The manifest holds
  the sha256 of every other file, and meta.json (hashed there) lists the files that must exist, so the signature
  covers the whole bundle.
* :func:`verify_bundle` / :func:`load_bundle` refuse a bundle whose ``manifest.sig`` is missing or does not verify
  (compared with :func:`hmac.compare_digest`).

Without a key, ``manifest.sig`` is not checked (there is nothing to check it with): a signed bundle loads like an
unsigned one, on its checksums. Set the key wherever bundles are loaded to make signing mean something.

Writing is atomic: files go into a temporary sibling folder ``.<name>.tmp-<pid>-<random>``, are fsynced, and the
folder is renamed into place (the parent folder is fsynced too where the platform allows). Replacing a bundle
(``overwrite=True``) first renames the old one aside to ``.<name>.old-<pid>-<random>``, then the new one into place,
then removes the old one, so readers see the old bundle or the new one. A save killed midway (``kill -9``) leaves
such a temporary folder; the next :func:`save_bundle` to the same target removes those whose process is gone
(on one host: the pid is checked locally; on Windows, where that check is not available, none are removed).
"""
from __future__ import annotations

import errno
import hashlib
import hmac
import json
import os
import re
import shutil
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Callable, Optional, TypeVar, Union

import numpy as np
import torch
import yaml
from safetensors.numpy import load_file as load_numpy, save_file as save_numpy
from safetensors.torch import load_file as load_torch, save_file as save_torch

from socialgraph import storage
from socialgraph.config import from_dict, to_dict
from socialgraph.data.errors import DataError
from socialgraph.data.folder import read_folder, write_folder
from socialgraph.data.graph import SocialGraph
from socialgraph.encoders.modalities import ModalityEncoders
from socialgraph.model.social_model import ModelShape, NodeInputs, SocialModel
from socialgraph.bundle.config import Config
from socialgraph.bundle.fitted import FittedModel
from socialgraph.bundle.inputs import EncodedGraph

FORMAT = "socialgraph-bundle"
# 2: random-walk pair features; 3: rating baselines; 4: spectral positions; 5: meta.json lists the bundle's files,
# unlisted files are refused, optional manifest.sig
FORMAT_VERSION = 5
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
KEY_ENV = "SOCIALGRAPH_BUNDLE_KEY"
_SIGNATURE_SCHEME = "hmac-sha256"
#: Files every bundle has, whatever meta.json says.
REQUIRED = ("config.yaml", "meta.json", "model.safetensors", "encoders.json", "encoders.safetensors",
            "inputs.safetensors", "edges.safetensors")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
T = TypeVar("T")

BundleKey = Union[str, bytes, None]


class BundleError(RuntimeError):
    """A bundle that is missing, incomplete, tampered with, unsigned where a key is set, or from an incompatible
    version. ``str(err)`` is one line naming the bundle file and what to do."""


# ------------------------------------------------------------------------------------------------ helpers
def _one_line(err: BaseException, limit: int = 300) -> str:
    """``err``'s message on one line (state-dict and safetensors errors span several)."""
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[:limit] + "..."


def bundle_key(key: BundleKey = None) -> Optional[bytes]:
    """The signing key: ``key`` when given, else ``$SOCIALGRAPH_BUNDLE_KEY``; ``None`` when neither is non-empty."""
    if key is None:
        key = os.environ.get(KEY_ENV) or None
    if isinstance(key, str):
        key = key.encode("utf-8")
    return key or None


def sign(data: bytes, key: bytes) -> str:
    """Hex HMAC-SHA256 of ``data`` under ``key`` (what ``manifest.sig`` holds for the manifest's bytes)."""
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def _inputs_arrays(prefix: str, inputs: NodeInputs | None) -> dict[str, np.ndarray]:
    if inputs is None:
        return {}
    # CPU arrays whatever the device the inputs were on: a bundle loads on any machine
    out = {f"{prefix}/x/{m}": v.cpu().numpy() for m, v in inputs.x.items()}
    out.update({f"{prefix}/mask/{m}": v.cpu().numpy().astype(np.uint8) for m, v in inputs.mask.items()})
    if inputs.positions is not None:
        out[f"{prefix}/positions"] = inputs.positions.cpu().numpy()
    return out


def _inputs_from(prefix: str, arrays: dict[str, np.ndarray], num: int) -> NodeInputs:
    x = {k.split("/", 2)[2]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith(f"{prefix}/x/")}
    mask = {k.split("/", 2)[2]: torch.from_numpy(v.astype(bool)) for k, v in arrays.items()
            if k.startswith(f"{prefix}/mask/")}
    positions = arrays.get(f"{prefix}/positions")
    return NodeInputs(num, x, mask, positions=None if positions is None else torch.from_numpy(positions))


# ------------------------------------------------------------------------------------------------ writing
def _check_target(path: Path, overwrite: bool) -> None:
    if not path.exists():
        return
    if not path.is_dir():
        raise FileExistsError(f"{path} is a file, not a bundle folder; choose another --out or remove it")
    if not any(path.iterdir()):
        return
    if not overwrite:
        raise FileExistsError(f"{path} exists and is not empty; choose another --out or remove it")
    if not (path / MANIFEST).is_file():
        raise FileExistsError(f"{path} is not empty and holds no {MANIFEST}, so it is not a socialgraph bundle; "
                              f"refusing to replace it: choose another --out or remove it")


def _save_tensors(save, tensors: dict, path: Path) -> None:
    """``save(tensors, path)`` with safetensors' failed writes as the ``OSError`` they are: its Rust core raises
    its own error type, which would otherwise hide a full disk behind a traceback."""
    try:
        save(tensors, str(path))
    except OSError:
        raise
    except Exception as err:  # noqa: BLE001 - safetensors_rust.SafetensorError has no importable base
        text = str(err)
        if "No space left" in text or "code: 28" in text:
            raise OSError(errno.ENOSPC, "No space left on device", str(path)) from err
        if "IoError" in text:
            raise OSError(errno.EIO, text, str(path)) from err
        raise


def _write_contents(fitted: FittedModel, tmp: Path, history: list[dict] | None) -> None:
    """Every file of the bundle but the manifest and its signature; meta.json last, listing the others."""
    (tmp / "config.yaml").write_text(yaml.safe_dump(to_dict(fitted.config), sort_keys=False))
    _save_tensors(save_torch, {k: v.detach().cpu().contiguous() for k, v in fitted.model.state_dict().items()},
                  tmp / "model.safetensors")
    enc_cfg, enc_arrays = {}, {}
    for side, enc in (("users", fitted.encoded.user_encoders), ("items", fitted.encoded.item_encoders)):
        if enc is not None:
            cfg, arrays = enc.get_state()
            enc_cfg[side] = cfg
            enc_arrays.update({f"{side}/{k}": np.ascontiguousarray(v) for k, v in arrays.items()})
    (tmp / "encoders.json").write_text(json.dumps(enc_cfg))
    _save_tensors(save_numpy, enc_arrays, tmp / "encoders.safetensors")
    _save_tensors(save_numpy, {**_inputs_arrays("users", fitted.encoded.users),
                               **_inputs_arrays("items", fitted.encoded.items)}, tmp / "inputs.safetensors")
    edges = {"mp_edges": np.ascontiguousarray(fitted.mp_edges, dtype=np.int64)}
    if fitted.mp_engagements is not None:
        edges["mp_engagements"] = np.ascontiguousarray(fitted.mp_engagements, dtype=np.int64)
    _save_tensors(save_numpy, edges, tmp / "edges.safetensors")
    write_folder(fitted.graph, tmp / "graph", format="parquet")
    (tmp / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (history or [])))
    files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
    meta = {"shape": asdict(fitted.model.shape), "engagement_kind": fitted.engagement_kind,
            "preference_source": fitted.preference_source, "preference_names": fitted.preference_names,
            "metrics": fitted.metrics, "files": files}
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=float))


def _write_manifest(tmp: Path, key: Optional[bytes]) -> None:
    from socialgraph.version import __version__

    files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "socialgraph_version": __version__,
                "files": {f: storage.sha256(tmp / f) for f in files}}
    data = json.dumps(manifest, indent=1).encode("utf-8")
    (tmp / MANIFEST).write_bytes(data)
    if key is not None:
        (tmp / SIGNATURE).write_text(f"{_SIGNATURE_SCHEME} {sign(data, key)}\n")


def save_bundle(fitted: FittedModel, path: Union[str, os.PathLike], *, overwrite: bool = False,
                history: list[dict] | None = None, key: BundleKey = None) -> Path:
    """Write ``fitted`` to the folder ``path`` atomically and return it.

    Args:
        fitted: the trained model.
        path: the bundle folder; it must not exist, be empty, or (with ``overwrite``) hold a bundle.
        overwrite: replace an existing bundle at ``path`` (default ``False``). A non-empty folder without a
            ``manifest.json`` is never replaced.
        history: validation records written to ``metrics.jsonl`` (default none).
        key: the signing key (default ``$SOCIALGRAPH_BUNDLE_KEY``); with one, ``manifest.sig`` is written.

    Raises:
        FileExistsError: ``path`` is a file, a non-empty folder without ``overwrite``, or not a bundle.
    """
    path = Path(path)
    _check_target(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    storage.remove_stale(path)
    tmp = storage.scratch(path, "tmp")
    tmp.mkdir()
    try:
        _write_contents(fitted, tmp, history)
        _write_manifest(tmp, bundle_key(key))
        storage.fsync_tree(tmp)
        storage.publish_folder(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


# ------------------------------------------------------------------------------------------------ verifying
def _read_manifest(path: Path) -> tuple[bytes, dict]:
    """The manifest's bytes and its parsed, format-checked content."""
    try:
        raw = (path / MANIFEST).read_bytes()
    except FileNotFoundError:
        raise BundleError(f"{path}: {MANIFEST} is missing; this is not a socialgraph bundle or it is incomplete") \
            from None
    try:
        manifest = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise BundleError(f"{path / MANIFEST}: not valid JSON ({_one_line(err)}); the bundle is damaged: re-save "
                          f"or retrain it") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise BundleError(f"{path / MANIFEST}: not a socialgraph bundle manifest (format {got!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format version {manifest.get('format_version')} cannot be read by this "
                          f"socialgraph (reads version {FORMAT_VERSION}); retrain the model with this version")
    return raw, manifest


def _check_signature(path: Path, raw: bytes, key: Optional[bytes]) -> None:
    if key is None:  # nothing to verify with: documented, the bundle loads on its checksums
        return
    sig = path / SIGNATURE
    if not sig.is_file():
        raise BundleError(f"{path}: {SIGNATURE} is missing but a signing key is set ({KEY_ENV} or key=): refusing "
                          f"an unsigned bundle; re-save it with the key set, or load it without a key")
    parts = sig.read_bytes().split()
    if len(parts) != 2 or parts[0] != _SIGNATURE_SCHEME.encode():
        raise BundleError(f"{sig}: expected one line '{_SIGNATURE_SCHEME} <hex digest>'; the signature is damaged: "
                          f"re-save the bundle with the key set")
    if not hmac.compare_digest(parts[1], sign(raw, key).encode()):
        raise BundleError(f"{path}: {SIGNATURE} does not verify against {MANIFEST} with the key set: the bundle was "
                          f"modified after it was signed, or signed with another key; refusing to load it")


def _listed_files(path: Path, manifest: dict) -> dict[str, str]:
    """``name -> sha256`` of the manifest, every name a plain relative path inside the bundle."""
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise BundleError(f"{path / MANIFEST}: 'files' must map file names to sha256 digests; the bundle is damaged")
    for name, digest in files.items():
        parts = PurePosixPath(name).parts
        if (not name or name.startswith("/") or "\\" in name or ".." in parts or name in (MANIFEST, SIGNATURE)
                or not isinstance(digest, str) or not _HEX64.match(digest)):
            raise BundleError(f"{path / MANIFEST}: entry {name!r}: {digest!r} is not a file inside the bundle with a "
                              f"sha256 digest; the manifest is damaged or was tampered with, refusing to load it")
    return files


def _check_files(path: Path, files: dict[str, str]) -> None:
    """Every listed file is present with its digest, and nothing else is there (an unlisted file is never read)."""
    for name, digest in files.items():
        f = path / name
        if not f.is_file():
            raise BundleError(f"{path}: file {name} is missing; the bundle is incomplete")
        if storage.sha256(f) != digest:
            raise BundleError(f"{path}: file {name} does not match its checksum in {MANIFEST}; the bundle was "
                              f"modified after it was written, refusing to load it")
    folders = {p.as_posix() for name in files for p in PurePosixPath(name).parents if p.as_posix() != "."}
    for entry in sorted(path.rglob("*")):
        rel = entry.relative_to(path).as_posix()
        if rel in files or rel in (MANIFEST, SIGNATURE) or (rel in folders and entry.is_dir()):
            continue
        raise BundleError(f"{path}: {rel} is not listed in {MANIFEST}; a bundle holds only the files it lists, so "
                          f"it is refused rather than read: remove {rel} or re-save the bundle")


def _read_meta(path: Path) -> dict:
    file = path / "meta.json"
    try:
        meta = json.loads(file.read_bytes())
    except (ValueError, UnicodeDecodeError) as err:
        raise BundleError(f"{file}: not valid JSON ({_one_line(err)}); the bundle is damaged: re-save or retrain "
                          f"it") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("files"), list) \
            or not all(isinstance(f, str) for f in meta["files"]):
        raise BundleError(f"{file}: expected an object whose 'files' lists the bundle's files; the bundle is "
                          f"damaged or was written by another version: re-save or retrain it")
    return meta


def _check_complete(path: Path, files: dict[str, str], meta: dict) -> None:
    """The manifest lists exactly the files meta.json says the bundle holds, and those include :data:`REQUIRED`."""
    expected = set(meta["files"]) | {"meta.json"}
    removed, added = sorted(expected - set(files)), sorted(set(files) - expected)
    if removed:
        raise BundleError(f"{path}: {removed[0]} is listed in meta.json but not in {MANIFEST}; a file of the bundle "
                          f"was removed together with its manifest entry, refusing to load it: re-save the bundle")
    if added:
        raise BundleError(f"{path}: {added[0]} is listed in {MANIFEST} but not in meta.json's files; the bundle was "
                          f"modified after it was written, refusing to load it: re-save the bundle")
    for name in REQUIRED:
        if name not in files:
            raise BundleError(f"{path}: {MANIFEST} does not list {name}; the bundle is incomplete")


def verify_bundle(path: Union[str, os.PathLike], *, key: BundleKey = None) -> dict:
    """The manifest of a complete, untampered bundle of a readable version; :class:`BundleError` otherwise.

    Args:
        path: the bundle folder.
        key: the signing key (default ``$SOCIALGRAPH_BUNDLE_KEY``). With one, ``manifest.sig`` must verify; without
            one, it is not checked.

    After it returns, ``manifest.json`` and ``meta.json`` are valid JSON and every file of the folder is listed,
    present, and matches its digest.
    """
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"{path}: no such bundle folder (train one with `socialgraph train ... --out {path}`)")
    raw, manifest = _read_manifest(path)
    _check_signature(path, raw, bundle_key(key))
    files = _listed_files(path, manifest)
    _check_files(path, files)
    _check_complete(path, files, _read_meta(path))
    return manifest


# ------------------------------------------------------------------------------------------------ loading
def _read(bundle: Path, name: str, reader: Callable[[Path], T]) -> T:
    """``reader(bundle / name)``; any failure to parse a verified file becomes a one-line :class:`BundleError`."""
    try:
        return reader(bundle / name)
    except BundleError:
        raise
    except Exception as err:  # noqa: BLE001 - the file passed its checksum, so any error here is bad content
        raise BundleError(f"{bundle / name}: cannot be read ({type(err).__name__}: {_one_line(err)}); the file is "
                          f"damaged or was not written by this socialgraph: re-save or retrain the bundle") from None


def _graph(bundle: Path) -> SocialGraph:
    """The bundle's graph; a table that does not parse is named as ``graph/<file>`` (the data layer names the file
    relative to its folder)."""
    try:
        return read_folder(bundle / "graph")
    except DataError as err:
        file = bundle / "graph" / err.file if err.file and not Path(err.file).is_absolute() else bundle / "graph"
        raise BundleError(f"{file}: cannot be read ({_one_line(err)}); the file is damaged or was not written by "
                          f"this socialgraph: re-save or retrain the bundle") from None


def _config(file: Path) -> Config:
    return from_dict(Config, yaml.safe_load(file.read_text(encoding="utf-8")), where=str(file))


def _model(bundle: Path, config: Config, meta: dict) -> SocialModel:
    # The network is built from config.yaml's model section and meta.json's shape, then given the weights.
    model = _read(bundle, "meta.json", lambda _: SocialModel(config.model, ModelShape(**meta["shape"])))

    def fill(file: Path) -> SocialModel:
        model.load_state_dict(load_torch(str(file), device="cpu"))  # CPU, whatever it was trained on
        return model.eval()
    return _read(bundle, "model.safetensors", fill)


def _encoders(bundle: Path) -> dict[str, ModalityEncoders]:
    enc_cfg = _read(bundle, "encoders.json", lambda f: json.loads(f.read_bytes()))
    enc_arrays = _read(bundle, "encoders.safetensors", lambda f: load_numpy(str(f)))

    def build(_: Path) -> dict[str, ModalityEncoders]:
        out = {}
        for side, cfg in enc_cfg.items():
            own = {k[len(side) + 1:]: v for k, v in enc_arrays.items() if k.startswith(f"{side}/")}
            out[side] = ModalityEncoders.from_state(cfg, own)
        return out
    return _read(bundle, "encoders.json", build)


def _check_sizes(bundle: Path, config: Config, users: NodeInputs, edges: dict[str, np.ndarray],
                 num_users: int) -> None:
    """Arrays that disagree with the graph would fail deep inside scoring: say which file is wrong instead."""
    width = config.model.link_spectral + config.model.link_autoencoder
    if width and (users.positions is None or users.positions.shape[1] != width):
        raise BundleError(f"{bundle}: the model reads {width} position columns per user (model.link_spectral "
                          f"{config.model.link_spectral} + link_autoencoder {config.model.link_autoencoder}) and "
                          f"inputs.safetensors has {0 if users.positions is None else users.positions.shape[1]}; the "
                          f"bundle is incomplete")
    rows = [v.shape[0] for v in [*users.x.values(), *users.mask.values()]]
    if users.positions is not None:
        rows.append(users.positions.shape[0])
    if any(r != num_users for r in rows):
        raise BundleError(f"{bundle / 'inputs.safetensors'}: user arrays have {sorted(set(rows))} rows, the graph "
                          f"has {num_users} users; the bundle is inconsistent: re-save or retrain it")
    mp = edges.get("mp_edges")
    if mp is None or mp.ndim != 2 or mp.shape[1] != 2 or (mp.size and (mp.min() < 0 or mp.max() >= num_users)):
        raise BundleError(f"{bundle / 'edges.safetensors'}: mp_edges must be [P, 2] user rows below {num_users}; "
                          f"the bundle is inconsistent: re-save or retrain it")


def load_bundle(path: Union[str, os.PathLike], *, key: BundleKey = None) -> FittedModel:
    """Load a bundle written by :func:`save_bundle`, verifying it first (see :func:`verify_bundle` for ``key``).

    Only the files the manifest lists are read, each with a parser that runs no code from it (YAML ``safe_load``,
    JSON, safetensors, Parquet).

    Raises:
        BundleError: one line naming the file and what to do, for every way a bundle can be refused or unreadable.
    """
    path = Path(path)
    verify_bundle(path, key=key)
    config = _read(path, "config.yaml", _config)
    meta = _read(path, "meta.json", lambda f: json.loads(f.read_bytes()))
    model = _model(path, config, meta)
    encoders = _encoders(path)
    inputs = _read(path, "inputs.safetensors", lambda f: load_numpy(str(f)))
    edges = _read(path, "edges.safetensors", lambda f: load_numpy(str(f)))
    graph = _read(path, "graph", lambda _: _graph(path))
    users = _inputs_from("users", inputs, graph.num_users)
    _check_sizes(path, config, users, edges, graph.num_users)
    items = _inputs_from("items", inputs, graph.num_items) if graph.num_items else None
    encoded = EncodedGraph(encoders.get("users"), encoders.get("items"), users, items)
    return FittedModel(config, model, graph, encoded, edges["mp_edges"], edges.get("mp_engagements"),
                       meta.get("engagement_kind"), meta.get("preference_source"), meta.get("preference_names", []),
                       meta.get("metrics", {}))


__all__ = ["FORMAT", "FORMAT_VERSION", "KEY_ENV", "MANIFEST", "REQUIRED", "SIGNATURE", "BundleError", "bundle_key",
           "load_bundle", "save_bundle", "sign", "verify_bundle"]
