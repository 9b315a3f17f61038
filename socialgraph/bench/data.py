"""Which datasets a suite uses, whether their files are present, and the small ``--quick`` stand-ins."""
from __future__ import annotations

from socialgraph.bench.subgraph import induced, top_users
from socialgraph.data.graph import SocialGraph

QUICK_USERS = 300


def present(name: str) -> bool:
    from socialgraph.data.registry import get_card, is_present

    try:
        return is_present(get_card(name))
    except KeyError:
        return False


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
    """The ``users`` best-connected users of ``name`` and what they engaged with."""
    g = load_graph(name)
    return induced(g, top_users(g, users)) if g.num_users > users else g
