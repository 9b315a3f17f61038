"""Fit one encoder per attribute column (grouping categorical and numeric columns) and encode a whole table.

:class:`ModalityEncoders` turns an :class:`~socialgraph.data.schema.AttributeTable` (plus, optionally, the user x
item engagement matrix and the items' attribute table) into ``dict[str, Encoded]`` keyed by modality name:

=======================  ===============================================================================
``text:<column>``        :class:`SentenceTransformerText` or :class:`TfidfSvdText` per text column (see ``text``)
``image:<column>``       :class:`ImageEncoder` per image-path column
``multihot:<column>``    :class:`MultiHotEncoder` per token-set column
``categorical``          one-hot blocks of every categorical column, concatenated; mask = any present
``numeric``              one :class:`NumericEncoder` over all numeric columns; mask = any present
``interactions``         :class:`InteractionEncoder` over the engagement matrix (and the items' modalities)
=======================  ===============================================================================

Encoders are fitted on ``train_rows`` only (an inductive split holds users out). Item encoders, used by the
interaction history, are fitted on all items: item attributes are content, not the users' held-out labels.
``get_state`` / ``from_state`` give the whole set as JSON config + flat ``{"<encoder>/<array>": ndarray}``.
"""
from __future__ import annotations

import typing
from dataclasses import asdict, dataclass
from typing import Literal, Optional, Union

import numpy as np
import scipy.sparse as sp

from socialgraph.config import check_fields, setting
from socialgraph.data.schema import AttributeTable, Role
from socialgraph.encoders.base import Encoded, Encoder
from socialgraph.encoders.cache import EncodingCache
from socialgraph.encoders.image import BACKBONES, ImageEncoder
from socialgraph.encoders.interactions import WEIGHTINGS, InteractionEncoder
from socialgraph.encoders.registry import encoder_from_state
from socialgraph.encoders.tabular import CategoricalEncoder, MultiHotEncoder, NumericEncoder
from socialgraph.encoders.text import (SentenceTransformerText, TfidfSvdText, local_sentence_model,
                                       reads_as_codes)



@dataclass
class ModalityConfig:
    """Which encoder and width each role gets.

    Attributes:
        text: ``sentence-transformers`` (pretrained sentence embeddings, ``sentence_model``), ``tfidf`` (TF-IDF +
            SVD to ``text_dim``, fitted on the training rows), or ``auto``: the sentence model when it is installed
            locally (extra ``text``; nothing is downloaded) and the column has at most ``text_auto_max_rows``
            training rows, TF-IDF otherwise; a column that reads as a bag of codes rather than prose
            (:func:`~socialgraph.encoders.text.reads_as_codes`, e.g. ego-Facebook's anonymised profile tokens
            ``education;school;id=50``) always gets TF-IDF over its whole whitespace-separated tokens. On
            musae-facebook page names the sentence model adds 1.5 points of test Hits@50 (0.850 vs 0.835, mean
            aggregation, 30 epochs); it costs a few ms a text on a CPU core, hence the cap.
        text_auto_max_rows: the row cap of ``auto``.
        cache: keep the encoded training inputs (users and items) in the content-keyed cache under
            :func:`socialgraph.paths.cache_root` (:mod:`socialgraph.encoders.cache`), so that a run with the same
            data and encoder settings (another seed, an ablation of the model) skips encoding: the sentence model
            takes about 50 s on Last.fm's 17,632 artist names. The key covers the input values and the fitted
            encoder state, so a warm entry equals a cold computation.
        text_dim / text_min_df: TF-IDF + SVD output width and minimum document frequency of a term.
        sentence_model: the sentence-transformers model of ``text`` (read from the local install, never fetched).
        multihot_dim: token-set columns with a larger vocabulary are reduced to this width (SVD).
        categorical_max: most frequent values kept per categorical column (the rest share one slot).
        numeric_log: ``log1p`` numeric columns: ``true``, ``false``, or ``auto`` (non-negative columns with a heavy
            tail, such as view counts).
        image_backbone / image_dim: image features (``auto``: pretrained EfficientNet-Lite0 when its weights are
            installed, else ``pixels``, which needs no download) and their PCA width (``null``: no PCA).
        image_root: folder that relative image paths are read from.
        interaction_dim / interaction_weighting: width of the interaction-history vector and how engagement
            counts are weighted (``log1p``, ``binary`` or raw).
        seed: seeds the SVD / PCA fits.
    """

    text: Literal["auto", "tfidf", "sentence-transformers"] = "auto"
    text_auto_max_rows: int = setting(100_000, ge=0)
    cache: bool = True
    text_dim: int = setting(64, ge=1)
    text_min_df: int = setting(2, ge=1)
    sentence_model: str = "all-MiniLM-L6-v2"
    multihot_dim: int = setting(64, ge=1)
    categorical_max: int = setting(1000, ge=1)
    numeric_log: Union[bool, Literal["auto"]] = "auto"
    image_backbone: str = setting("auto", choices=BACKBONES)
    image_dim: Optional[int] = setting(64, ge=1)
    image_root: Optional[str] = None
    interaction_dim: int = setting(64, ge=1)
    interaction_weighting: str = setting("log1p", choices=WEIGHTINGS)
    seed: int = setting(0, ge=0)

    def __post_init__(self) -> None:
        check_fields(self)


TEXT_BACKENDS = typing.get_args(typing.get_type_hints(ModalityConfig)["text"])


class ModalityEncoders:
    """One fitted encoder per modality of a user attribute table (and the interaction history)."""

    def __init__(self, config: Optional[ModalityConfig] = None) -> None:
        self.config = config or ModalityConfig()
        self.encoders_: dict[str, Encoder] = {}      # key: "<modality>" or "categorical:<column>"
        self.columns_: dict[str, list[str]] = {}     # modality -> columns it reads
        self.items_: Optional["ModalityEncoders"] = None
        self.device: Optional[str] = None            # set by to(); None: each encoder's default (the CPU)

    def to(self, device) -> "ModalityEncoders":
        """Run every neural encoder (sentence model, EfficientNet), the items' ones included, on ``device`` (a
        :class:`torch.device` or its name), and those that a later :meth:`fit` makes too. Where they run is not
        part of :meth:`get_state`, nor of the encoder cache's keys. Returns ``self``."""
        import torch

        self.device = str(torch.device(device))
        for enc in self.encoders_.values():
            enc.to(self.device)
        if self.items_ is not None:
            self.items_.to(self.device)
        return self

    def _placed(self, enc: Encoder) -> Encoder:
        return enc if self.device is None else enc.to(self.device)

    # ------------------------------------------------------------------ fit / transform
    def fit(self, table: Optional[AttributeTable], train_rows: Optional[np.ndarray] = None, *,
            engagements: Optional[sp.spmatrix] = None,
            item_attrs: Optional[AttributeTable] = None) -> "ModalityEncoders":
        """Fit on the rows ``train_rows`` of ``table`` (default: all rows) and of ``engagements``."""
        self.encoders_, self.columns_, self.items_ = {}, {}, None
        rows = None if train_rows is None else np.asarray(train_rows)
        if table is not None:
            train = table if rows is None else table.take(rows)
            self._fit_table(train)
        if engagements is not None:
            e = sp.csr_matrix(engagements)
            item_x = None
            if item_attrs is not None and item_attrs.roles:
                self.items_ = ModalityEncoders(self.config)
                if self.device is not None:
                    self.items_.to(self.device)
                self.items_.fit(item_attrs)
                item_x = _concat(self.items_.transform(item_attrs, cache=self.config.cache))
            enc = InteractionEncoder(dim=self.config.interaction_dim, weighting=self.config.interaction_weighting,
                                     seed=self.config.seed)
            self.encoders_["interactions"] = enc.fit(e if rows is None else e[rows], item_x)
            self.columns_["interactions"] = []
        if not self.encoders_:
            raise ValueError("ModalityEncoders: nothing to encode (no attribute column with a role, no engagements)")
        return self

    def transform(self, table: Optional[AttributeTable], *, engagements: Optional[sp.spmatrix] = None,
                  cache: bool = False) -> dict[str, Encoded]:
        """Encode every row of ``table`` (and ``engagements``) -> ``{modality: Encoded}``."""
        out: dict[str, Encoded] = {}
        for modality, cols in self.columns_.items():
            if modality == "interactions":
                if engagements is None:
                    raise ValueError("the encoders were fitted with engagements: pass engagements= to transform")
                out[modality] = _encode(self.encoders_[modality], sp.csr_matrix(engagements), cache)
            elif modality == "categorical":
                blocks = [_encode(self.encoders_[f"categorical:{c}"], table.frame[c], cache) for c in cols]
                out[modality] = Encoded(np.hstack([b.x for b in blocks]),
                                        np.logical_or.reduce([b.mask for b in blocks]))
            elif modality == "numeric":
                values = table.frame[cols].to_numpy(dtype=np.float64, na_value=np.nan)
                out[modality] = _encode(self.encoders_[modality], values, cache)
            else:
                out[modality] = _encode(self.encoders_[modality], table.frame[cols[0]], cache)
        return out

    def fit_transform(self, table: Optional[AttributeTable], train_rows: Optional[np.ndarray] = None, *,
                      engagements: Optional[sp.spmatrix] = None, item_attrs: Optional[AttributeTable] = None,
                      cache: bool = False) -> dict[str, Encoded]:
        self.fit(table, train_rows, engagements=engagements, item_attrs=item_attrs)
        return self.transform(table, engagements=engagements, cache=cache)

    def fit_graph(self, graph, train_rows: Optional[np.ndarray] = None) -> "ModalityEncoders":
        """Fit on a :class:`~socialgraph.data.graph.SocialGraph`'s user attributes and engagements (pass a graph
        whose engagements are already restricted to the training engagements)."""
        e = graph.engagement_matrix() if graph.num_engagements else None
        return self.fit(graph.user_attrs, train_rows, engagements=e, item_attrs=graph.item_attrs)

    def transform_graph(self, graph, *, cache: bool = False) -> dict[str, Encoded]:
        e = graph.engagement_matrix() if "interactions" in self.columns_ else None
        return self.transform(graph.user_attrs, engagements=e, cache=cache)

    @property
    def dims(self) -> dict[str, int]:
        """Width of each modality's ``x``."""
        out = {}
        for modality, cols in self.columns_.items():
            if modality == "categorical":
                out[modality] = sum(self.encoders_[f"categorical:{c}"].output_dim for c in cols)
            else:
                out[modality] = self.encoders_[modality].output_dim
        return out

    # ------------------------------------------------------------------ state
    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """``(config, arrays)``: JSON-able config and a flat dict of arrays (``"<encoder>/<array>"`` keys)."""
        config = {"config": asdict(self.config), "columns": self.columns_, "encoders": {}, "items": None}
        arrays: dict[str, np.ndarray] = {}
        for key, enc in self.encoders_.items():
            cfg, arr = enc.get_state()
            config["encoders"][key] = cfg
            arrays.update({f"{key}/{name}": a for name, a in arr.items()})
        if self.items_ is not None:
            cfg, arr = self.items_.get_state()
            config["items"] = cfg
            arrays.update({f"items/{name}": a for name, a in arr.items()})
        return config, arrays

    @classmethod
    def from_state(cls, config: dict, arrays: dict[str, np.ndarray]) -> "ModalityEncoders":
        self = cls(ModalityConfig(**config["config"]))
        self.columns_ = {m: list(c) for m, c in config["columns"].items()}
        for key, cfg in config["encoders"].items():
            prefix = f"{key}/"
            own = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            self.encoders_[key] = encoder_from_state(cfg, own)
        if config.get("items") is not None:
            own = {k[len("items/"):]: v for k, v in arrays.items() if k.startswith("items/")}
            self.items_ = cls.from_state(config["items"], own)
        return self

    # ------------------------------------------------------------------ internals
    def _fit_table(self, train: AttributeTable) -> None:
        c = self.config
        for col in train.columns(Role.TEXT):
            codes = c.text == "auto" and reads_as_codes(train.frame[col])
            sentence = c.text == "sentence-transformers" or (
                c.text == "auto" and not codes and len(train.frame) <= c.text_auto_max_rows
                and local_sentence_model(c.sentence_model) is not None)
            enc: Encoder = (SentenceTransformerText(model=c.sentence_model) if sentence
                            else TfidfSvdText(dim=c.text_dim, min_df=c.text_min_df, seed=c.seed,
                                              tokens="whitespace" if codes else "words"))
            self._add(f"text:{col}", [col], self._placed(enc).fit(train.frame[col]))
        for col in train.columns(Role.IMAGE):
            enc = ImageEncoder(backbone=c.image_backbone, dim=c.image_dim, root=c.image_root, seed=c.seed)
            self._add(f"image:{col}", [col], self._placed(enc).fit(train.frame[col]))
        for col in train.columns(Role.MULTIHOT):
            self._add(f"multihot:{col}", [col], MultiHotEncoder(dim=c.multihot_dim, seed=c.seed)
                      .fit(train.frame[col]))
        cats = train.columns(Role.CATEGORICAL)
        if cats:
            self.columns_["categorical"] = cats
            for col in cats:
                self.encoders_[f"categorical:{col}"] = CategoricalEncoder(max_categories=c.categorical_max) \
                    .fit(train.frame[col])
        nums = train.columns(Role.NUMERIC)
        if nums:
            values = train.frame[nums].to_numpy(dtype=np.float64, na_value=np.nan)
            self._add("numeric", nums, NumericEncoder(log=c.numeric_log).fit(values))

    def _add(self, modality: str, cols: list[str], enc: Encoder) -> None:
        self.encoders_[modality] = enc
        self.columns_[modality] = cols


def _concat(encoded: dict[str, Encoded]) -> Encoded:
    """All modalities side by side (each block zero where missing); mask = any modality present."""
    parts = list(encoded.values())
    return Encoded(np.hstack([p.x for p in parts]), np.logical_or.reduce([p.mask for p in parts]))


def _encode(encoder: Encoder, values, cache: bool) -> Encoded:
    """``encoder.transform(values)``, through the content-keyed cache under :func:`socialgraph.paths.cache_root`
    when ``cache`` (key: input values + configuration + fitted state)."""
    if not cache:
        return encoder.transform(values)
    return EncodingCache().get_or_compute(encoder, values, encoder.transform)
