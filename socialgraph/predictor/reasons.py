"""Why a suggestion is made, in words a member would read: mutual friends, shared profile fields, similar tastes."""
from __future__ import annotations

from typing import Optional

from socialgraph.data.schema import AttributeTable, Role
from socialgraph.encoders.base import is_missing

#: Cosine similarity of the fused embeddings above which a suggestion reads "similar interests" even when it came
#: from friends-of-friends rather than the nearest-neighbour search.
SIMILAR_INTERESTS = 0.8


def suggestion_reasons(mutual: int, attrs: Optional[AttributeTable], a: int, b: int, similarity: float,
                       from_ann: bool) -> list[str]:
    """Reasons for suggesting user row ``b`` to user row ``a``, strongest kind first.

    Args:
        mutual: mutual friends the asking user may see (hidden users not counted: the caller counts them on
            :func:`~socialgraph.predictor.visibility.visible_friends`).
        attrs: the user attribute table (``None`` when users have no attributes).
        similarity: cosine similarity of the two users' fused embeddings.
        from_ann: whether the candidate came from the nearest-neighbour search.
    """
    reasons = [f"{mutual} mutual friend{'s' if mutual != 1 else ''}"] if mutual else []
    reasons += shared_attributes(attrs, a, b)
    if from_ann or similarity >= SIMILAR_INTERESTS:
        reasons.append("similar interests")
    return reasons


def shared_attributes(attrs: Optional[AttributeTable], a: int, b: int) -> list[str]:
    """Equal categorical fields (``same city: Leeds``) and shared multi-hot tokens of user rows ``a`` and ``b``."""
    if attrs is None:
        return []
    out = []
    for col in attrs.columns(Role.CATEGORICAL):
        x, y = attrs.frame[col].iat[a], attrs.frame[col].iat[b]
        if not is_missing(x) and x == y:
            out.append(f"same {col}: {x}")
    for col in attrs.columns(Role.MULTIHOT):
        x, y = attrs.frame[col].iat[a], attrs.frame[col].iat[b]
        if not is_missing(x) and not is_missing(y):
            shared = sorted(set(map(str, x)) & set(map(str, y)))
            # Anonymised tokens (MUSAE's page descriptions, SNAP's profile features) are numbers that mean nothing
            # to a reader: say how many are shared instead of which.
            readable = [t for t in shared if not t.isdigit()]
            if readable:
                out.append(f"shared {col}: {', '.join(readable[:3])}")
            elif shared:
                out.append(f"{len(shared)} shared {col} token{'s' if len(shared) != 1 else ''}")
    return out

