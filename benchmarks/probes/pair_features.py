"""Probe: how far do pairwise features alone go? A gradient-boosted classifier on the project's structural pair
features (CN, AA, RA, 3-paths, degrees, Jaccard), optionally with one family of extra features, under the benchmark
protocol (seed 0): trained on 10 % of the training friend pairs (removed from the graph they are measured on)
against 4x uniform non-edges, scored on the test pairs and the shared test negatives with training + validation
links observed.

Extra feature families (``--extra``):

* ``buddy``: BUDDY-style distance counts |N1(u) & N2(v)|, |N2(u) & N1(v)|, |N2(u) & N2(v)| and the 2-hop sizes;
* ``overlap``: CN / min degree, CN / max degree, CN / sqrt(du dv) and the ordered degrees;
* ``spectral``: cosine and dot product of 64 top eigenvectors of the normalised adjacency;
* ``profile``: shared tokens and their Jaccard for every multi-hot user column;
* ``coengagement``: shared engaged items, resource allocation over items, and their Jaccard.
* ``walk4``: the symmetric 4-step random-walk probability (P^4)_uv + (P^4)_vu, P = D^-1 A (the next PPR term after
  the W2 / W3 base features);
* ``userrank``: how a pair ranks among each end's own candidates: RA(u,v) / max_w RA(u,w) and CN(u,v) / max_w
  CN(u,w), for both ends (min and max of the two), the per-user normalisation behind PPR's strength for users
  with few friends;
* ``clustering``: both ends' local clustering coefficients and triangle counts (min and max): how readily each
  user befriends friends of friends, which a message-passing network cannot count;
* ``ppr``: symmetric personalised PageRank (restart 0.15, 10 steps), the low-degree users' best heuristic.

A tree model's Hits@K suffers from tied scores; read the probe as "does this family add anything over the base
features", not as a competitor of the model. Results are printed and appended to
``benchmarks/results/probes.jsonl``.

Usage: .venv/bin/python benchmarks/probes/pair_features.py DATASET [--extra buddy overlap ...]
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh
from sklearn.ensemble import HistGradientBoostingClassifier

from socialgraph.data import load
from socialgraph.data.adjacency import adjacency_from_edges
from socialgraph.data.protocol import benchmark_split
from socialgraph.eval.link import evaluate_link_scores
from socialgraph.model.pairwise import pair_structure

OUT = Path(__file__).parents[1] / "results" / "probes.jsonl"


def rowdot(x: sp.csr_matrix, y: sp.csr_matrix, pairs: np.ndarray) -> np.ndarray:
    return np.asarray(x[pairs[:, 0]].multiply(y[pairs[:, 1]]).sum(1)).ravel()


def extra_features(kind: str, graph, adj: sp.csr_matrix, pairs: np.ndarray, base: np.ndarray) -> np.ndarray:
    u, v = pairs[:, 0], pairs[:, 1]
    if kind == "buddy":
        a = adj.astype(np.float32).tocsr()
        two = (a @ a).tocsr()
        two.data[:] = 1
        n2 = (two - two.multiply(a) - two.multiply(sp.identity(adj.shape[0], format="csr"))).tocsr()
        n2.eliminate_zeros()
        size = np.asarray(n2.sum(1)).ravel()
        return np.log1p(np.c_[rowdot(a, n2, pairs), rowdot(n2, a, pairs), rowdot(n2, n2, pairs), size[u], size[v]])
    if kind == "overlap":
        cn, du, dv = np.expm1(base[:, 0]), np.expm1(base[:, 4]), np.expm1(base[:, 5])
        lo, hi = np.minimum(du, dv), np.maximum(du, dv)
        return np.c_[cn / np.maximum(lo, 1), cn / np.maximum(hi, 1), cn / np.sqrt(np.maximum(du * dv, 1)),
                     np.log1p(lo), np.log1p(hi)]
    if kind == "spectral":
        deg = np.asarray(adj.sum(1)).ravel()
        d = sp.diags(1 / np.sqrt(np.maximum(deg, 1)))
        w, vec = eigsh((d @ adj @ d).astype(np.float64), k=64, which="LA")
        e = vec * np.sqrt(np.maximum(w, 0))
        a, b = e[u], e[v]
        dot = (a * b).sum(1)
        return np.c_[dot / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-9), dot]
    if kind == "profile":
        from sklearn.preprocessing import MultiLabelBinarizer

        cols = []
        frame, roles = graph.user_attrs.frame, graph.user_attrs.roles
        for c in [c for c, r in roles.items() if r.value == "multihot"]:
            x = sp.csr_matrix(MultiLabelBinarizer(sparse_output=True).fit_transform(
                frame[c].map(lambda t: [] if t is None else list(t))), dtype=np.float32)
            shared, size = rowdot(x, x, pairs), np.asarray(x.sum(1)).ravel()
            cols.append(np.c_[shared, shared / np.maximum(size[u] + size[v] - shared, 1)])
        return np.hstack(cols) if cols else np.zeros((len(pairs), 0))
    if kind == "coengagement":
        e = graph.engagement_matrix().tocsr().astype(np.float32)
        e.data[:] = 1
        item_deg, user_deg = np.asarray(e.sum(0)).ravel(), np.asarray(e.sum(1)).ravel()
        shared = rowdot(e, e, pairs)
        ra = rowdot((e @ sp.diags(1 / np.maximum(item_deg, 1))).tocsr(), e, pairs)
        return np.c_[np.log1p(shared), np.log1p(10 * ra), shared / np.maximum(user_deg[u] + user_deg[v] - shared, 1)]
    if kind == "userrank":
        deg = np.asarray(adj.sum(1)).ravel()
        a = adj.astype(np.float64).tocsr()
        ra_m = (a @ sp.diags(1 / np.maximum(deg, 1)) @ a).tocsr()
        cn_m = (a @ a).tocsr()
        cols = []
        for m in (ra_m, cn_m):
            m.setdiag(0)
            m.eliminate_zeros()
            top = np.maximum(m.max(axis=1).toarray().ravel(), 1e-12)
            val = np.asarray(m[u, v]).ravel()
            ru, rv = val / top[u], val / top[v]
            cols += [np.minimum(ru, rv), np.maximum(ru, rv)]
        return np.c_[tuple(cols)]
    if kind == "clustering":
        a = adj.astype(np.float64).tocsr()
        tri = np.asarray((a @ a).multiply(a).sum(1)).ravel() / 2
        d = np.diff(a.indptr).astype(np.float64)
        cc = tri / np.maximum(d * (d - 1) / 2, 1)
        lo, hi = np.minimum(cc[u], cc[v]), np.maximum(cc[u], cc[v])
        return np.c_[lo, hi, np.log1p(np.minimum(tri[u], tri[v])), np.log1p(np.maximum(tri[u], tri[v]))]
    if kind in ("walk4", "ppr"):
        deg = np.asarray(adj.sum(1)).ravel()
        p = (sp.diags(1 / np.maximum(deg, 1)) @ adj).tocsr().astype(np.float64)
        sources = np.unique(np.r_[u, v])
        x = sp.csr_matrix((np.ones(len(sources)), (np.arange(len(sources)), sources)), shape=(len(sources), len(deg)))
        steps, alpha = (4, 0.0) if kind == "walk4" else (10, 0.15)
        total = alpha * x.toarray()
        for t in range(1, steps + 1):
            x = x @ p
            if kind == "ppr":
                total += alpha * (1 - alpha) ** t * x.toarray()
        rows = x.toarray() if kind == "walk4" else total
        at = np.searchsorted(sources, u), np.searchsorted(sources, v)
        score = rows[at[0], v] + rows[at[1], u]
        return np.log1p(1e3 * score)[:, None]
    raise ValueError(f"unknown feature family {kind!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset")
    ap.add_argument("--extra", nargs="*", default=[], help="feature families to probe one at a time")
    args = ap.parse_args()
    graph = load(args.dataset)
    split = benchmark_split(graph, seed=0)
    n = graph.num_users
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(split.train))
    k = len(split.train) // 10
    target, rest = split.train[perm[:k]], split.train[perm[k:]]
    train_adj = adjacency_from_edges(rest, n)
    known = adjacency_from_edges(np.r_[split.train, split.val], n)
    neg = rng.integers(0, n, (4 * k, 2))
    neg = neg[(neg[:, 0] != neg[:, 1]) & (np.asarray(known[neg[:, 0], neg[:, 1]]).ravel() == 0)]
    test_adj = known

    def features(adj, pairs, kind):
        base = pair_structure(adj, pairs).features.numpy()
        return base if kind is None else np.c_[base, extra_features(kind, graph, adj, pairs, base)]

    for kind in [None, *args.extra]:
        x = features(train_adj, np.r_[target, neg], kind)
        y = np.r_[np.ones(len(target)), np.zeros(len(neg))]
        clf = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, early_stopping=False,
                                             random_state=0).fit(x, y)
        r = evaluate_link_scores(clf.decision_function(features(test_adj, split.test, kind)),
                                 clf.decision_function(features(test_adj, split.negatives, kind)))
        record = {"dataset": args.dataset, "features": "base" if kind is None else f"base+{kind}",
                  "test": {m: round(float(v), 4) for m, v in r.items()},
                  "command": shlex.join(["benchmarks/probes/pair_features.py", *sys.argv[1:]])}
        print(json.dumps(record))
        with open(OUT, "a") as f:
            f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
