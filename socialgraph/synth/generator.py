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

Content (only when ``items > 0``; drawn after everything above from generators of their own, so a graph without
items is the same with or without this code):

6. **Items.** Each item belongs to a community (chosen in proportion to the community's users) and has a Pareto
   popularity :math:`\\pi_j` (tail index ``2``, capped like :math:`\\theta`). Its attributes are homophilous like the
   users': ``title`` (text: 2-4 words, mostly from the community's item topic words, same word pool), ``genre``
   (categorical: mostly the community's genre among 18) and ``tags`` (multi-hot: mostly the community's tags, the
   very tags its users list as ``interests``); ``missing`` applies to them too.
7. **Engagements.** User :math:`i` engages with :math:`k_i = 1 + \\mathrm{Poisson}((\\bar k - 1)\\,\\theta_i /
   \\bar\\theta)` distinct items (mean ``engagements_per_user``, capped at half the items); each draw is, with
   probability ``homophily``, an item of the user's community, else any item, both proportionally to
   :math:`\\pi`; a pair drawn twice is drawn again (a few rounds, so a user whose share is hard to fill may end
   short). Popular items of one's own community are the ones drawn twice, so the realised share of in-community
   engagements lands below ``homophily`` (about 0.5-0.6 at the default 0.7, against ~1/C by chance).
8. **Values.** ``counts`` (play counts like Last.fm's): :math:`\\lfloor e^{x} \\rfloor + 1` with :math:`x \\sim
   \\mathcal N(3 + 0.8\\,[\\text{same community}] + b_i, 1)` (:math:`b_i` grows with
   :math:`\\log\\theta_i`), integers stored as float64 like Last.fm's loader; ``ratings``
   (MovieLens-like stars): :math:`\\mathrm{clip}(\\mathrm{round}(3.1 + 0.9\\,[\\text{same community}] + b_i + b_j
   + \\varepsilon), 1, 5)`, with user and item biases (popular items rate higher).
9. **Timestamps** (``timestamps=True``): int64 unix seconds in 2015-2020. Users join in the first 70 % of the
   window and items are released in the first 80 %; a friendship forms after both ends joined (sooner inside a
   community: a fraction :math:`\\mathrm{Beta}(1, 4)` of the remaining window, :math:`\\mathrm{Beta}(1, 2)`
   across), an engagement after the user joined and the item came out (:math:`\\mathrm{Beta}(1, 3)`).

The word pool and each community's topic words, city and tags depend only on ``seed`` and the community number,
not on the number of users: graphs of different sizes from one seed speak the same language (a model trained on a
small one can encode a big one). The same holds for each community's item topic words and genre.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
import pandas as pd

from socialgraph.data.adjacency import pair_keys, pair_member, unordered_keys
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
_ITEM_TOPIC_WORDS = 12  # words of a community's item topic
_TITLE_WORDS = (2, 4)   # fewest and most words of a title
_ITEM_TAGS = 3          # tags drawn per item (duplicates merge, so 1-3)
_ITEM_TAIL = 2.0        # Pareto tail index of item popularity
_GENRES = np.array(["ambient", "blues", "classical", "country", "drama", "electronic", "folk", "funk", "hiphop",
                    "horror", "jazz", "metal", "pop", "punk", "reggae", "rock", "soul", "thriller"], dtype=object)
_ENGAGEMENTS = ("counts", "ratings")
_T0, _T1 = 1420070400, 1609459200  # 2015-01-01 and 2021-01-01 00:00 UTC, unix seconds


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
        items: content items (0: none, and no engagements).
        engagements_per_user: mean distinct items a user engages with (at least 1 each); used when ``items > 0``.
        engagement: ``counts`` (implicit feedback: positive integer play counts) or ``ratings`` (explicit: 1-5).
        timestamps: give friend edges (and engagements) int64 unix-second times.
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
    items: int = 0
    engagements_per_user: float = 20.0
    engagement: str = "counts"
    timestamps: bool = False

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
        if self.items < 0:
            raise ValueError(f"items must be 0 or more, got {self.items}")
        if not self.engagements_per_user >= 1.0:
            raise ValueError(f"engagements_per_user must be at least 1, got {self.engagements_per_user}")
        if self.engagement not in _ENGAGEMENTS:
            raise ValueError(f"engagement must be one of {', '.join(_ENGAGEMENTS)}, got {self.engagement!r}")

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


def _item_traits(seed: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    """Item topic words and genre of communities ``0..c-1``; like :func:`_community_traits`, row ``i`` does not
    depend on ``c``."""
    words = np.random.default_rng([seed, 6]).integers(0, _POOL, size=(c, _ITEM_TOPIC_WORDS))
    genre = np.random.default_rng([seed, 7]).integers(0, len(_GENRES), size=c)
    return words, genre


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
        keys = np.union1d(keys, unordered_keys(e, n))
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

    User ids are ``1..users`` (so ids and rows differ by one, which catches id/row mix-ups); item ids start above
    every user id (``10**max(6, digits(users)) + 1 ...``), so a user id passed as an item id is unknown. The
    planted community of each user and item is the ``community`` column of its attribute frame (role ``ignore``).
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
    # Everything below draws from generators of its own, after the rest, so that the default graph stays the same.
    content = _content(cfg, community, theta) if cfg.items > 0 else {}
    join = _join_times(cfg) if cfg.timestamps else None
    friend_time = _friend_times(cfg, friends, community, join) if join is not None else None
    if join is not None and cfg.items > 0:
        content["engagement_time"] = _engagement_times(cfg, content["engagements"], join)
    name = f"synth-{n}-d{cfg.mean_degree:g}-s{cfg.seed}" + (f"-i{cfg.items}" if cfg.items else "")
    return SocialGraph(user_ids=np.arange(1, n + 1, dtype=np.int64), friends=friends, friend_time=friend_time,
                       user_attrs=AttributeTable(frame, roles), blocked=blocked, name=name, **content)


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
    pairs = pairs[~pair_member(pair_keys(friends, n), keys[:, 0], keys[:, 1], n)]
    return pairs if len(pairs) else None


# ------------------------------------------------------------------------------------------------ content
def _content(cfg: SynthConfig, community: np.ndarray, theta: np.ndarray) -> dict:
    """Items, their attributes and the engagements (steps 6-8), as :class:`SocialGraph` keyword arguments."""
    rng = np.random.default_rng([cfg.seed, 10])
    c, m = cfg.num_communities, cfg.items
    share = np.bincount(community, minlength=c).astype(np.float64)
    item_comm = rng.choice(c, size=m, p=share / share.sum())
    pop = np.minimum(rng.pareto(_ITEM_TAIL - 1.0, m) + 1.0, np.sqrt(m) * 4)  # no item is everyone's
    frame = _item_attributes(cfg, item_comm, rng)
    rng = np.random.default_rng([cfg.seed, 11])
    pairs = _engagements(cfg, community, theta, item_comm, pop, rng)
    same = community[pairs[:, 0]] == item_comm[pairs[:, 1]]
    value = (_counts if cfg.engagement == "counts" else _ratings)(pairs, same, theta, pop, rng)
    base = 10 ** max(6, len(str(cfg.users)))
    return {"item_ids": np.arange(base + 1, base + m + 1, dtype=np.int64),
            "item_attrs": AttributeTable(frame, {"title": Role.TEXT, "genre": Role.CATEGORICAL,
                                                 "tags": Role.MULTIHOT}),
            "engagements": pairs, "engagement_value": value}


def _item_attributes(cfg: SynthConfig, item_comm: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """``title``, ``genre``, ``tags`` drawn mostly from each item's community (step 6), plus ``community``."""
    m, h = len(item_comm), cfg.homophily
    pool = _vocabulary(cfg.seed).astype(object)
    words, genre = _item_traits(cfg.seed, cfg.num_communities)
    tags = _community_traits(cfg.seed, cfg.num_communities)[2]

    lo, hi = _TITLE_WORDS
    own = rng.random((m, hi)) < h
    w = np.where(own, words[item_comm[:, None], rng.integers(0, _ITEM_TOPIC_WORDS, (m, hi))],
                 rng.integers(0, _POOL, (m, hi)))
    length = rng.integers(lo, hi + 1, m)
    title = pd.Series(pool[w[:, 0]], dtype=object)
    for j in range(1, hi):  # word j only where the title is long enough
        longer = title + " " + pd.Series(pool[w[:, j]], dtype=object)
        title = title.where(length <= j, longer)

    genres = np.where(rng.random(m) < h, genre[item_comm], rng.integers(0, len(_GENRES), m))
    own_t = rng.random((m, _ITEM_TAGS)) < h
    t = np.where(own_t, tags[item_comm[:, None], rng.integers(0, _TOPIC_TAGS, (m, _ITEM_TAGS))],
                 rng.integers(0, _TAGS, (m, _ITEM_TAGS)))
    tag_names = np.char.add("tag", np.arange(_TAGS).astype(str))
    item_tags = [sorted(set(row)) for row in tag_names[t].tolist()]

    frame = pd.DataFrame({"title": title, "genre": pd.Series(_GENRES[genres], dtype=object),
                          "tags": pd.Series(item_tags, dtype=object), "community": item_comm.astype(np.int64)})
    if cfg.missing > 0:
        for col in ("title", "genre", "tags"):
            frame.loc[rng.random(m) < cfg.missing, col] = None
    return frame


def _engagements(cfg: SynthConfig, community: np.ndarray, theta: np.ndarray, item_comm: np.ndarray,
                 pop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Distinct ``(user row, item row)`` pairs sorted by user then item (step 7)."""
    n, m, c = cfg.users, cfg.items, cfg.num_communities
    extra = (cfg.engagements_per_user - 1.0) * theta / theta.mean()
    want = np.minimum(1 + rng.poisson(extra), max(1, m // 2))  # half the items at most: draws stay distinct
    order = np.argsort(item_comm, kind="stable")
    cum = np.cumsum(pop[order])
    starts = np.searchsorted(item_comm[order], np.arange(c))
    ends = np.r_[starts[1:], m]
    has_items = ends > starts  # a user of a community without items draws from all of them
    keys = np.zeros(0, np.int64)
    need = want
    for _ in range(6):
        u = np.repeat(np.arange(n, dtype=np.int64), 2 * need)  # twice the need: popular items repeat
        cu = community[u]
        inside = (rng.random(len(u)) < cfg.homophily) & has_items[cu]
        i = order[_draw(cum, np.where(inside, starts[cu], 0), np.where(inside, ends[cu], m), rng)]
        new, first = np.unique(u * m + i, return_index=True)
        fresh = ~np.isin(new, keys, assume_unique=True)
        # in draw order: a user keeps the first distinct items drawn, as if duplicates were redrawn on the spot
        new = new[fresh][np.argsort(first[fresh], kind="stable")]
        keys = np.sort(np.r_[keys, _first_per_user(new, m, need)])  # disjoint: no union needed
        need = want - np.bincount(keys // m, minlength=n)
        if need.sum() <= 0.001 * want.sum():  # the rest are users whose share is hard to fill
            break
    return np.stack([keys // m, keys % m], 1)


def _first_per_user(keys: np.ndarray, m: int, need: np.ndarray) -> np.ndarray:
    """The first ``need[u]`` of the pair keys ``u * m + i`` of each user ``u`` (keys grouped by user, in order)."""
    user = keys // m
    rank = np.arange(len(keys)) - np.searchsorted(user, user)  # position inside the user's run
    return keys[rank < need[user]]


def _counts(pairs: np.ndarray, same: np.ndarray, theta: np.ndarray, pop: np.ndarray,
            rng: np.random.Generator) -> np.ndarray:
    """Log-normal play counts, higher in one's own community and for active users (step 8)."""
    user_bias = 0.3 * np.log(theta) + rng.normal(0.0, 0.5, len(theta))
    x = rng.normal(3.0 + 0.8 * same + user_bias[pairs[:, 0]], 1.0)
    return np.floor(np.exp(np.minimum(x, 15.0))) + 1.0  # the cap keeps counts finite and below 2**53


def _ratings(pairs: np.ndarray, same: np.ndarray, theta: np.ndarray, pop: np.ndarray,
             rng: np.random.Generator) -> np.ndarray:
    """1-5 stars, higher in one's own community and for popular items (step 8)."""
    lp = np.log(pop)
    item_bias = 0.3 * (lp - lp.mean()) / (lp.std() + 1e-9) + rng.normal(0.0, 0.3, len(pop))
    user_bias = rng.normal(0.0, 0.4, len(theta))
    z = 3.1 + 0.9 * same + user_bias[pairs[:, 0]] + item_bias[pairs[:, 1]] + rng.normal(0.0, 0.8, len(pairs))
    return np.clip(np.round(z), 1.0, 5.0)


# ------------------------------------------------------------------------------------------------ times
def _join_times(cfg: SynthConfig) -> np.ndarray:
    """When each user joined: uniform over the first 70 % of the window (step 9)."""
    rng = np.random.default_rng([cfg.seed, 12])
    return _T0 + (0.7 * (_T1 - _T0) * rng.random(cfg.users)).astype(np.int64)


def _friend_times(cfg: SynthConfig, friends: np.ndarray, community: np.ndarray, join: np.ndarray) -> np.ndarray:
    """A friendship forms after both users joined, sooner inside a community (step 9)."""
    rng = np.random.default_rng([cfg.seed, 13])
    start = np.maximum(join[friends[:, 0]], join[friends[:, 1]])
    same = community[friends[:, 0]] == community[friends[:, 1]]
    frac = rng.beta(1.0, np.where(same, 4.0, 2.0)) if len(friends) else np.zeros(0)
    return start + ((_T1 - 1 - start) * frac).astype(np.int64)


def _engagement_times(cfg: SynthConfig, pairs: np.ndarray, join: np.ndarray) -> np.ndarray:
    """An engagement happens after the user joined and the item was released (step 9)."""
    rng = np.random.default_rng([cfg.seed, 14])
    release = _T0 + (0.8 * (_T1 - _T0) * rng.random(cfg.items)).astype(np.int64)
    start = np.maximum(join[pairs[:, 0]], release[pairs[:, 1]])
    return start + ((_T1 - 1 - start) * rng.beta(1.0, 3.0, len(pairs))).astype(np.int64)


def write_synthetic(config: SynthConfig, out: Union[str, os.PathLike], *, format: Optional[str] = None,
                    overwrite: bool = False) -> Path:
    """Generate and write a data folder (Parquet from 100,000 users on, or as ``format`` says)."""
    from socialgraph.data.folder import write_folder

    graph = generate(config)
    fmt = format or ("parquet" if config.users >= 100_000 else "csv")
    return write_folder(graph, out, format=fmt, overwrite=overwrite)
