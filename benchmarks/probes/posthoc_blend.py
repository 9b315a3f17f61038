"""Probe: would a signal the scorer does not read raise its test Hits@50 if added to its logit afterwards?

Input: a data folder and pairs file written by ``../shared/tools/lp_check.py`` (``DIR/data``, ``DIR/pairs.csv``:
the test friendships first, then 10,000 shared non-edges) and the scores a trained bundle gave those pairs
(``socialgraph score --model B --pairs DIR/pairs.csv --out SCORES.csv``). Signals, computed on the folder's
friendships (what the model was given):

* ``ppr0.15`` / ``ppr0.5``: symmetric personalised PageRank ``pi_u(v) + pi_v(u)`` with restart 0.15 / 0.5 (exact,
  dense; graphs up to a few thousand users);
* ``gae``: the plain GCN autoencoder over learned user vectors (:mod:`socialgraph.bench.gae`, 300 epochs, seed 0,
  the last weights), trained with every friendship of the folder visible, as ``peer_baselines.py`` trains it;
* with ``engagements.csv``: ``shared_items`` (log1p of the items both engaged with), ``ra_items`` (resource
  allocation over items: shared items weighted by 1 / their number of users) and ``cosine_items`` (cosine of
  TF-IDF weighted log1p engagement rows), ``svd_items`` (cosine of those rows reduced to 64 dimensions by truncated
  SVD) and ``taste_friends`` (log1p of the number of paths friend -> taste neighbour between the two ends,
  ``(A K + K A)_{uv}``, with ``K`` the symmetrised 20 nearest neighbours by ``cosine_items``: friends of the
  people who listen like you).

For each, Hits@50 of ``logit + w * z(signal)`` (z-scored on the negatives) for a few weights ``w``, and the Hits@50
of the model and the signal alone by the smaller training degree of the pair's ends. The weights are read off the
test pairs, so a gain here is an upper bound, not a result. ``tail_sum`` is the one fusion with no weight to choose
(Fisher's method): ``t(logit) + t(signal)`` with ``t(x) = -log`` of the share of non-edges scoring at least ``x``,
i.e. each score turned into how rare it is among non-edges; the shares are read off the 10,000 test non-edges
(a deployment would read them off its validation non-edges: a monotone map per signal, nearly the same).

Usage: .venv/bin/python benchmarks/probes/posthoc_blend.py DIR SCORES.csv
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD

from socialgraph.bench.gae import fit_gae

WEIGHTS = (0.1, 0.25, 0.5, 1.0)
TASTE_NEIGHBOURS = 20
BUCKETS = ((0, 0), (1, 2), (3, 5), (6, 20), (21, 10**9))


def hits50(scores: np.ndarray, num_pos: int) -> float:
    kth = np.sort(scores[num_pos:])[-50]
    return float((scores[:num_pos] > kth).mean())


def tail(scores: np.ndarray, num_pos: int) -> np.ndarray:
    """``-log`` of the share of the non-edges (``scores[num_pos:]``) scoring at least each score (add-one smoothed)."""
    ref = np.sort(scores[num_pos:])
    above = len(ref) - np.searchsorted(ref, scores, side="left")
    return -np.log((above + 1) / (len(ref) + 1))


def ppr(adj: sp.csr_matrix, restart: float, steps: int = 30) -> np.ndarray:
    """Dense ``[n, n]`` personalised PageRank, row ``u`` the walk restarting at ``u``: ``sum_k a (1-a)^k P^k``."""
    n = adj.shape[0]
    walk = sp.diags(1 / np.maximum(np.asarray(adj.sum(1)).ravel(), 1)) @ adj
    term = np.eye(n, dtype=np.float32)
    out = restart * term
    for _ in range(steps):
        term = (1 - restart) * np.asarray(term @ walk)
        out += restart * term
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("scores", type=Path)
    args = ap.parse_args()
    friends = pd.read_csv(args.folder / "data" / "friends.csv")
    pairs = pd.read_csv(args.folder / "pairs.csv")
    scores = pd.read_csv(args.scores)
    if len(scores) != len(pairs) or not (scores.src.to_numpy() == pairs.src.to_numpy()).all():
        raise SystemExit(f"{args.scores}: rows do not match {args.folder / 'pairs.csv'}; score that file")
    num_pos = len(pairs) - 10_000
    ids = np.unique(np.r_[friends.src, friends.dst, pairs.src, pairs.dst])
    index = {u: i for i, u in enumerate(ids.tolist())}
    n = len(ids)
    f = np.c_[friends.src.map(index), friends.dst.map(index)]
    adj = sp.coo_matrix((np.ones(2 * len(f)), (np.r_[f[:, 0], f[:, 1]], np.r_[f[:, 1], f[:, 0]])), (n, n)).tocsr()
    p = np.c_[pairs.src.map(index), pairs.dst.map(index)]
    deg = np.diff(adj.indptr)
    low = np.minimum(deg[p[:, 0]], deg[p[:, 1]])
    prob = np.clip(scores.score.to_numpy(), 1e-15, 1 - 1e-15)
    logit = np.log(prob) - np.log1p(-prob)

    signals = {}
    for restart in (0.15, 0.5):
        pi = ppr(adj, restart)
        signals[f"ppr{restart}"] = np.log(pi[p[:, 0], p[:, 1]] + pi[p[:, 1], p[:, 0]] + 1e-7)
    none = np.zeros((0, 2), np.int64)
    signals["gae"] = fit_gae(n, f, none, none, seed=0)(p)
    eng_path = args.folder / "data" / "engagements.csv"
    if eng_path.exists():
        eng = pd.read_csv(eng_path)
        eng = eng[eng.user_id.isin(index)]
        items = {v: j for j, v in enumerate(np.unique(eng.item_id).tolist())}
        e = sp.csr_matrix((np.log1p(eng.value.to_numpy(float)), (eng.user_id.map(index), eng.item_id.map(items))),
                          shape=(n, len(items)))
        b = (e > 0).astype(np.float64)
        users_per_item = np.asarray(b.sum(0)).ravel()
        x = e @ sp.diags(np.log(n / np.maximum(users_per_item, 1)))
        norm = np.sqrt(np.asarray(x.multiply(x).sum(1)).ravel()) + 1e-9
        signals["shared_items"] = np.log1p(np.asarray(b[p[:, 0]].multiply(b[p[:, 1]]).sum(1)).ravel())
        signals["ra_items"] = np.log(np.asarray((b @ sp.diags(1 / np.maximum(users_per_item, 1)))[p[:, 0]]
                                                .multiply(b[p[:, 1]]).sum(1)).ravel() + 1e-3)
        unit = (sp.diags(1 / norm) @ x).tocsr()
        signals["cosine_items"] = np.asarray(unit[p[:, 0]].multiply(unit[p[:, 1]]).sum(1)).ravel()
        svd = TruncatedSVD(64, random_state=0).fit_transform(unit)
        svd /= np.linalg.norm(svd, axis=1, keepdims=True) + 1e-9
        signals["svd_items"] = (svd[p[:, 0]] * svd[p[:, 1]]).sum(1)
        cos = (unit @ unit.T).toarray()
        np.fill_diagonal(cos, -np.inf)
        near = np.argsort(-cos, axis=1)[:, :TASTE_NEIGHBOURS]
        knn = sp.csr_matrix((np.ones(near.size), (np.repeat(np.arange(n), TASTE_NEIGHBOURS), near.ravel())), (n, n))
        knn = ((knn + knn.T) > 0).astype(np.float64)
        paths = (adj @ knn + knn @ adj).tocsr()
        signals["taste_friends"] = np.log1p(np.asarray(paths[p[:, 0], p[:, 1]]).ravel())

    report = {"model": round(hits50(logit, num_pos), 4), "signals": {}}
    for name, s in signals.items():
        z = (s - s[num_pos:].mean()) / (s[num_pos:].std() + 1e-12)
        buckets = {}
        for lo, hi in BUCKETS:
            m = (low[:num_pos] >= lo) & (low[:num_pos] <= hi)
            if m.any():
                buckets[f"{lo}-{hi}" if hi < 10**9 else f">{lo - 1}"] = {
                    "positives": int(m.sum()),
                    "model": round(float((logit[:num_pos][m] > np.sort(logit[num_pos:])[-50]).mean()), 4),
                    "signal": round(float((s[:num_pos][m] > np.sort(s[num_pos:])[-50]).mean()), 4)}
        report["signals"][name] = {"alone": round(hits50(s, num_pos), 4),
                                   "blend": {str(w): round(hits50(logit + w * z, num_pos), 4) for w in WEIGHTS},
                                   "tail_sum": round(hits50(tail(logit, num_pos) + tail(s, num_pos), num_pos), 4),
                                   "by_smaller_degree": buckets}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
