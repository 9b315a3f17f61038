"""Evaluation: metrics, heuristic scorers and candidate generators, OGB's evaluator, heuristic baselines."""
from socialgraph.eval.baselines import heuristic_baselines
from socialgraph.eval.engagement import engagement_metrics, ranking_metrics, rating_metrics
from socialgraph.eval.heuristics import METHODS, HeuristicParams, score_pairs, score_rows, top_candidates
from socialgraph.eval.link import HITS_KS, evaluate_link_scores
from socialgraph.eval.metrics import (auc, average_precision, hits_at_k, mae, mrr, ndcg_at_k, ranks, recall_at_k,
                                      rmse, top_k_items)
from socialgraph.eval.ogb import ogb_evaluate, ogb_hits
from socialgraph.eval.preference import preference_metrics

__all__ = ["HITS_KS", "HeuristicParams", "METHODS", "auc", "average_precision", "engagement_metrics",
           "evaluate_link_scores", "heuristic_baselines", "hits_at_k", "mae", "mrr", "ndcg_at_k", "ogb_evaluate",
           "ogb_hits", "preference_metrics", "ranking_metrics", "ranks", "rating_metrics", "recall_at_k", "rmse",
           "score_pairs", "score_rows", "top_candidates", "top_k_items"]
