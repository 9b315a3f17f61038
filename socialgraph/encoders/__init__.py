"""Modality encoders: each turns one kind of user/item attribute into ``Encoded(x, mask)``."""
from socialgraph.encoders.base import Encoded, Encoder, encoder_from_state
from socialgraph.encoders.text import SentenceTransformerText, TfidfSvdText

__all__ = ["Encoded", "Encoder", "encoder_from_state", "TfidfSvdText", "SentenceTransformerText"]
