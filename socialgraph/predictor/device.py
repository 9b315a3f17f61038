"""Where the predictor computes: the ``device`` setting and moving a model's inputs there.

``device`` is ``None`` / ``"auto"`` (CUDA when available, else the CPU, as the trainer resolves it), ``"cpu"``,
``"cuda"`` / ``"cuda:N"`` or a :class:`torch.device`. Everything is moved once, when the predictor is built; on the
CPU every move is a no-op (the same tensors, the same objects), so CPU results do not change.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

import torch

from socialgraph.model.social_model import NodeInputs

def inputs_to(inputs: Optional[NodeInputs], device: torch.device) -> Optional[NodeInputs]:
    """``inputs`` with every tensor on ``device``: the same object when they all are there already."""
    return None if inputs is None else inputs.to(device)


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of ``model``'s parameters (the CPU for a model without any)."""
    p = next(model.parameters(), None)
    return torch.device("cpu") if p is None else p.device


def fitted_to(fitted, device: torch.device) -> None:
    """Move a :class:`~socialgraph.bundle.fitted.FittedModel`'s network and encoded inputs to ``device`` in
    place (nothing changes when they are there already); its cached states are forgotten if anything moved. Its
    fitted encoders run there too (new users' rows are encoded on ``device``; see ``ModalityEncoders.to``)."""
    enc = fitted.encoded
    for encoders in (enc.user_encoders, enc.item_encoders):
        if encoders is not None:
            encoders.to(device)
    users, items = inputs_to(enc.users, device), inputs_to(enc.items, device)
    moved = model_device(fitted.model) != device or users is not enc.users or items is not enc.items
    if not moved:
        return
    fitted.model.to(device)
    fitted.encoded = replace(enc, users=users, items=items)
    fitted.invalidate()


def edges_to(edge_index: dict, device: torch.device) -> dict:
    """An edge-index dict with its tensors on ``device`` (the same dict when they are there already)."""
    if all(e.device == device for e in edge_index.values()):
        return edge_index
    return {k: e.to(device) for k, e in edge_index.items()}
