"""From a :class:`SocialGraph` to model inputs: fitted modality encoders and their outputs as tensors."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import torch

from socialgraph.data.graph import SocialGraph
from socialgraph.encoders.base import Encoded
from socialgraph.encoders.modalities import ModalityConfig, ModalityEncoders
from socialgraph.model.social_model import NodeInputs


@dataclass
class EncodedGraph:
    """Fitted encoders and encoded inputs of users (and items)."""

    user_encoders: Optional[ModalityEncoders]
    item_encoders: Optional[ModalityEncoders]
    users: NodeInputs
    items: Optional[NodeInputs]


def to_inputs(encoded: dict[str, Encoded], num: int) -> NodeInputs:
    return NodeInputs(num, {m: torch.from_numpy(np.ascontiguousarray(e.x, dtype=np.float32))
                            for m, e in encoded.items()},
                      {m: torch.from_numpy(np.asarray(e.mask, dtype=bool)) for m, e in encoded.items()})


def encode_graph(graph: SocialGraph, config: ModalityConfig, train_users: Optional[np.ndarray] = None,
                 train_engagements: Optional[np.ndarray] = None, *,
                 device: Optional[Union[torch.device, str]] = None) -> EncodedGraph:
    """Fit encoders on training rows only (``train_users``; engagements restricted to ``train_engagements``) and
    encode every user and item. A graph without attributes or engagements gets empty inputs (id vectors only).
    With ``config.cache`` the outputs go through the encoder cache (see :class:`ModalityConfig`).

    ``device``: where the neural encoders (sentence model, EfficientNet) fit and encode (``None``: the CPU, their
    default); the outputs are CPU tensors either way, and neither the fitted state nor the cache key depends on it.
    """
    g = graph if train_engagements is None else graph.with_engagements(train_engagements)
    has_user_attrs = g.user_attrs is not None and bool(g.user_attrs.roles)
    user_enc = None
    users = NodeInputs(g.num_users)
    if has_user_attrs or g.num_engagements:
        user_enc = _placed(ModalityEncoders(config), device).fit_graph(g, train_users)
        users = to_inputs(user_enc.transform_graph(g, cache=config.cache), g.num_users)
    item_enc, items = None, None
    if g.num_items:
        items = NodeInputs(g.num_items)
        if g.item_attrs is not None and g.item_attrs.roles:
            item_enc = _placed(ModalityEncoders(config), device).fit(g.item_attrs)
            items = to_inputs(item_enc.transform(g.item_attrs, cache=config.cache), g.num_items)
    return EncodedGraph(user_enc, item_enc, users, items)


def _placed(encoders: ModalityEncoders, device: Optional[Union[torch.device, str]]) -> ModalityEncoders:
    return encoders if device is None else encoders.to(device)
