"""Cold start on a synthetic graph with planted communities: do friendless newcomers land in their own community?"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def newcomer_community_share(bundle: str | Path, communities: int = 8, per_community: int = 3,
                             k: int = 10) -> list[float]:
    """For ``per_community`` members of each of the first ``communities`` planted communities of the bundle's
    synthetic graph (``socialgraph.synth``: column ``community``), add a brand-new user with that member's
    features and no friends and return, per newcomer, the share of its ``k`` suggestions from the member's
    community. Each newcomer gets a fresh predictor, so earlier newcomers are not candidates."""
    from socialgraph.predictor import Predictor

    frame = Predictor.load(bundle).graph.user_attrs.frame
    community = frame["community"].to_numpy()
    share = []
    for c in np.unique(community)[:communities]:
        members = np.flatnonzero((community == c) & frame["bio"].notna() & frame["city"].notna())
        for m in members[:per_community]:
            predictor = Predictor.load(bundle)
            got = predictor.suggest_for_new_user(frame.iloc[m].drop(labels="community").to_dict(), k=k)
            if len(got) != k:
                raise AssertionError(f"newcomer like user row {m} got {len(got)} suggestions, expected {k}")
            share.append(float(np.mean(community[predictor.rows([s.user_id for s in got])] == c)))
    return share
