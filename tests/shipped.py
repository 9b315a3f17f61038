"""Real graphs for tests, from the data root where present and from what the project ships everywhere.

A test that needs a graph of some shape asks for it with ``pick(preferred, ..., stand_in)``: the first dataset
present on this machine, where the last is one every checkout has (a shipped MUSAE graph, a core of one, or a
synthetic graph). With ``../shared`` beside the checkout the suite runs on the licensed datasets as before; on a
stranger's machine the same tests run on the stand-ins (CI runs both). A test that is about one dataset itself
carries ``@pytest.mark.dataset(NAME)`` instead and is skipped, with the reason, where NAME is absent.
"""
from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
import pytest
import scipy.sparse as sp

from socialgraph.data import SocialGraph, load

#: Graphs every checkout has (MIT-licensed MUSAE copies in the project's datasets/ folder).
SHIPPED = ("musae-facebook", "twitch-de", "twitch-engb")
#: The licensed datasets tests prefer where present (named in the test run's header when absent).
PREFERRED = ("lastfm-hetrec-2k", "movielens-100k", "movielens-posters", "ego-facebook", "ciao", "seal-usair",
             "seal-celegans", "cora", "ogbl-ddi")


def present(name: str) -> bool:
    """A registry dataset whose required files are found, or a folder of the data root (``movielens-posters``: the
    optional parts of a card)."""
    from socialgraph.data import DataError
    from socialgraph.data.registry import get_card, is_present
    from socialgraph.paths import data_root

    try:
        return is_present(get_card(name))
    except DataError:
        return (data_root() / name).is_dir()


def require(*names: str) -> None:
    """Skip the calling test (or fixture) unless every dataset in ``names`` is present, with one line naming the
    missing ones and how to provide them."""
    gone = [n for n in names if not present(n)]
    if gone:
        root = os.environ.get("SOCIALGRAPH_DATA") or "~/.cache/socialgraph/data"
        pytest.skip(f"needs dataset {', '.join(gone)}, which the project does not ship; set SOCIALGRAPH_DATA "
                    f"(now {root}) to a folder holding it (`socialgraph datasets info {gone[0]}` says where to get it)")


def dataset_params(*names: str) -> list:
    """One ``pytest.param`` per name, marked with the dataset it needs and named after it (for tests about each
    dataset itself)."""
    return [pytest.param(n, marks=pytest.mark.dataset(n), id=n) for n in names]


def pick(*names: str) -> str:
    """The first of ``names`` present here; the last must be one every checkout has (see :func:`graph`)."""
    return next((n for n in names[:-1] if present(n.split("-core")[0])), names[-1])


@lru_cache(maxsize=None)
def friend_graph(name: str) -> SocialGraph:
    """The friendships of dataset ``name`` alone (no attributes, items or engagements)."""
    g = load(name)
    return SocialGraph(user_ids=g.user_ids, friends=g.friends, directed=g.directed, name=name)


#: The synthetic stand-in for Last.fm where tests need every modality and every head: friendships with times,
#: text / categorical / numeric / multi-hot profiles, items with their own attributes, and play counts.
SYNTH_SOCIAL = "synth-social"


@lru_cache(maxsize=None)
def _synth_social(engagement: str = "counts") -> SocialGraph:
    from socialgraph.synth import generate

    return generate(users=1500, mean_degree=12, items=600, engagements_per_user=20, engagement=engagement,
                    timestamps=True, seed=0)


def graph(name: str) -> SocialGraph:
    """A registry dataset; a synthetic graph; or ``NAME-coreN``: the N users of ``NAME`` reached breadth-first
    from its best-connected user, with their friendships and attributes (a small, dense, real graph).

    Synthetic ones: ``synth-social`` (every modality, items, play counts, times), ``synth-ratings`` (the same with
    1-5 ratings), ``synth-user-tags`` (items with a title alone, as Last.fm's artists, so that preferences are the
    users' own tags) and ``synth-no-friends`` (ratings without friendships, as MovieLens)."""
    if name.startswith("synth-"):
        return _synthetic(name)
    if "-core" not in name:
        return load(name)
    from socialgraph.bench.subgraph import induced

    base, size = name.rsplit("-core", 1)
    g = induced(load(base), _core_rows(base, int(size)))
    g.name = name
    return g


def _synthetic(name: str) -> SocialGraph:
    from copy import deepcopy

    from socialgraph.data.schema import AttributeTable, Role

    g = deepcopy(_synth_social("ratings" if name in ("synth-ratings", "synth-no-friends") else "counts"))
    if name == "synth-user-tags":
        g.item_attrs = AttributeTable(g.item_attrs.frame[["title"]], {"title": Role.TEXT})
    elif name == "synth-no-friends":
        g.friends, g.friend_time, g.blocked = np.zeros((0, 2), np.int64), None, None
    elif name not in (SYNTH_SOCIAL, "synth-ratings"):
        raise KeyError(f"no synthetic graph {name!r}")
    g.name = name
    return g


def core_graph(name: str, size: int) -> SocialGraph:
    """The friendships alone among ``size`` users of ``name`` reached breadth-first from its best-connected user."""
    a = sp.triu(dense_core(name, size), k=1).tocoo()
    return SocialGraph(user_ids=np.arange(size, dtype=np.int64), name=f"{name}-core{size}",
                       friends=np.stack([a.row, a.col], 1).astype(np.int64))


def _core_rows(name: str, size: int) -> np.ndarray:
    a = friend_graph(name).adjacency()
    a = ((a + a.T) > 0).astype(np.float64).tocsr()
    a.setdiag(0)
    a.eliminate_zeros()
    return sp.csgraph.breadth_first_order(a, int(np.argmax(np.diff(a.indptr))), directed=False,
                                          return_predecessors=False)[:size]


def dense_core(name: str, size: int = 400) -> sp.csr_matrix:
    """The symmetric 0/1 adjacency induced on ``size`` users reached breadth-first from the best-connected user:
    a small real graph on which dense matrix powers and brute force stay cheap."""
    a = friend_graph(name).adjacency()
    a = ((a + a.T) > 0).astype(np.float64).tocsr()
    a.setdiag(0)
    order = _core_rows(name, size)
    core = a[order][:, order].tocsr()
    core.eliminate_zeros()
    return core


def drawn_images(folder, per_class: int = 40, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """``2 * per_class`` JPEG drawings of two looks a picture encoder must tell apart (label 0: bright, warm,
    large round shapes on a light ground; label 1: dark, cool, thin angular strokes on a dark ground), drawn with
    Pillow, plus ``png_as.jpg``: a PNG behind a .jpg name. Returns the JPEG paths and their labels."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    paths, labels = [], []
    for i in range(2 * per_class):
        label = i % 2
        ground = tuple(int(c) for c in (rng.integers(190, 255, 3) if label == 0 else rng.integers(0, 60, 3)))
        img = Image.new("RGB", (120, 180), ground)
        draw = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(3, 7))):
            x, y = int(rng.integers(0, 90)), int(rng.integers(0, 150))
            if label == 0:
                r = int(rng.integers(20, 45))
                colour = (int(rng.integers(200, 256)), int(rng.integers(80, 200)), int(rng.integers(0, 80)))
                draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
            else:
                colour = (int(rng.integers(0, 60)), int(rng.integers(40, 120)), int(rng.integers(100, 200)))
                draw.line([x, y, int(rng.integers(0, 120)), int(rng.integers(0, 180))], fill=colour, width=3)
        path = folder / f"{i}.jpg"
        img.save(path, format="JPEG", quality=90)
        paths.append(str(path))
        labels.append(label)
    Image.open(paths[0]).save(folder / "png_as.jpg", format="PNG")
    return paths, np.array(labels, dtype=np.float64)


def small_bundle(folder, *, seed: int = 0, epochs: int = 3, graph=None, dim: int = 32):
    """A bundle trained in seconds, TF-IDF text (synthetic bios are made-up words a pretrained model cannot read),
    one thread: on ``graph``, by default an 800-user synthetic graph with blocked pairs drawn with ``seed`` (the
    suggestion job's tests)."""
    from socialgraph.synth import generate
    from socialgraph.bundle.format import save_bundle
    from socialgraph.bundle.config import Config
    from socialgraph.train.trainer import Trainer

    cfg = Config()
    cfg.model.dim = dim
    cfg.train.epochs, cfg.train.eval_every, cfg.train.threads = epochs, epochs, 1
    cfg.encoders.text = "tfidf"
    if graph is None:
        graph = generate(users=800, mean_degree=12, seed=seed, blocked=0.02)
    return save_bundle(Trainer(cfg, progress=False).fit(graph), folder)
