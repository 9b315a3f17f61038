"""Neighbourhood and path heuristics for link prediction, vectorised with scipy sparse matrices.

``A`` is the symmetric 0/1 adjacency of the *training* graph, ``N(u)`` the neighbours of ``u``, ``d(u) = |N(u)|``.

=========  ============================================================================================
``cn``     common neighbours ``|N(u) & N(v)|``
``aa``     Adamic-Adar ``sum_{w in N(u) & N(v)} 1 / log d(w)`` (a common neighbour has ``d(w) >= 2``)
``ra``     resource allocation ``sum_{w in N(u) & N(v)} 1 / d(w)``
``jaccard`` ``|N(u) & N(v)| / |N(u) | N(v)|`` (0 when both are isolated)
``pa``     preferential attachment ``d(u) d(v)``
``katz``   truncated Katz ``sum_{l=1..L} beta^l (A^l)[u, v]`` (``L = max_length``, default 3, ``beta`` 0.05)
``ppr``    symmetric personalised PageRank ``ppr_u(v) + ppr_v(u)`` with ``ppr_s = alpha sum_{t=0..T} (1-alpha)^t
           e_s P^t``, ``P = D^-1 A``, truncated after ``T = steps`` power-iteration steps (default 4, alpha 0.15)
=========  ============================================================================================

Path counts use the split ``(M^l)[u, v] = (e_u M^a) . ((M^T)^b e_v)`` with ``a = ceil(l/2)``, ``b = floor(l/2)``,
so each side only expands ``ceil(L/2)`` hops as sparse rows: memory stays bounded by the chunk size instead of
the graph size. Every function works on chunks of pairs (``batch_size``) or of users.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.sparse as sp

from socialgraph.data.adjacency import fof_method, friends_of_friends_scored, graph_arrays, sorted_member

METHODS: tuple[str, ...] = ("cn", "aa", "ra", "jaccard", "pa", "katz", "ppr")
_DENSE_BLOCK = 1 << 23  # entries of one dense [users, n] block of katz / ppr candidate scores (64 MiB)


@dataclass(frozen=True)
class HeuristicParams:
    """Parameters of the path heuristics.

    Attributes:
        katz_beta: damping of a path of length ``l`` (``beta^l``); must stay below ``1 / lambda_max(A)`` for the
            untruncated series to converge, truncation makes any value usable.
        katz_max_length: longest path counted by Katz.
        ppr_alpha: restart probability of personalised PageRank.
        ppr_steps: power-iteration steps of personalised PageRank.
    """

    katz_beta: float = 0.05
    katz_max_length: int = 3
    ppr_alpha: float = 0.15
    ppr_steps: int = 4


def _check(adj: sp.spmatrix) -> sp.csr_matrix:
    """A binary, loop-free float64 CSR copy of ``adj`` (a copy: a float64 CSR input would otherwise share its
    arrays, and lose its weights and diagonal to the lines below)."""
    a = sp.csr_matrix(adj, dtype=np.float64, copy=True)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"adjacency must be square, got shape {a.shape}")
    a.sum_duplicates()
    a.data[:] = 1.0  # heuristics count neighbours; edge weights are not used
    a.setdiag(0)
    a.eliminate_zeros()
    return a


def _method(method: str) -> str:
    m = method.lower().replace("-", "_")
    m = {"adamic_adar": "aa", "resource_allocation": "ra", "common_neighbors": "cn", "common_neighbours": "cn",
         "preferential_attachment": "pa"}.get(m, m)
    if m not in METHODS:
        raise ValueError(f"unknown heuristic {method!r}; choose one of {', '.join(METHODS)}")
    return m


def _degrees(a: sp.csr_matrix) -> np.ndarray:
    return np.diff(a.indptr).astype(np.float64)


def _neighbour_weights(a: sp.csr_matrix, m: str) -> np.ndarray:
    """The weight of a common neighbour ``w`` for cn / aa / ra."""
    d = _degrees(a)
    if m == "cn":
        return np.ones_like(d)
    if m == "aa":
        return 1.0 / np.log(np.maximum(d, 2.0))  # nodes of degree < 2 are never common neighbours
    return 1.0 / np.maximum(d, 1.0)


def _rowdot(x: sp.csr_matrix, y: sp.csr_matrix) -> np.ndarray:
    return np.asarray(x.multiply(y).sum(1)).ravel()


def _series(left: sp.csr_matrix, right: sp.csr_matrix, coeffs: np.ndarray, u: np.ndarray,
            v: np.ndarray) -> np.ndarray:
    """``sum_l coeffs[l] (M^l)[u, v]`` with ``left = M`` and ``right = M^T``, expanding half the hops per side."""
    n = left.shape[0]
    eye = sp.identity(n, format="csr", dtype=np.float64)
    top = len(coeffs) - 1
    lrows, rrows = [eye[u]], [eye[v]]
    for _ in range((top + 1) // 2):
        lrows.append(lrows[-1] @ left)
    for _ in range(top // 2):
        rrows.append(rrows[-1] @ right)
    out = np.zeros(len(u))
    for l, c in enumerate(coeffs):
        if c != 0.0:
            out += c * _rowdot(lrows[(l + 1) // 2], rrows[l // 2])
    return out


def _random_walk(a: sp.csr_matrix) -> sp.csr_matrix:
    d = _degrees(a)
    return sp.diags(1.0 / np.maximum(d, 1.0)) @ a  # dangling nodes keep a zero row


def _ppr_coeffs(p: HeuristicParams) -> np.ndarray:
    return p.ppr_alpha * (1.0 - p.ppr_alpha) ** np.arange(p.ppr_steps + 1)


def _katz_coeffs(p: HeuristicParams) -> np.ndarray:
    c = p.katz_beta ** np.arange(p.katz_max_length + 1)
    c[0] = 0.0  # no path of length 0 joins two different users
    return c


def score_pairs(adj: sp.spmatrix, pairs: np.ndarray, method: str = "aa", *, batch_size: int = 50_000,
                params: Optional[HeuristicParams] = None) -> np.ndarray:
    """Heuristic score of each pair ``(u, v)`` on the graph ``adj`` (symmetric; weights are ignored).

    Args:
        adj: ``[n, n]`` adjacency of the graph the scores may look at (the training graph).
        pairs: int ``[P, 2]`` user rows.
        method: one of :data:`METHODS`.
        batch_size: pairs per chunk; bounds memory of the sparse row products.
        params: :class:`HeuristicParams` for katz / ppr.

    Returns:
        float64 ``[P]``.
    """
    m = _method(method)
    a = _check(adj)
    p = params or HeuristicParams()
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if len(pairs) and (pairs.min() < 0 or pairs.max() >= a.shape[0]):
        raise ValueError(f"pairs hold user rows outside 0..{a.shape[0] - 1}")
    d = _degrees(a)
    out = np.empty(len(pairs))
    if m == "pa":
        return d[pairs[:, 0]] * d[pairs[:, 1]]
    if m in ("cn", "aa", "ra", "jaccard"):
        aw = (a @ sp.diags(_neighbour_weights(a, "cn" if m == "jaccard" else m))).tocsr()
    elif m in ("katz", "ppr") and _rows_are_cheaper(a, pairs, m, p):
        return _scores_from_rows(a, pairs, m, p)
    elif m == "ppr":
        walk = _random_walk(a).tocsr()
        walk_t = walk.T.tocsr()
    for s in range(0, len(pairs), batch_size):
        u, v = pairs[s:s + batch_size, 0], pairs[s:s + batch_size, 1]
        if m == "katz":
            out[s:s + len(u)] = _series(a, a, _katz_coeffs(p), u, v)
        elif m == "ppr":
            c = _ppr_coeffs(p)
            out[s:s + len(u)] = _series(walk, walk_t, c, u, v) + _series(walk, walk_t, c, v, u)
        else:
            x = _rowdot(aw[u], a[v])
            if m == "jaccard":
                union = d[u] + d[v] - x
                x = np.divide(x, union, out=np.zeros_like(x), where=union > 0)
            out[s:s + len(u)] = x
    return out


def score_rows(adj: sp.spmatrix, users: np.ndarray, method: str = "aa", *,
               params: Optional[HeuristicParams] = None) -> sp.csr_matrix:
    """Scores of each of ``users`` against every user, as sparse rows ``[len(users), n]`` (zeros not stored).

    ``pa`` has no sparse form (every pair scores); callers should use :func:`top_candidates`, which handles it.
    """
    m = _method(method)
    if m == "pa":
        raise ValueError("preferential attachment scores every pair; use top_candidates(method='pa')")
    a = _check(adj)
    p = params or HeuristicParams()
    users = np.asarray(users, dtype=np.int64)
    if m in ("cn", "aa", "ra", "jaccard"):
        w = _neighbour_weights(a, "cn" if m == "jaccard" else m)
        s = (a[users] @ sp.diags(w) @ a).tocsr()
        if m == "jaccard":
            d = _degrees(a)
            s = s.tocoo()
            union = d[users][s.row] + d[s.col] - s.data
            s = sp.csr_matrix((s.data / np.maximum(union, 1.0), (s.row, s.col)), shape=s.shape)
        return s
    if m == "katz":
        coeffs, left, right = _katz_coeffs(p), a, a
    else:
        coeffs, left = _ppr_coeffs(p), _random_walk(a).tocsr()
        right = left.T.tocsr()
    eye = sp.identity(a.shape[0], format="csr")
    out = sp.csr_matrix((len(users), a.shape[0]))
    xl, xr = eye[users], eye[users]
    for l, c in enumerate(coeffs):
        if l:
            xl = xl @ left
            if m == "ppr":
                xr = xr @ right  # ppr_v(u) = (P^t)[v, u] = ((P^T)^t)[u, v]: a row from u as well
        if c != 0.0:
            out = out + c * (xl + xr if m == "ppr" else xl)
    return out.tocsr()


def _rows_are_cheaper(a: sp.csr_matrix, pairs: np.ndarray, m: str, p: HeuristicParams) -> bool:
    """Whether one dense Katz / PPR row per distinct first user costs less than sparse walks from each pair.

    A pair's sparse walks expand two rows by about two hops each, ``~ 2 sum_w d_w^2 / n`` operations on average
    (at most ``2 n`` entries a row); a dense row costs one sparse-times-dense product per hop, ``hops nnz(A)``.
    On dense graphs with many pairs per user the rows win (ogbl-ddi, mean degree 500: 53,395 validation pairs of
    3,307 users in 42 s instead of ~380 s); on sparse social graphs the per-pair walks do.
    """
    n = a.shape[0]
    d = _degrees(a)
    hops = p.katz_max_length if m == "katz" else p.ppr_steps
    per_pair = 2.0 * min(float(n) * max(d.mean(), 1.0), float((d ** 2).sum()) / n)
    per_row = float(hops) * a.nnz
    return len(np.unique(pairs[:, 0])) * per_row < len(pairs) * per_pair


def _scores_from_rows(a: sp.csr_matrix, pairs: np.ndarray, m: str, p: HeuristicParams) -> np.ndarray:
    """Katz / PPR of ``pairs`` read off dense rows of their distinct first users, in blocks of bounded size."""
    n = a.shape[0]
    users, inv = np.unique(pairs[:, 0], return_inverse=True)
    order = np.argsort(inv, kind="stable")
    sorted_inv = inv[order]
    step = max(1, _DENSE_BLOCK // n)
    out = np.empty(len(pairs))
    for s in range(0, len(users), step):
        lo, hi = np.searchsorted(sorted_inv, [s, s + step])
        idx = order[lo:hi]
        block = _dense_path_rows(a, users[s:s + step], m, p)
        out[idx] = block[inv[idx] - s, pairs[idx, 1]]
    return out


def _dense_path_rows(a: sp.csr_matrix, users: np.ndarray, m: str, p: HeuristicParams) -> np.ndarray:
    """Katz / PPR rows of ``users`` as a dense ``[len(users), n]`` block: after a few hops the rows are nearly
    dense, where one sparse-times-dense product per step beats growing sparse rows."""
    n = a.shape[0]
    if m == "katz":
        coeffs, left_t, right_t = _katz_coeffs(p), a, a
    else:
        coeffs = _ppr_coeffs(p)
        walk = _random_walk(a).tocsr()
        left_t, right_t = walk.T.tocsr(), walk  # x @ M computed as (M^T @ x^T)^T
    xl = np.zeros((n, len(users)))
    xl[users, np.arange(len(users))] = 1.0
    xr = xl.copy() if m == "ppr" else None
    out = np.zeros((n, len(users)))
    for l, c in enumerate(coeffs):
        if l:
            xl = left_t @ xl
            if xr is not None:
                xr = right_t @ xr
        if c != 0.0:
            out += c * (xl + xr if xr is not None else xl)
    return out.T


def top_candidates(adj: sp.spmatrix, users: np.ndarray, k: int, method: str = "aa", *,
                   exclude_existing: bool = True, batch_size: int = 1024,
                   params: Optional[HeuristicParams] = None, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best-scoring candidates for each of ``users`` (friends-of-friends for the neighbourhood scores).

    Self is never a candidate; with ``exclude_existing`` neither are current neighbours in ``adj``. Only users
    with a positive score are returned, so a row may be short: missing slots hold candidate ``-1`` and score
    ``-inf`` (``pa`` ranks every user by degree and fills all slots the graph allows). ``aa`` / ``ra`` / ``cn``
    with ``exclude_existing`` run in the compiled friends-of-friends kernel
    (:func:`socialgraph.data.adjacency.friends_of_friends_scored`, memory ``O(n)`` whatever ``batch_size``);
    the rest in chunks of ``batch_size`` users through sparse matrix products (``katz`` / ``ppr`` over more than
    3 hops, whose rows are then nearly dense, through dense blocks of bounded size). Ties are broken by the
    smaller user row, except that on the dense path which of several users tied at the k-th score is kept is
    unspecified.

    Returns:
        ``(cand, scores)``: int64 ``[len(users), k]`` and float64 ``[len(users), k]``, best first.
    """
    m = _method(method)
    a = _check(adj)
    n = a.shape[0]
    users = np.asarray(users, dtype=np.int64).ravel()
    if len(users) and (users.min() < 0 or users.max() >= n):
        raise ValueError(f"users hold rows outside 0..{n - 1}")
    cand = np.full((len(users), k), -1, dtype=np.int64)
    score = np.full((len(users), k), -np.inf)
    if k <= 0 or len(users) == 0:
        return cand, score
    if fof_method(m) is not None and exclude_existing:
        g = graph_arrays(a)  # binary and simple after _check
        step = batch_size if progress else len(users)  # one pass, unless a progress bar wants chunks
        for s in _starts(len(users), step, m, progress):
            cand[s:s + step], score[s:s + step] = friends_of_friends_scored(g, users[s:s + step], k, m)
        return cand, score
    p = params or HeuristicParams()
    dense = {"katz": p.katz_max_length, "ppr": p.ppr_steps}.get(m, 2) > 3  # rows then reach most of the graph
    if dense:
        # Cap a dense block of path scores at _DENSE_BLOCK entries whatever batch_size asks.
        batch_size = max(1, min(batch_size, _DENSE_BLOCK // n))
    d = _degrees(a)
    by_degree = np.lexsort((np.arange(n), -d)) if m == "pa" else None
    for s in _starts(len(users), batch_size, m, progress):
        u = users[s:s + batch_size]
        rows, cols, vals = _chunk_scores(a, u, k, m, p, dense, d, by_degree, exclude_existing)
        _keep_best(rows, cols, vals, k, cand[s:s + len(u)], score[s:s + len(u)])
    return cand, score


def _starts(total: int, step: int, m: str, progress: bool):
    """The first index of each chunk of ``step`` out of ``total``, with a progress bar when asked."""
    starts = range(0, total, max(step, 1))
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=f"{m} candidates", unit="batch")
    return starts


def _chunk_scores(a: sp.csr_matrix, u: np.ndarray, k: int, m: str, p: HeuristicParams, dense: bool, d: np.ndarray,
                  by_degree: Optional[np.ndarray], exclude_existing: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, cols, vals)``: the positive scores of the users ``u`` (local rows) against candidate users, self
    and (with ``exclude_existing``) current neighbours removed, in no particular order (``d``: the degrees,
    ``by_degree``: users by decreasing degree, for ``pa``)."""
    n, b = a.shape[0], len(u)
    # Excluded (row, user) keys of this chunk: self, and the current neighbours.
    ex_rows, ex_cols = np.arange(b), u
    if exclude_existing:
        nb = a[u].tocoo()
        ex_rows, ex_cols = np.r_[ex_rows, nb.row], np.r_[ex_cols, nb.col]
    ex_keys = np.sort(ex_rows.astype(np.int64) * n + ex_cols)
    if m == "pa":
        # Every user is a candidate: the highest-degree ones, skipping at most (excluded per row) of them.
        width = min(n, k + 1 + (int(d[u].max()) if exclude_existing else 0))
        top = by_degree[:width]
        rows = np.repeat(np.arange(b), width)
        cols = np.tile(top, b)
        vals = d[u][rows] * d[cols]
    elif dense:
        block = _dense_path_rows(a, u, m, p)
        block[ex_keys // n, ex_keys % n] = 0.0
        # Only the best ``k`` of each row go on to the exact tie-broken sort.
        kk = min(k, n)
        part = np.argpartition(-block, kk - 1, axis=1)[:, :kk]
        vals = np.take_along_axis(block, part, 1).ravel()
        rows, cols = np.repeat(np.arange(b), kk), part.ravel()
        keep = vals > 0
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
    else:
        sc = score_rows(a, u, m, params=p).tocoo()
        keep = sc.data > 0
        rows, cols, vals = sc.row[keep], sc.col[keep], sc.data[keep]
    ok = ~sorted_member(ex_keys, rows.astype(np.int64) * n + cols)
    return rows[ok], cols[ok], vals[ok]


def _keep_best(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, k: int, cand: np.ndarray,
               score: np.ndarray) -> None:
    """Write the ``k`` best ``(cols, vals)`` of each local row into ``cand`` / ``score`` ``[b, k]`` (best first,
    ties to the smaller user row)."""
    order = np.lexsort((cols, -vals, rows))  # by row, then best score, then smaller user row
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.searchsorted(rows, np.arange(len(cand)))
    rank = np.arange(len(rows)) - first[rows]
    take = rank < k
    cand[rows[take], rank[take]] = cols[take]
    score[rows[take], rank[take]] = vals[take]


__all__ = ["HeuristicParams", "METHODS", "score_pairs", "score_rows", "top_candidates"]
