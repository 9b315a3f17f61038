"""Which datasets a suite uses, whether their files are present, and the small ``--quick`` stand-ins."""
from __future__ import annotations

from socialgraph.bench.subgraph import induced, top_users
from socialgraph.data.graph import SocialGraph

QUICK_USERS = 300
#: The ``--quick`` stand-in for a suite whose datasets are all absent and that needs content (engagements, item
#: attributes): a synthetic social graph with items (see :func:`quick_graph`).
SYNTHETIC = "synthetic"


def present(name: str) -> bool:
    """Whether ``name`` is a registered dataset whose files are present (``False`` for any other name)."""
    from socialgraph.data.errors import DataError
    from socialgraph.data.registry import get_card, is_present

    try:
        return is_present(get_card(name))
    except (KeyError, DataError):
        return False


def first_present(*names: str) -> str:
    """The first of ``names`` whose files are present (the last one is a dataset the project ships, so that a
    ``--quick`` run works on any checkout)."""
    return next((n for n in names if present(n)), names[-1])


def present_in_family(prefix: str) -> list[str]:
    """Names of registered datasets starting with ``prefix`` whose files are present."""
    from socialgraph.data.registry import is_present, list_datasets

    return [c.name for c in list_datasets() if c.name.startswith(prefix) and is_present(c)]


def load_graph(name: str) -> SocialGraph:
    import warnings

    from socialgraph.data import load

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load(name)


def quick_graph(name: str, users: int = QUICK_USERS) -> SocialGraph:
    """The ``users`` best-connected users of ``name`` and what they engaged with; for :data:`SYNTHETIC`, a
    synthetic graph of ``users`` users with half as many items and play counts."""
    if name == SYNTHETIC:
        from socialgraph.synth import generate

        return generate(users=users, mean_degree=10, items=users // 2, engagements_per_user=15, seed=0)
    g = load_graph(name)
    return induced(g, top_users(g, users)) if g.num_users > users else g
