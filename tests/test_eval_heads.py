"""The evaluation functions of eval/ against examples small enough to work out by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from socialgraph.data.graph import SocialGraph
from socialgraph.eval.engagement import engagement_metrics, ranking_metrics, rating_metrics
from socialgraph.eval.link import HITS_KS, evaluate_link_scores
from socialgraph.eval.preference import preference_metrics


def test_link_metrics_by_hand():
    # Positives 3 and 1 against shared negatives 2, 0, -1.
    out = evaluate_link_scores(np.array([3.0, 1.0]), np.array([2.0, 0.0, -1.0]), ks=(1, 2, 5))
    assert out["hits@1"] == 0.5  # only 3 is above the best negative (2)
    assert out["hits@2"] == 1.0  # both are above the second best (0)
    assert out["hits@5"] == 1.0  # fewer negatives than K: every positive is a hit, as in OGB
    assert out["mrr"] == pytest.approx((1 / 1 + 1 / 2) / 2)  # ranks 1 and 2
    assert out["auc"] == pytest.approx(5 / 6)  # 3 wins 3 of 3 comparisons, 1 wins 2 of 3
    assert out["ap"] == pytest.approx((1 / 1 + 2 / 3) / 2)  # positives at ranks 1 and 3
    # A tie counts half: rank (1 + 2) / 2 against negatives 1 and 0.
    assert evaluate_link_scores([1.0], [1.0, 0.0])["mrr"] == pytest.approx(1 / 1.5)
    assert set(evaluate_link_scores([1.0], [0.0])) == {f"hits@{k}" for k in HITS_KS} | {"mrr", "auc", "ap"}


def test_ratings_are_clipped_to_the_training_scale():
    out = rating_metrics(np.array([1.0, 6.0, 3.0]), np.array([2.0, 5.0, 3.0]), train_values=np.array([1.0, 2.0, 5.0]))
    # 6 is clipped to 5: errors -1, 0, 0.
    assert out == {"rmse": pytest.approx(math.sqrt(1 / 3)), "mae": pytest.approx(1 / 3), "n": 3}


def _two_users():
    scores = np.array([[0.9, 0.8, 0.1, 0.5],
                       [0.1, 0.2, 0.9, 0.3]])
    seen = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0]]))  # user 0 had item 0 in training
    relevant = sp.csr_matrix(np.array([[0, 0, 0, 1], [1, 0, 1, 0]]))
    # Top 2 with seen items left out: user 0 gets [1, 3] (one of one relevant, at rank 2), user 1 [2, 3] (one of
    # two relevant, at rank 1).
    recall = (1 + 1 / 2) / 2
    ndcg = (1 / math.log2(3) + 1 / (1 + 1 / math.log2(3))) / 2
    return scores, seen, relevant, recall, ndcg


def test_item_rankings_leave_out_training_items():
    scores, seen, relevant, recall, ndcg = _two_users()
    calls = []

    def score_items(users):
        calls.append(users.tolist())
        return scores[users]

    out = ranking_metrics(score_items, np.array([0, 1]), seen, relevant, k=2, batch_size=1)
    assert calls == [[0], [1]]  # one batch of users at a time
    assert out == {"recall@2": pytest.approx(recall), "ndcg@2": pytest.approx(ndcg), "users": 2}


def test_engagement_metrics_read_the_split_from_the_graph():
    scores, _, _, _, _ = _two_users()
    # Rows 0-1 train (user 0 -> item 0, user 1 -> item 1), rows 2-4 held out (user 0 -> 3, user 1 -> 0 and 2).
    g = SocialGraph(user_ids=np.array([10, 11]), friends=np.zeros((0, 2), np.int64), item_ids=np.arange(4),
                    engagements=np.array([[0, 0], [1, 1], [0, 3], [1, 0], [1, 2]]),
                    engagement_value=np.array([1.0, 5.0, 4.0, 2.0, 6.0]))
    train, held = np.array([0, 1]), np.array([2, 3, 4])
    # Implicit, K = 20 over four items: every item a user did not train on is ranked, so every held-out one is found.
    out = engagement_metrics(g, train, held, "implicit", score_items=lambda u: scores[u])
    assert out["users"] == 2 and out["recall@20"] == 1.0
    # Explicit: predictions 4, 2, 7 clipped to the training range [1, 5] -> 4, 2, 5 against 4, 2, 6.
    rated = engagement_metrics(g, train, held, "explicit", predict=lambda u, i: np.array([4.0, 2.0, 7.0]))
    assert rated == {"rmse": pytest.approx(math.sqrt(1 / 3)), "mae": pytest.approx(1 / 3), "n": 3}
    with pytest.raises(ValueError, match="pass predict="):
        engagement_metrics(g, train, held, "explicit", score_items=lambda u: scores[u])


def test_preference_ndcg_by_hand():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    relevant = sp.csr_matrix(np.array([[0, 0, 1], [1, 1, 0]]))
    # User 0 ranks [1, 2]: its category at rank 2. User 1 ranks [0, 1]: both of its categories, an ideal list.
    out = preference_metrics(scores, relevant, k=2)
    assert out == {"ndcg@2": pytest.approx((1 / math.log2(3) + 1) / 2), "users": 2}
