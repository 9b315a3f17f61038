"""A vectorised generator of social graphs that look like the real ones where it matters for link prediction.

Model (every step is a handful of numpy array operations, so 1,000,000 users at mean degree 20 take minutes):

1. **Communities.** ``C`` planted communities with log-normal sizes; each user joins one (kept in the ``community``
   column of the users table, role ``ignore``, so no encoder reads it but tests and benchmarks can).
2. **Heavy-tailed degrees.** Each user has a Pareto propensity :math:`\\theta_i` (tail index ``degree_tail``);
   edge ends are drawn proportionally to :math:`\\theta` (Chung-Lu), giving a power-law-like degree tail.
3. **Homophily.** A share ``p_in`` of the first-phase edges joins two members of the same community (the second
   end drawn proportionally to :math:`\\theta` inside the community), the rest join any two users.
4. **Triadic closure.** A share ``closure`` of the edges closes wedges ``u - w - v`` of the first-phase graph,
   which gives the clustering and the friends-of-friends signal of real social networks.
5. **Homophilous attributes.** ``bio`` (text: words drawn mostly from the community's topic words), ``city``
   (categorical: mostly the community's home city), ``age`` and ``activity`` (numeric: a community mean plus noise;
   activity follows :math:`\\theta`), ``interests`` (multi-hot: tags mostly from the community's tags). A share
   ``missing`` of each column is missing so encoders' masks are exercised.

The word pool and each community's topic words, city and tags depend only on ``seed`` and the community number,
not on the number of users: graphs of different sizes from one seed speak the same language (a model trained on a
small one can encode a big one).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
import pandas as pd

from socialgraph.data.graph import SocialGraph
from socialgraph.data.schema import AttributeTable, Role

_SYLLABLES = np.array(["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "ba", "do", "fe", "gu", "ha", "ji",
                       "ko", "la", "mo", "nu", "pe", "qui", "ri", "su", "ta", "vo", "wa", "xe", "yo", "zu", "bri"])
_POOL = 3000        # words in the global vocabulary
_TOPIC_WORDS = 12   # words of a community's topic
_BIO_WORDS = 8      # words in a bio
_CITIES = 120
_TAGS = 300
_TOPIC_TAGS = 5
_USER_TAGS = 3


@dataclass
class SynthConfig:
    """Parameters of :func:`generate`.

    Attributes:
        users: number of users.
        mean_degree: target mean number of friends (after removing duplicate pairs it lands slightly below).
        communities: planted communities (default ``max(4, round(sqrt(users) / 2))``).
        p_in: share of first-phase edges inside a community.
        closure: share of edges made by closing a wedge.
        degree_tail: Pareto tail index of the degree propensity (smaller: heavier tail).
        homophily: probability that a bio word / tag / the city comes from the user's community.
        missing: share of missing values in each attribute column.
        blocked: share of users who block one random friend-of-friend (written to ``blocked``).
        seed: seeds everything.
    """

    users: int = 1000
    mean_degree: float = 20.0
    communities: Optional[int] = None
    p_in: float = 0.8
    closure: float = 0.3
    degree_tail: float = 2.5
    homophily: float = 0.7
    missing: float = 0.05
    blocked: float = 0.001
    seed: int = 0

    def __post_init__(self) -> None:
        if self.users < 2:
            raise ValueError(f"users must be at least 2, got {self.users}")
        if not 0 < self.mean_degree < self.users:
            raise ValueError(f"mean_degree must be in (0, users), got {self.mean_degree}")
        for name in ("p_in", "closure", "homophily", "missing", "blocked"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {v}")
        if self.degree_tail <= 1.0:
            raise ValueError(f"degree_tail must exceed 1, got {self.degree_tail}")

    @property
    def num_communities(self) -> int:
        c = self.communities if self.communities is not None else max(4, round(np.sqrt(self.users) / 2))
        return int(min(max(1, c), self.users))


def _vocabulary(seed: int) -> np.ndarray:
    """The global word pool: distinct 2-3 syllable words, fixed by ``seed`` alone."""
    rng = np.random.default_rng([seed, 1])
    syl = _SYLLABLES[rng.integers(0, len(_SYLLABLES), size=(4 * _POOL, 3))]
    three = rng.random(4 * _POOL) < 0.5
    words = np.char.add(np.char.add(syl[:, 0], syl[:, 1]), np.where(three, syl[:, 2], ""))
    _, first = np.unique(words, return_index=True)
    return words[np.sort(first)][:_POOL]


def _community_traits(seed: int, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Topic words, home city, tags and mean age of communities ``0..c-1``; row ``i`` does not depend on ``c``
    (rows are drawn in order from generators seeded by ``seed`` alone)."""
    words = np.random.default_rng([seed, 2]).integers(0, _POOL, size=(c, _TOPIC_WORDS))
    city = np.random.default_rng([seed, 3]).integers(0, _CITIES, size=c)
    tags = np.random.default_rng([seed, 4]).integers(0, _TAGS, size=(c, _TOPIC_TAGS))
    age = np.random.default_rng([seed, 5]).uniform(18, 65, size=c)
    return words, city, tags, age


def _draw(cum: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices ``i`` drawn with probability proportional to ``cum[i] - cum[i-1]`` inside ``[lo, hi)`` ranges."""
    base = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
    r = base + rng.random(len(lo)) * (cum[hi - 1] - base)
    return np.minimum(np.searchsorted(cum, r, side="right"), hi - 1)


def _edges(cfg: SynthConfig, community: np.ndarray, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Distinct undirected pairs ``(a < b)``, topped up in rounds until the target mean degree is reached
    (heavy-tailed propensities draw the same pair twice often, more so in small graphs)."""
    n, c = cfg.users, cfg.num_communities
    target = int(round(n * cfg.mean_degree / 2))
    order = np.argsort(community, kind="stable")
    cum = np.cumsum(theta[order])
    starts = np.searchsorted(community[order], np.arange(c))
    ends = np.r_[starts[1:], n]
    keys = np.zeros(0, np.int64)
    want = target
    for _ in range(8):
        m1 = int(round(want * (1 - cfg.closure)))
        src = order[_draw(cum, np.zeros(m1, np.int64), np.full(m1, n), rng)]
        inside = rng.random(m1) < cfg.p_in
        cs = community[src]
        dst = order[_draw(cum, np.where(inside, starts[cs], 0), np.where(inside, ends[cs], n), rng)]
        e = np.stack([src, dst], 1)
        e = e[e[:, 0] != e[:, 1]]
        old = np.stack([keys // n, keys % n], 1)
        e = _close_triangles(np.r_[old, e], n, want - m1, rng, e)
        e = np.sort(e, axis=1)
        e = e[e[:, 0] != e[:, 1]]
        keys = np.union1d(keys, e[:, 0] * np.int64(n) + e[:, 1])
        if len(keys) >= target:
            break
        want = int((target - len(keys)) * 1.3) + 1
    if len(keys) > target:  # drop a random surplus so the mean degree is the one asked for
        keys = np.sort(rng.choice(keys, size=target, replace=False))
    return np.stack([keys // n, keys % n], 1)


def _close_triangles(graph: np.ndarray, n: int, count: int, rng: np.random.Generator,
                     new: np.ndarray) -> np.ndarray:
    """``new`` plus ``count`` wedge-closing pairs ``u - w - v`` of ``graph`` (u from a random edge end)."""
    if count <= 0 or len(graph) == 0:
        return new
    both = np.r_[graph[:, 0], graph[:, 1]]
    nbr = np.r_[graph[:, 1], graph[:, 0]]
    o = np.argsort(both, kind="stable")
    both, nbr = both[o], nbr[o]
    indptr = np.searchsorted(both, np.arange(n + 1))
    deg = np.diff(indptr)
    u = both[rng.integers(0, len(both), count)]
    w = nbr[indptr[u] + (rng.random(count) * deg[u]).astype(np.int64)]
    v = nbr[indptr[w] + (rng.random(count) * deg[w]).astype(np.int64)]
    return np.r_[new, np.stack([u, v], 1)]


def _attributes(cfg: SynthConfig, community: np.ndarray, theta: np.ndarray,
                rng: np.random.Generator) -> pd.DataFrame:
    n = cfg.users
    pool = _vocabulary(cfg.seed)
    words, city, tags, age = _community_traits(cfg.seed, cfg.num_communities)
    h = cfg.homophily

    own = rng.random((n, _BIO_WORDS)) < h
    topic = words[community[:, None], rng.integers(0, _TOPIC_WORDS, (n, _BIO_WORDS))]
    w = np.where(own, topic, rng.integers(0, _POOL, (n, _BIO_WORDS)))
    bio = pd.Series(pool[w[:, 0]], dtype=object)
    bio = bio.str.cat([pd.Series(pool[w[:, j]], dtype=object) for j in range(1, _BIO_WORDS)], sep=" ")

    home = rng.random(n) < h
    cities = np.where(home, city[community], rng.integers(0, _CITIES, n))
    city_names = np.char.add("city_", cities.astype(str)).astype(object)

    own_t = rng.random((n, _USER_TAGS)) < h
    t = np.where(own_t, tags[community[:, None], rng.integers(0, _TOPIC_TAGS, (n, _USER_TAGS))],
                 rng.integers(0, _TAGS, (n, _USER_TAGS)))
    t.sort(axis=1)
    tag_names = np.char.add("tag", np.arange(_TAGS).astype(str))
    interests = [sorted(set(row)) for row in tag_names[t].tolist()]

    ages = np.clip(np.round(age[community] + rng.normal(0, 6, n)), 13, 90)
    activity = np.round(np.log1p(theta) * 10 + rng.gamma(2.0, 2.0, n), 2)

    frame = pd.DataFrame({"bio": bio, "city": pd.Series(city_names, dtype=object),
                          "age": ages.astype(np.float64), "activity": activity.astype(np.float64),
                          "interests": pd.Series(interests, dtype=object),
                          "community": community.astype(np.int64)})
    if cfg.missing > 0:
        for col in ("bio", "city", "age", "activity", "interests"):
            gone = rng.random(n) < cfg.missing
            frame.loc[gone, col] = np.nan if col in ("age", "activity") else None
    return frame


def generate(config: Optional[SynthConfig] = None, **kwargs) -> SocialGraph:
    """A synthetic :class:`SocialGraph` (see the module docstring). Pass a :class:`SynthConfig` or its fields.

    User ids are ``1..users`` (so ids and rows differ by one, which catches id/row mix-ups); the planted community
    of each user is the ``community`` column of ``user_attrs.frame`` (role ``ignore``).
    """
    cfg = config if config is not None else SynthConfig(**kwargs)
    rng = np.random.default_rng(cfg.seed)
    n, c = cfg.users, cfg.num_communities
    sizes = rng.lognormal(0.0, 0.5, c)
    community = rng.choice(c, size=n, p=sizes / sizes.sum())
    theta = (rng.pareto(cfg.degree_tail - 1.0, n) + 1.0)
    theta = np.minimum(theta, np.sqrt(n) * 4)  # no user may be friends with everyone
    friends = _edges(cfg, community, theta, rng)
    frame = _attributes(cfg, community, theta, rng)
    roles = {"bio": Role.TEXT, "city": Role.CATEGORICAL, "age": Role.NUMERIC, "activity": Role.NUMERIC,
             "interests": Role.MULTIHOT}
    blocked = None
    if cfg.blocked > 0 and len(friends):
        blocked = _blocked(friends, n, cfg.blocked, rng)
    return SocialGraph(user_ids=np.arange(1, n + 1, dtype=np.int64), friends=friends,
                       user_attrs=AttributeTable(frame, roles), blocked=blocked,
                       name=f"synth-{n}-d{cfg.mean_degree:g}-s{cfg.seed}")


def _blocked(friends: np.ndarray, n: int, share: float, rng: np.random.Generator) -> Optional[np.ndarray]:
    """Pairs ``(u, v)`` where ``v`` is a friend of a friend of ``u`` (the pairs a suggester would propose)."""
    k = int(round(share * n))
    if k == 0:
        return None
    e = np.r_[friends, friends[:, ::-1]]
    e = e[np.argsort(e[:, 0], kind="stable")]
    indptr = np.searchsorted(e[:, 0], np.arange(n + 1))
    deg = np.diff(indptr)
    has = np.flatnonzero(deg > 0)
    u = rng.choice(has, size=min(k, len(has)), replace=False)
    w = e[indptr[u] + (rng.random(len(u)) * deg[u]).astype(np.int64), 1]
    v = e[indptr[w] + (rng.random(len(u)) * deg[w]).astype(np.int64), 1]
    pairs = np.stack([u, v], 1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    keys = np.sort(pairs, 1)
    existing = set((friends[:, 0] * np.int64(n) + friends[:, 1]).tolist()) if len(friends) < 2_000_000 else None
    if existing is not None:
        keep = np.array([a * n + b not in existing for a, b in keys.tolist()], dtype=bool)
    else:
        fk = np.sort(friends[:, 0] * np.int64(n) + friends[:, 1])
        kk = keys[:, 0] * np.int64(n) + keys[:, 1]
        i = np.minimum(np.searchsorted(fk, kk), len(fk) - 1)
        keep = fk[i] != kk
    pairs = pairs[keep]
    return pairs if len(pairs) else None


def write_synthetic(config: SynthConfig, out: Union[str, os.PathLike], *, format: Optional[str] = None,
                    overwrite: bool = False) -> Path:
    """Generate and write a data folder (Parquet from 100,000 users on, or as ``format`` says)."""
    from socialgraph.data.folder import write_folder

    graph = generate(config)
    fmt = format or ("parquet" if config.users >= 100_000 else "csv")
    return write_folder(graph, out, format=fmt, overwrite=overwrite)
