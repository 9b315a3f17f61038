"""Modality encoders: each turns one kind of user/item attribute into ``Encoded(x, mask)``.

``x`` is float32 ``[n, d]``; ``mask[i]`` is True when row ``i`` has the modality. Encoders are fitted on training
rows only and save their state as JSON config + numpy arrays (no pickle); see :mod:`socialgraph.encoders.base`.
"""
from socialgraph.encoders.base import Encoded, Encoder
from socialgraph.encoders.cache import EncodingCache
from socialgraph.encoders.image import ImageEncoder
from socialgraph.encoders.interactions import InteractionEncoder
from socialgraph.encoders.modalities import ModalityConfig, ModalityEncoders
from socialgraph.encoders.registry import ENCODERS, encoder_from_state
from socialgraph.encoders.tabular import CategoricalEncoder, MultiHotEncoder, NumericEncoder
from socialgraph.encoders.text import SentenceTransformerText, TfidfSvdText, sentence_transformers_available

__all__ = [
    "Encoded", "Encoder", "ENCODERS", "encoder_from_state", "EncodingCache",
    "TfidfSvdText", "SentenceTransformerText", "sentence_transformers_available",
    "ImageEncoder", "CategoricalEncoder", "MultiHotEncoder", "NumericEncoder", "InteractionEncoder",
    "ModalityConfig", "ModalityEncoders",
]
