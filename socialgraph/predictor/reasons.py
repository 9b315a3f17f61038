"""Why a suggestion is made, in words a member would read: mutual friends, shared profile fields, similar tastes.

:func:`headlines` gives the one reason every suggestion carries (what the offline job writes, and
:attr:`Suggestion.reason <socialgraph.predictor.Suggestion>`), :func:`suggestion_reasons` the full list the Python
API shows, which starts with the same words whenever the pair has mutual friends.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from socialgraph.data.schema import AttributeTable, Role
from socialgraph.encoders.base import is_missing

#: Cosine similarity of the fused embeddings above which a suggestion reads "similar interests" even when it came
#: from friends-of-friends rather than the nearest-neighbour search.
SIMILAR_INTERESTS = 0.8


def mutual_friends_label(count: int) -> str:
    return f"{count} mutual friend{'s' if count != 1 else ''}"


def headlines(mutual: np.ndarray) -> np.ndarray:
    """One reason per suggestion (object array): ``"N mutual friends"``, or ``"similar interests"`` when the pair
    has none the asker may see (it was then found through the embedding neighbours, or given as a candidate).

    Args:
        mutual: int ``[P]`` visible mutual friends of each pair.
    """
    mutual = np.asarray(mutual, dtype=np.int64)
    # One string object per distinct count, shared by every row that has it (a job writes millions of rows).
    values, inverse = np.unique(mutual, return_inverse=True)
    labels = np.array([mutual_friends_label(c) if c > 0 else "similar interests" for c in values.tolist()],
                      dtype=object)
    return labels[inverse.ravel()] if len(mutual) else np.zeros(0, dtype=object)


class ProfileFields:
    """The profile fields reasons are read from, taken out of the attribute table once (a suggestion reads two rows
    of each column; a pandas lookup per cell cost half of a ``suggest`` call).

    Args:
        attrs: the user attribute table (``None``: users have no attributes, so no field is ever shared).
    """

    def __init__(self, attrs: Optional[AttributeTable]) -> None:
        self.categorical = [] if attrs is None else \
            [(c, attrs.frame[c].to_numpy(dtype=object)) for c in attrs.columns(Role.CATEGORICAL)]
        self.multihot = [] if attrs is None else \
            [(c, attrs.frame[c].to_numpy(dtype=object)) for c in attrs.columns(Role.MULTIHOT)]

    def shared(self, a: int, b: int) -> list[str]:
        """Equal categorical fields (``same city: Leeds``) and shared multi-hot tokens of user rows ``a`` and
        ``b``."""
        out = []
        for col, values in self.categorical:
            x, y = values[a], values[b]
            if not is_missing(x) and x == y:
                out.append(f"same {col}: {x}")
        for col, values in self.multihot:
            x, y = values[a], values[b]
            if not is_missing(x) and not is_missing(y):
                shared = sorted(set(map(str, x)) & set(map(str, y)))
                # Anonymised tokens (MUSAE's page descriptions, SNAP's profile features) are numbers that mean
                # nothing to a reader: say how many are shared instead of which.
                readable = [t for t in shared if not t.isdigit()]
                if readable:
                    out.append(f"shared {col}: {', '.join(readable[:3])}")
                elif shared:
                    out.append(f"{len(shared)} shared {col} token{'s' if len(shared) != 1 else ''}")
        return out


def suggestion_reasons(mutual: int, fields: ProfileFields, a: int, b: int, similarity: float,
                       from_ann: bool) -> list[str]:
    """Reasons for suggesting user row ``b`` to user row ``a``, strongest kind first.

    Args:
        mutual: mutual friends the asking user may see (hidden users not counted: the caller counts them on
            :func:`~socialgraph.predictor.visibility.visible_friends`).
        fields: the users' profile fields.
        similarity: cosine similarity of the two users' fused embeddings.
        from_ann: whether the candidate came from the nearest-neighbour search.
    """
    reasons = [mutual_friends_label(mutual)] if mutual else []
    reasons += fields.shared(a, b)
    if from_ann or similarity >= SIMILAR_INTERESTS:
        reasons.append("similar interests")
    return reasons


def shared_attributes(attrs: Optional[AttributeTable], a: int, b: int) -> list[str]:
    """:meth:`ProfileFields.shared` of one pair, straight from an attribute table."""
    return ProfileFields(attrs).shared(a, b)
