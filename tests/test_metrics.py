"""Each metric against scikit-learn, OGB's Evaluator or a brute-force loop on small random inputs."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import (average_precision_score, mean_absolute_error, mean_squared_error, ndcg_score,
                             roc_auc_score)

from socialgraph.eval import metrics as M
from socialgraph.eval.ogb import ogb_evaluate, ogb_hits


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    # Rounded so that ties between positives and negatives really occur.
    return np.round(rng.normal(1.0, 1.0, 300), 1), np.round(rng.normal(0.0, 1.0, 2000), 1)


def test_hits_at_k_brute_force_and_ogb(scores):
    pos, neg = scores
    for k in (1, 20, 50, 100):
        kth = sorted(neg, reverse=True)[k - 1]
        assert M.hits_at_k(pos, neg, k) == pytest.approx(sum(p > kth for p in pos) / len(pos))
        assert M.hits_at_k(pos, neg, k) == pytest.approx(ogb_hits("ogbl-ddi", pos, neg, k))
    assert M.hits_at_k(pos, neg[:10], 20) == 1.0  # fewer negatives than K, as OGB


def test_mrr_brute_force_shared_and_per_positive(scores):
    pos, neg = scores
    brute = np.mean([1.0 / (1 + 0.5 * ((neg > p).sum() + (neg >= p).sum())) for p in pos])
    assert M.mrr(pos, neg) == pytest.approx(brute)
    per = neg[:300 * 5].reshape(300, 5)
    brute = np.mean([1.0 / (1 + 0.5 * ((per[i] > p).sum() + (per[i] >= p).sum())) for i, p in enumerate(pos)])
    assert M.mrr(pos, per) == pytest.approx(brute)
    # OGB's MRR datasets rank each positive among its own negatives the same way.
    assert M.mrr(pos, per) == pytest.approx(ogb_evaluate("ogbl-citation2", pos, per)["mrr_list"], rel=1e-6)
    hits3 = np.mean([(per[i] >= p).sum() < 3 for i, p in enumerate(pos)])
    assert M.hits_at_k(pos, per, 3) == pytest.approx(hits3)


def test_auc_and_ap_match_sklearn(scores):
    pos, neg = scores
    y, s = np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg]
    assert M.auc(pos, neg) == pytest.approx(roc_auc_score(y, s))
    assert M.average_precision(pos, neg) == pytest.approx(average_precision_score(y, s))


def test_recall_and_ndcg_at_k():
    rng = np.random.default_rng(1)
    users, items, k = 40, 60, 10
    scores = rng.random((users, items))
    truth = rng.random((users, items)) < 0.1
    truth[0] = False  # a user without held-out items is skipped
    ranked = M.top_k_items(scores, k)
    assert np.array_equal(ranked, np.argsort(-scores, axis=1)[:, :k])
    recalls, ndcgs = [], []
    for u in range(1, users):
        rel = set(np.flatnonzero(truth[u]))
        if not rel:
            continue
        recalls.append(len(rel & set(ranked[u])) / len(rel))
        ndcgs.append(ndcg_score(truth[u:u + 1].astype(float), scores[u:u + 1], k=k))
    rel_sparse = sp.csr_matrix(truth)
    assert M.recall_at_k(ranked, rel_sparse, k) == pytest.approx(np.mean(recalls))
    assert M.ndcg_at_k(ranked, rel_sparse, k) == pytest.approx(np.mean(ndcgs))
    lists = [np.flatnonzero(t) for t in truth]
    assert M.recall_at_k(ranked, lists, k) == pytest.approx(np.mean(recalls))


def test_top_k_items_masks_training_items():
    rng = np.random.default_rng(2)
    scores = rng.random((5, 30))
    seen = sp.csr_matrix(rng.random((5, 30)) < 0.3)
    ranked = M.top_k_items(scores, 8, exclude=seen)
    assert not seen.toarray()[np.arange(5)[:, None], ranked].any()


def test_rmse_and_mae_match_sklearn():
    rng = np.random.default_rng(3)
    p, t = rng.normal(size=500), rng.normal(size=500)
    assert M.rmse(p, t) == pytest.approx(np.sqrt(mean_squared_error(t, p)))
    assert M.mae(p, t) == pytest.approx(mean_absolute_error(t, p))


def test_ogb_wrapper_refuses_other_names(scores):
    with pytest.raises(ValueError, match="OGB link-prediction"):
        ogb_hits("cora", *scores, 20)
