"""Turning a brand-new user's raw features into model inputs with a bundle's fitted encoders (no retraining)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from socialgraph.data.graph import SocialGraph
from socialgraph.data.schema import AttributeTable, Role
from socialgraph.bundle.fitted import FittedModel
from socialgraph.bundle.inputs import to_inputs
from socialgraph.model.social_model import NodeInputs
from socialgraph.model.spectral import extend_positions
from socialgraph.predictor.device import inputs_to, model_device


def feature_row(graph: SocialGraph, features: dict) -> pd.DataFrame:
    """One row of ``graph``'s user attribute table from ``features`` (column -> value; absent columns missing)."""
    attrs = graph.user_attrs
    cols = [] if attrs is None else list(attrs.frame.columns)
    unknown = [c for c in features if c not in cols]
    if unknown:
        raise ValueError(f"unknown feature(s) {unknown}; this model's users have the columns {cols}")
    frame = pd.DataFrame({c: [features.get(c)] for c in cols}, columns=cols)
    if attrs is not None:
        for c in cols:
            if c in features and attrs.roles.get(c) is Role.MULTIHOT:
                frame[c] = pd.Series([_multihot_value(c, features[c])], dtype=object)
            elif c in features and attrs.roles.get(c) is Role.NUMERIC and features[c] is not None:
                frame[c] = frame[c].astype(np.float64)
    return frame


def _multihot_value(column: str, value) -> list | None:
    """A multi-hot cell as a list of labels: ``None``/NaN stays missing, one string is one label."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        return [value]
    try:
        return list(value)
    except TypeError:
        raise ValueError(f"feature {column!r} is multi-hot: pass a list of labels, one label, or None "
                         f"(got {type(value).__name__} {value!r})") from None


def encode_row(fitted: FittedModel, frame: pd.DataFrame, items: list) -> NodeInputs:
    """Model inputs of one new user: its attribute row and the item ids it engaged with, through the fitted
    encoders (a model without user encoders gets empty inputs)."""
    enc = fitted.encoded.user_encoders
    if enc is None:
        return NodeInputs(1)
    graph = fitted.graph
    roles = {} if graph.user_attrs is None else dict(graph.user_attrs.roles)
    engagements = None
    if "interactions" in enc.columns_:
        cols = graph.item_index(items) if items else np.zeros(0, np.int64)
        engagements = sp.csr_matrix((np.ones(len(cols)), (np.zeros(len(cols), np.int64), cols)),
                                    shape=(1, graph.num_items))
    return to_inputs(enc.transform(AttributeTable(frame, roles), engagements=engagements), 1)


def append_user(fitted: FittedModel, row_frame: pd.DataFrame, user_id, friend_rows: np.ndarray, items: list) -> None:
    """Add one user to ``fitted`` in place, as its last row: its encoded inputs (no trained id vector:
    ``known=False``), its spectral positions from its friends' (``friend_rows``), its id and its attribute row.
    The caller adds its friendships. The new row is encoded by the fitted encoders, which run where the predictor
    put them (its device), and joins the inputs on their device."""
    g = fitted.graph
    users = fitted.encoded.users
    device = model_device(fitted.model)
    encoded = inputs_to(encode_row(fitted, row_frame, items), device)
    n = users.num
    known = torch.ones(n, dtype=torch.bool, device=device) if users.known is None else users.known
    positions = None if users.positions is None else torch.cat(
        [users.positions,
         torch.from_numpy(extend_positions(users.positions.cpu().numpy(), friend_rows))[None].to(device)])
    new_users = NodeInputs(n + 1, {m: torch.cat([users.x[m], encoded.x[m]]) for m in users.x},
                           {m: torch.cat([users.mask[m], encoded.mask[m]]) for m in users.mask},
                           torch.cat([known, torch.zeros(1, dtype=torch.bool, device=device)]), positions)
    fitted.encoded = replace(fitted.encoded, users=new_users)
    attrs = None if g.user_attrs is None else AttributeTable(
        pd.concat([g.user_attrs.frame, row_frame], ignore_index=True), dict(g.user_attrs.roles))
    old = np.asarray(g.user_ids)
    if np.issubdtype(old.dtype, np.number) and isinstance(user_id, (int, np.integer)):
        ids = np.r_[old, np.asarray([user_id], dtype=old.dtype)]
    else:
        ids = np.asarray(list(old) + [user_id], dtype=object)
    fitted.graph = replace(g, user_ids=ids, user_attrs=attrs)
