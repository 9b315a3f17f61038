"""The model's parts on real inputs: fusion with missing modalities, heterogeneous message passing, link scorer.

Graph-level tests run on Last.fm where the data root has it and everywhere on the synthetic social graph with items
(tests/shipped.py: every modality, engagements, missing values)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from shipped import SYNTH_SOCIAL, graph as load_graph, pick
from socialgraph.data import load
from socialgraph.data.adjacency import adjacency_from_edges
from socialgraph.model.config import ModelConfig
from socialgraph.model.fusion import ModalityFusion
from socialgraph.model.graph_encoder import ENGAGES, FRIEND, REV_ENGAGES, GraphEncoder
from socialgraph.model.pairwise import NUM_PAIR_FEATURES, pair_structure
from socialgraph.model.social_model import ModelShape, NodeInputs, SocialModel
from socialgraph.model.spectral import spectral_positions
from socialgraph.bundle.config import Config
from socialgraph.bundle.inputs import encode_graph


@pytest.fixture(scope="module")
def lastfm():
    return load_graph(pick("lastfm-hetrec-2k", SYNTH_SOCIAL))


@pytest.fixture(scope="module")
def lastfm_inputs(lastfm):
    encoded = encode_graph(lastfm, Config().encoders)
    positions = spectral_positions(adjacency_from_edges(lastfm.friends, lastfm.num_users), ModelConfig().link_spectral)
    return replace(encoded, users=replace(encoded.users, positions=torch.from_numpy(positions)))


@pytest.mark.parametrize("mode", ["attention", "sum", "concat"])
@torch.no_grad()
def test_fusion_copes_with_missing_modalities(lastfm_inputs, mode):
    users = lastfm_inputs.users
    dims = {m: int(v.shape[1]) for m, v in users.x.items()}
    fusion = ModalityFusion(dims, 32, mode=mode, dropout=0.0).eval()
    mask = {m: v.clone() for m, v in users.mask.items()}
    for m in mask:  # user 0 loses everything, user 1 keeps one modality
        mask[m][0] = False
        mask[m][1] = m == "interactions"
    out = fusion(users.x, mask)
    assert out.shape == (users.num, 32) and torch.isfinite(out).all()
    w = fusion.weights(users.x, mask)
    names = ["<fallback>", *fusion.names]
    assert torch.allclose(w.sum(1), torch.ones(users.num), atol=1e-5)
    # A missing modality never gets weight; a user without any modality rests on the fallback token alone.
    assert float(w[0, 0]) == pytest.approx(1.0)
    missing = ~torch.stack([mask[m] for m in fusion.names], 1)
    assert (w[:, 1:][missing] == 0).all()
    assert w[1, names.index("interactions")] > 0
    # Changing a missing modality's values does not change the output (it is masked, not zero-filled).
    x2 = {m: v.clone() for m, v in users.x.items()}
    x2["interactions"][0] += 100.0
    assert torch.allclose(fusion(x2, mask)[0], out[0])


@torch.no_grad()
def test_attention_fusion_weights_differ_between_users(lastfm_inputs):
    users = lastfm_inputs.users
    fusion = ModalityFusion({m: int(v.shape[1]) for m, v in users.x.items()}, 32).eval()
    w = fusion.weights(users.x, users.mask)
    assert w.std(0).max() > 1e-4


def test_hetero_forward_backward(lastfm, lastfm_inputs):
    g = lastfm
    shape = ModelShape(num_users=g.num_users, user_dims={m: v.shape[1] for m, v in lastfm_inputs.users.x.items()},
                       num_items=g.num_items,
                       item_dims={m: v.shape[1] for m, v in lastfm_inputs.items.x.items()})
    model = SocialModel(ModelConfig(dim=32, hetero=True, link_feature_similarity="all"), shape)
    f = torch.from_numpy(g.friends.T.copy())
    e = torch.from_numpy(g.engagements.T.copy())
    ei = {FRIEND: torch.cat([f, f.flip(0)], 1), ENGAGES: e, REV_ENGAGES: e.flip(0)}
    z = model(lastfm_inputs.users, ei, lastfm_inputs.items)
    assert z["user"].shape == (g.num_users, 32) and z["item"].shape == (g.num_items, 32)
    pairs = g.friends[:64]
    adj = adjacency_from_edges(g.friends, g.num_users)
    logits = model.score_links(z["user"], torch.from_numpy(pairs), pair_structure(adj, pairs), lastfm_inputs.users)
    u, i = torch.from_numpy(g.engagements[:64, 0]), torch.from_numpy(g.engagements[:64, 1])
    loss = logits.sum() + model.engagement(z["user"], z["item"], u, i).sum()
    loss.backward()
    # Gradients reach the item-side fusion only through the engagement edges of the heterogeneous layers.
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.item_fusion.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.encoder.parameters())
    # the optional feature-similarity branch and the spectral positions' part are trained through the link loss
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.link.similarity.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.link.position.parameters())


def test_new_users_get_embeddings_without_id_vectors(lastfm, lastfm_inputs):
    g = lastfm
    shape = ModelShape(num_users=g.num_users, user_dims={m: v.shape[1] for m, v in lastfm_inputs.users.x.items()})
    model = SocialModel(ModelConfig(dim=32, id_embedding=True), shape).eval()
    users = lastfm_inputs.users
    unknown = NodeInputs(users.num, users.x, users.mask, torch.zeros(users.num, dtype=torch.bool))
    f = torch.from_numpy(g.friends.T.copy())
    ei = {FRIEND: torch.cat([f, f.flip(0)], 1)}
    with torch.no_grad():
        z_known = model(users, ei)["user"]
        z_new = model(unknown, ei)["user"]
    assert torch.isfinite(z_new).all()
    assert not torch.allclose(z_known, z_new)  # the id vectors were really left out


def test_pair_structure_matches_heuristics(lastfm):
    from socialgraph.eval.heuristics import score_pairs

    adj = adjacency_from_edges(lastfm.friends, lastfm.num_users)
    rng = np.random.default_rng(0)
    pairs = np.r_[lastfm.friends[:200], rng.integers(0, lastfm.num_users, (200, 2))]
    s = pair_structure(adj, pairs)
    cn = np.expm1(s.features[:, 0].numpy())
    np.testing.assert_allclose(cn, score_pairs(adj, pairs, "cn"), rtol=1e-4, atol=1e-4)
    aa = np.expm1(s.features[:, 1].numpy())
    np.testing.assert_allclose(aa, score_pairs(adj, pairs, "aa"), rtol=1e-4, atol=1e-4)
    # The walk features are the 2- and 3-step transition probabilities of P = D^-1 A, both directions summed.
    dense = adj.toarray().astype(np.float64)
    p1 = dense / np.maximum(dense.sum(1, keepdims=True), 1)
    p2, p3 = p1 @ p1, p1 @ p1 @ p1
    u, v = pairs[:, 0], pairs[:, 1]
    np.testing.assert_allclose(np.expm1(s.features[:, 7].numpy()) / 100, p2[u, v] + p2[v, u], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(np.expm1(s.features[:, 8].numpy()) / 100, p3[u, v] + p3[v, u], rtol=1e-4, atol=1e-7)
    # Common-neighbour pooling rows hold exactly the common neighbours.
    dense = s.common.to_dense().numpy() > 0
    a = adj.toarray() > 0
    np.testing.assert_array_equal(dense, a[pairs[:, 0]] & a[pairs[:, 1]])


def test_pair_structure_kernels_equal_scipy_formulation(lastfm):
    """The compiled kernels give bit-identical features and pooling rows to the scipy sparse formulation, for pairs
    in any order, repeated first users, hubs, isolated users and self pairs."""
    from socialgraph.model.pairwise import _pair_structure_scipy

    adj = adjacency_from_edges(lastfm.friends, lastfm.num_users)
    deg = np.diff(adj.indptr)
    hubs = np.argsort(-deg, kind="stable")[:20]
    rng = np.random.default_rng(1)
    u = rng.integers(0, lastfm.num_users, 50)
    pairs = np.r_[rng.integers(0, lastfm.num_users, (300, 2)), np.stack(np.meshgrid(hubs, hubs), -1).reshape(-1, 2),
                  np.stack([np.repeat(u, 8), rng.integers(0, lastfm.num_users, 400)], 1), [[3, 3]],
                  lastfm.friends[:100]]
    pairs = pairs[rng.permutation(len(pairs))]
    a = pair_structure(adj, pairs)
    b = _pair_structure_scipy(adj, pairs, deg.astype(np.float32))
    # Counts and float32 sums are bit-identical; the weighted 3-walk adds float64 terms in another order.
    assert np.array_equal(a.features.numpy()[:, :8], b.features.numpy()[:, :8])
    np.testing.assert_allclose(a.features.numpy()[:, 8], b.features.numpy()[:, 8], rtol=1e-6)
    assert torch.equal(a.common.indices(), b.common.indices()) and torch.equal(a.common.values(), b.common.values())
    assert pair_structure(adj, pairs[:0]).features.shape == (0, NUM_PAIR_FEATURES)
    c = pair_structure(adj, pairs[:40])  # a second call on the same graph: the same numbers
    assert np.array_equal(c.features.numpy()[:, :8], b.features.numpy()[:40, :8])
    np.testing.assert_allclose(c.features.numpy(), a.features.numpy()[:40], rtol=1e-6)


@pytest.mark.parametrize("kernels", [True, False])
def test_pair_structure_leave_out_equals_graph_without_the_edge(lastfm, kernels, monkeypatch):
    """A pair marked ``leave_out`` is described exactly as on the graph without its own edge (every other edge
    kept), with the compiled kernels and with the scipy formulation; unmarked pairs are unchanged."""
    from socialgraph.model import pairwise

    if not kernels:
        monkeypatch.setattr(pairwise, "_kernels", None)
    edges = np.unique(np.sort(lastfm.friends, 1), axis=0)
    adj = adjacency_from_edges(edges, lastfm.num_users)
    deg = np.diff(adj.indptr)
    rng = np.random.default_rng(2)
    hub = np.flatnonzero(edges[:, 0] == np.argmax(deg))[:3]  # the hub's edges: big corrections
    pick = np.r_[rng.choice(len(edges), 12, replace=False), hub]
    neg = rng.integers(0, lastfm.num_users, (5, 2))
    pairs = np.r_[edges[pick], neg]
    got = pair_structure(adj, pairs, leave_out=np.arange(len(pairs)) < len(pick)).features.numpy()
    for row, i in enumerate(pick):
        without = adjacency_from_edges(np.delete(edges, i, axis=0), lastfm.num_users)
        np.testing.assert_allclose(got[row], pair_structure(without, edges[i:i + 1]).features.numpy()[0],
                                   rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[len(pick):], pair_structure(adj, neg).features.numpy(), rtol=1e-6)
    assert not np.allclose(got[:len(pick)], pair_structure(adj, edges[pick]).features.numpy())
    with pytest.raises(ValueError, match="entries for"):
        pair_structure(adj, pairs, leave_out=np.ones(3, bool))


@pytest.mark.parametrize("kernels", [True, False])
def test_one_sided_neighbours(lastfm, kernels, monkeypatch):
    """``completion=K`` lists, per end, the neighbours that are neither common nor the other end: all of them when
    K is large, else the K of lowest degree; compiled kernel and scipy formulation agree."""
    from socialgraph.model import pairwise

    if not kernels:
        monkeypatch.setattr(pairwise, "_kernels", None)
    adj = adjacency_from_edges(lastfm.friends, lastfm.num_users)
    deg = np.diff(adj.indptr)
    a = adj.toarray() > 0
    rng = np.random.default_rng(3)
    pairs = np.r_[lastfm.friends[:60], rng.integers(0, lastfm.num_users, (60, 2))]
    for k in (10_000, 3):
        got = pair_structure(adj, pairs, completion=k).one_sided.numpy()
        # pair by pair, the first end's side before the second's, ids increasing within a side (the scorer's CSR)
        side = (got[2] == pairs[got[0], 0]).astype(np.int64)
        key = (2 * got[0] + side) * lastfm.num_users + got[1]
        assert np.all(np.diff(key) > 0)
        for p, (u, v) in enumerate(pairs):
            for end, other in ((u, v), (v, u)):
                want = set(np.flatnonzero(a[end] & ~a[other])) - {other}
                mine = got[1][(got[0] == p) & (got[2] == other)]
                assert len(set(mine)) == len(mine) == min(k, len(want))
                assert set(mine) <= want  # never a common neighbour, never the other end itself
                if len(want) > k:  # the lowest-degree ones
                    assert deg[mine].max() <= min(deg[w] for w in want - set(mine))
    assert pair_structure(adj, pairs).one_sided is None
    with pytest.raises(ValueError, match="completion must be >= 0"):
        pair_structure(adj, pairs, completion=-1)


def test_completion_scorer_trains_and_needs_its_neighbours(lastfm_inputs, lastfm):
    shape = ModelShape(num_users=lastfm.num_users,
                       user_dims={m: v.shape[1] for m, v in lastfm_inputs.users.x.items()})
    model = SocialModel(ModelConfig(dim=16, link_completion=4), shape)
    adj = adjacency_from_edges(lastfm.friends, lastfm.num_users)
    ei = {FRIEND: torch.from_numpy(np.r_[lastfm.friends, lastfm.friends[:, ::-1]].T.copy())}
    pairs = np.r_[lastfm.friends[:64], np.random.default_rng(0).integers(0, lastfm.num_users, (64, 2))]
    z = model(lastfm_inputs.users, ei)["user"]
    logits = model.score_links(z, torch.from_numpy(pairs), pair_structure(adj, pairs, completion=4),
                               lastfm_inputs.users)
    logits.sum().backward()
    assert model.link.completion_gate.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="completes common neighbours"):
        model.score_links(z, torch.from_numpy(pairs), pair_structure(adj, pairs), lastfm_inputs.users)


def test_soft_common_neighbours_match_their_formula(lastfm):
    """The scorer's sparse formulation of NCNC's pool equals the formula written with gathers, in values and in
    gradients, whether the one-sided lists come sorted (pair_structure) or not (ids renumbered, as neighbour-sampled
    training does)."""
    from socialgraph.model.heads.link import LinkScorer

    torch.manual_seed(0)
    n = lastfm.num_users
    adj = adjacency_from_edges(lastfm.friends, n)
    rng = np.random.default_rng(1)
    pairs = np.r_[lastfm.friends[:200], rng.integers(0, n, (200, 2))]
    scorer = LinkScorer(16, use_completion=True)
    perm = torch.from_numpy(rng.permutation(n))
    for renumber in (False, True):
        one_sided = pair_structure(adj, pairs, completion=5).one_sided
        p = torch.from_numpy(pairs)
        if renumber:
            one_sided, p = torch.stack([one_sided[0], perm[one_sided[1]], perm[one_sided[2]]]), perm[p]
            assert not bool((one_sided[1][1:] > one_sided[1][:-1]).all())
        z = torch.randn(n, 16, requires_grad=True)
        row, w, other = one_sided
        gate = torch.sigmoid(scorer.completion_gate(z[w] * z[other]))
        count = torch.bincount(row, minlength=len(p)).clamp_min(1).float().sqrt().unsqueeze(1)
        want = torch.zeros(len(p), 16).index_add(0, row, gate * z[w]) / count
        got = scorer._soft_common(z, p, one_sided)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
        g_want = torch.autograd.grad(want.square().sum(), [z, scorer.completion_gate.weight])
        g_got = torch.autograd.grad(got.square().sum(), [z, scorer.completion_gate.weight])
        for a, b in zip(g_got, g_want):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_graph_encoder_mean_has_no_attention():
    enc = GraphEncoder(16, num_layers=1, conv="mean")
    x = {"user": torch.randn(4, 16)}
    ei = {FRIEND: torch.tensor([[0, 1, 2], [1, 2, 3]])}
    assert enc.friend_attention(x, ei) is None
    att = GraphEncoder(16, num_layers=2, heads=2).friend_attention(x, ei)
    assert att is not None and att[1].shape[1] == 2


def test_rating_baselines_match_shrunk_means_on_movielens():
    """The engagement head's fixed rating baselines: with the learned part at zero it predicts the shrunk
    user + item baseline, which beats the training mean and the shrunk item mean on held-out MovieLens ratings."""
    from socialgraph.bench.recsys import item_mean
    from socialgraph.data.splits import split_engagements
    from socialgraph.eval.metrics import rmse
    from socialgraph.model.heads.engagement import EngagementHead

    g = load_graph(pick("movielens-100k", "synth-ratings"))
    split = split_engagements(g, "per_user", val=0.0, test=0.10, seed=0)
    e, v = g.engagements, g.engagement_value.astype(np.float64)
    head = EngagementHead(8, g.num_users, g.num_items)
    torch.nn.init.zeros_(head.user.weight)
    head.set_baseline(e[split.train, 0], e[split.train, 1], v[split.train])
    assert float(head.base_mu) == pytest.approx(v[split.train].mean())
    test = e[split.test]
    zu, zi = torch.randn(g.num_users, 8), torch.randn(g.num_items, 8)
    with torch.no_grad():
        pred = head(zu, zi, torch.from_numpy(test[:, 0]), torch.from_numpy(test[:, 1])).numpy()
        grid = head.all_items(zu, zi, torch.from_numpy(test[:5, 0]))
    assert np.allclose(grid.numpy()[np.arange(5), test[:5, 1]], pred[:5], atol=1e-5)
    truth = v[split.test]
    assert rmse(pred, truth) < rmse(item_mean(g, split.train)[test[:, 1]], truth) < \
        rmse(np.full(len(truth), v[split.train].mean()), truth)
    # Fitted on held-out ratings, the weight of an interaction term that is pure noise goes to (nearly) zero.
    torch.nn.init.normal_(head.user.weight, std=0.5)
    val = e[split.train[::10]]
    head.fit_weights(zu, zi, torch.from_numpy(val[:, 0]), torch.from_numpy(val[:, 1]),
                     torch.from_numpy(v[split.train[::10]].astype(np.float32)))
    assert 0 <= float(head.gamma[0]) < 0.1
    with torch.no_grad():
        shrunk = head(zu, zi, torch.from_numpy(test[:, 0]), torch.from_numpy(test[:, 1])).numpy()
    assert rmse(shrunk, truth) < rmse(pred, truth) + 0.01
    # a user added after training (row past the trained ones, or marked unknown) gets no user baseline
    with torch.no_grad():
        unknown = head.all_items(zu, zi, torch.tensor([0]), known=torch.tensor([False]))[0]
        plain = head.all_items(zu, zi, torch.tensor([0]))[0]
    assert torch.allclose(plain - unknown, (head.base_user[0] + head.user_bias.weight[0, 0]).expand_as(plain))


@torch.no_grad()
def test_cold_similarity_reaches_only_pairs_with_a_friendless_end(lastfm_inputs, lastfm):
    """``link_feature_similarity: cold``: the raw similarity moves the logit of a pair with a friendless end and no
    other pair."""
    users = lastfm_inputs.users
    shape = ModelShape(num_users=lastfm.num_users, user_dims={m: v.shape[1] for m, v in users.x.items()})
    model = SocialModel(ModelConfig(dim=16, link_feature_similarity="cold"), shape).eval()
    lonely = int(lastfm.friends[0, 0])  # loses every friend, as a newcomer has none
    edges = lastfm.friends[(lastfm.friends != lonely).all(1)]
    adj = adjacency_from_edges(edges, lastfm.num_users)
    deg = np.diff(adj.indptr)
    rng = np.random.default_rng(0)
    others = rng.choice(np.flatnonzero(deg > 0), size=(40, 2))
    pairs = np.r_[others, [[lonely, int(others[0, 0])], [int(others[1, 1]), lonely]]]
    z = torch.randn(lastfm.num_users, 16)
    structure = pair_structure(adj, pairs)
    sim = torch.rand(len(pairs), 2 * len(users.x))
    base = model.link(z, torch.from_numpy(pairs), structure, sim, users.positions)
    moved = model.link(z, torch.from_numpy(pairs), structure, sim + 1.0, users.positions)
    changed = (base - moved).abs() > 1e-6
    assert not changed[:40].any() and changed[40:].all()


def test_feature_similarity_scope_is_checked_and_reads_old_booleans():
    assert ModelConfig(link_feature_similarity=True).link_feature_similarity == "all"
    assert ModelConfig(link_feature_similarity=False).link_feature_similarity == "off"
    with pytest.raises(ValueError, match="link_feature_similarity must be one of"):
        ModelConfig(link_feature_similarity="sometimes")


def test_graph_autoencoder_learns_lastfm(lastfm):
    from socialgraph.data.protocol import benchmark_split
    from socialgraph.eval.link import evaluate_link_scores
    from socialgraph.model.autoencoder import GraphAutoencoder
    from socialgraph.train.autoencoder import autoencoder_states, fit_graph_autoencoder

    split = benchmark_split(lastfm, seed=0)
    model = fit_graph_autoencoder(lastfm.num_users, split.train, split.val, split.negatives[:2000], epochs=60)
    g = autoencoder_states(model, split.train)
    test = evaluate_link_scores(GraphAutoencoder.score(g, torch.from_numpy(split.test)).numpy(),
                                GraphAutoencoder.score(g, torch.from_numpy(split.negatives)).numpy())
    assert test["auc"] > 0.85  # a random vector per user gives 0.5
    with pytest.raises(ValueError, match="conv must be"):
        GraphAutoencoder(4, 8, conv="gat")


def test_held_out_autoencoder_positions_never_saw_their_fold(lastfm):
    from socialgraph.train.autoencoder import autoencoder_positions, held_out_autoencoder_positions

    edges, n = lastfm.undirected_pairs(), lastfm.num_users
    folds = np.random.default_rng(0).integers(0, 2, len(edges))
    full = autoencoder_positions(edges, n, 16, rms=0.1, epochs=60)
    assert full.shape == (n, 16) and np.sqrt(np.mean(full.astype(np.float64) ** 2)) == pytest.approx(0.1, rel=1e-3)
    held = held_out_autoencoder_positions(edges, n, folds, full, epochs=60)
    assert held.shape == (2, n, 16)

    def dots(p, pairs):
        return (p[pairs[:, 0]] * p[pairs[:, 1]]).sum(1)

    for f in (0, 1):
        own, other = edges[folds == f], edges[folds != f]
        # Trained with its targets visible, the whole-graph autoencoder scores them far above a fold's own, which
        # never saw them; on the friendships a fold did see, the two agree much better.
        assert dots(full, own).mean() > 1.2 * dots(held[f], own).mean()
        assert dots(held[f], other).mean() > dots(held[f], own).mean()
        # Rotated onto the whole graph's states: closer to them than the unrotated states are.
        assert np.linalg.norm(held[f] - full) < np.linalg.norm(
            autoencoder_positions(other, n, 16, rms=0.1, epochs=60) - full)
