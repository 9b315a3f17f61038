"""Configuration of the model: encoder inputs, fusion, attention layers, heads and loss weights."""
from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Literal

from socialgraph.config import check_fields, setting



@dataclass
class ModelConfig:
    """Architecture.

    Attributes:
        dim: width of fused user/item vectors and node states.
        layers: attention message-passing layers.
        heads: attention heads per layer.
        conv: ``gat`` (GATv1's additive attention), ``gatv2``, ``transformer`` or ``mean`` (no attention;
            ablation). ``gat`` by default: its scores split into one term per end, so no per-edge feature vector
            is formed, and on the CPU its messages are summed as sparse-matrix products
            (:class:`~socialgraph.model.sparse_gat.SparseGATConv`). Two layers' forward and backward pass on
            musae-facebook, 2 threads: 0.11 s, against 0.39 s for PyG's GATConv and 0.83 s for GATv2; it reached
            the same test Hits@50 as GATv2 with the default schedule (see ``TrainConfig.lr``).
        dropout: dropout in the graph layers and heads.
        fusion: ``attention``, ``sum`` or ``concat`` (see :mod:`socialgraph.model.fusion`).
        modality_dropout: probability of hiding a whole modality of a user during training.
        id_embedding: learn a free vector per user (off by default: on Last.fm it overfits, test Hits@50 0.305
            with it and 0.334 without; users of a featureless graph always get one, new users never do). Items
            always get one: collaborative filtering needs the identity of content.
        hetero: make content items nodes with engagement edges when the graph has engagements (off by default:
            it costs three convolutions per layer, while the interaction-history modality already brings what
            users engaged with into their input vectors).
        link_common_neighbours / link_structure: parts of the link scorer (see :mod:`~.heads.link`).
        link_feature_similarity: which pairs the scorer's raw per-modality similarity reaches: ``off``, ``cold``
            (only pairs with a friendless end) or ``all`` (``true`` / ``false`` in older configurations read as
            ``all`` / ``off``). For every pair it hurts: on musae-facebook through ``lp_check.py`` it lets pages
            with look-alike names and no common friend into the top 50 (test Hits@50 0.768 with it, 0.881
            without). It helps users with no friends at all (a synthetic newcomer's suggestions in its planted
            community, 8-epoch model, two seeds: 0.81 off, 0.87 all, 0.88 cold).
        link_completion: one-sided neighbours per end that the scorer pools as soft common neighbours (NCNC's
            completion, see :mod:`~.heads.link`); 0 switches it off. Off by default: through ``lp_check.py`` with K
            6, means over seeds, ego-facebook 0.858 -> 0.861, twitch-engb 0.420 -> 0.427, Last.fm 0.306 -> 0.301,
            musae-facebook 0.881 -> 0.883 (one seed), all within the seed spread. Training costs about 4 % more;
            scoring about half the pairs a second (164k against 314k friends-of-friends pairs/s, one thread).
        link_spectral: width ``k`` of the users' spectral positions in the training graph, whose products the link
            scorer reads (see :mod:`~.spectral`); 0 switches them off. On by default: SEAL power grid test AUC
            76.9 -> 90.8, ego-facebook Hits@50 through ``lp_check.py`` 0.858 -> 0.869 (two seeds), twitch-engb,
            Last.fm, musae-facebook and the other SEAL and Planetoid graphs within their seed spread
            (``docs/experiments.md``, round 8). Training computes them once per step fold (eleven eigenproblems:
            0.8 s each on 22,000 users, 12.6 s on 100,000); scoring about 15 % fewer candidate pairs a second.
        link_hidden: width of the link scorer's MLP.
        link_autoencoder: width ``d`` of the graph-autoencoder states appended to the users' positions (see
            :mod:`~.autoencoder` and :mod:`socialgraph.train.autoencoder`); 0 switches them off. Off by default: it
            costs one autoencoder fit for the training graph and one per step fold (eleven; on Last.fm 12 s each;
            the ``seal`` suite's C.elegans fit took 50 s beside other jobs instead of 9) and, measured through
            ``lp_check.py`` (``docs/experiments.md``, rounds 10 and 11), it moves no graph beyond its seed spread.
            With 32: Last.fm 0.320 / 0.301 / 0.299 (seeds 0 / 1 / 2) against 0.297 / 0.301 / 0.297 without,
            twitch-engb 0.411 / 0.424 against 0.423 / 0.404, ego-facebook 0.866 / 0.867 against 0.871 / 0.867,
            musae-facebook 0.878 against 0.881 / 0.878.
    """

    dim: int = setting(64, ge=1)
    layers: int = setting(2, ge=0)
    heads: int = setting(2, ge=1)
    conv: Literal["gat", "gatv2", "transformer", "mean"] = "gat"
    dropout: float = setting(0.1, ge=0, lt=1)
    fusion: Literal["attention", "sum", "concat"] = "attention"
    modality_dropout: float = setting(0.1, ge=0, lt=1)
    id_embedding: bool = False
    hetero: bool = False
    link_common_neighbours: bool = True
    link_structure: bool = True
    # Bundles and configurations written before the scopes existed hold a boolean here.
    link_feature_similarity: Literal["off", "cold", "all"] = setting("off", aliases={True: "all", False: "off"})
    link_completion: int = setting(0, ge=0)
    link_spectral: int = setting(32, ge=0)
    link_hidden: int = setting(128, ge=1)
    link_autoencoder: int = setting(0, ge=0)

    def __post_init__(self) -> None:
        check_fields(self)


SIMILARITY_SCOPES = typing.get_args(typing.get_type_hints(ModelConfig)["link_feature_similarity"])


@dataclass
class LossConfig:
    """Weights of the jobs trained together (0 switches a job off). ``learned=True`` learns them instead
    (uncertainty weighting, Kendall et al. 2018): :math:`\\sum_t e^{-s_t} \\mathcal{L}_t + s_t`, starting from the
    given weights.

    The defaults favour the friendship task. Measured on lastfm-hetrec-2k (protocol split, seed 0), engagement at
    0.5 with reconstruction at 0.1 cost about 0.05 test Hits@50 against links alone; the auxiliary heads keep small
    weights so they shape the shared representation without pulling it away from links.

    Attributes:
        link: friendship link prediction (binary cross-entropy against uniform non-edges).
        engagement: user-item engagement (ranking loss for counts, squared error for ratings).
        preference: content-category distribution of each user (soft-target cross-entropy).
        feature_reconstruction: rebuild each input modality from the user state (cosine loss).
        adjacency_reconstruction: inner-product graph-autoencoder loss on the user states.
        learned: learn the weights (uncertainty weighting) instead of fixing them.
    """

    link: float = setting(1.0, ge=0)
    engagement: float = setting(0.1, ge=0)
    preference: float = setting(0.05, ge=0)
    feature_reconstruction: float = setting(0.01, ge=0)
    adjacency_reconstruction: float = setting(0.01, ge=0)
    learned: bool = False

    def __post_init__(self) -> None:
        check_fields(self)
