"""Compiled graph kernels (numba, single-threaded) behind :mod:`socialgraph.data.adjacency` and
:func:`socialgraph.model.pairwise.pair_structure`.

All work straight on the CSR arrays of a symmetric binary adjacency with *sorted* neighbour lists, and write into
arrays the caller allocates (no state of their own).

* :func:`common_neighbours`: per pair, the sorted intersection ``N(u) & N(v)`` (a linear merge when both lists
  are of similar length, a binary search of the shorter list's members in the longer one when one side is a hub),
  with CN, Adamic-Adar and resource-allocation sums, and the common neighbours themselves for pooling.
* :func:`paths3`: ``(A^3)_{uv} = \\sum_{x \\in N(u)} \\sum_{y \\in N(x)} A_{yv}`` with a dense scratch counter,
  and the same sum weighted by ``1 / (d_x d_y)`` (the random-walk part of the 3-step transition probability).
  Pairs come sorted by first user; a run of pairs sharing ``u`` scatters the 2-hop counts of ``u`` once
  (``vol2(u) = \\sum_{x \\in N(u)} d_x`` increments) and reads each candidate ``v`` in ``d_v`` lookups, so the
  job's ~50 candidates per user share one expansion. A lone pair picks the cheaper side: mark ``N(v)`` and walk
  the 2-hop of ``u``, or the mirror image.
* :func:`one_sided`: per pair and end, the neighbours that the other end lacks (a linear merge of the two sorted
  lists), the ``k`` of lowest degree when there are more (soft common neighbours, NCNC's completion).
* :func:`fof_topk`: per user, the ``k`` best friends-of-friends by a weighted common-neighbour sum (AA, RA, CN):
  one 2-hop expansion into a dense accumulator and a bounded heap.
* :func:`count_common`: per pair, ``|N(u) & N(v)|``, optionally not counting some members.

No numbers change with the algorithm: counts are exact integers, AA/RA add the same float32 weights in the same
(ascending neighbour) order as scipy's float32 sparse product did, so the features are bit-identical.
"""
from __future__ import annotations

import numpy as np
from numba import njit

#: a pair's lists are merged when the longer one is at most this many times the shorter, else binary-searched
_MERGE_RATIO = 8


@njit(cache=True, nogil=True, inline="always")
def _lower_bound(indices, lo, hi, x):
    """The first position in ``[lo, hi)`` of the sorted ``indices`` holding a value >= ``x`` (``hi`` if none)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if indices[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def _intersect(indices, a0, a1, b0, b1, out, o):
    """Write the sorted intersection of ``indices[a0:a1]`` and ``indices[b0:b1]`` to ``out[o:]``; return the
    new end."""
    la, lb = a1 - a0, b1 - b0
    if la > lb:
        a0, a1, b0, b1, la, lb = b0, b1, a0, a1, lb, la
    if la == 0:
        return o
    if lb > _MERGE_RATIO * la:
        lo = b0
        for i in range(a0, a1):
            x = indices[i]
            lo = _lower_bound(indices, lo, b1, x)
            if lo == b1:
                break
            if indices[lo] == x:
                out[o] = x
                o += 1
                lo += 1
        return o
    i, j = a0, b0
    while i < a1 and j < b1:
        x, y = indices[i], indices[j]
        if x == y:
            out[o] = x
            o += 1
            i += 1
            j += 1
        elif x < y:
            i += 1
        else:
            j += 1
    return o


@njit(cache=True, nogil=True)
def common_neighbours(indptr, indices, w_aa, w_ra, u, v, starts, buf, cn, aa, ra):
    """Fill ``cn``, ``aa``, ``ra`` (per pair) and ``buf[starts[i]:starts[i] + cn[i]]`` (pair ``i``'s common
    neighbours, sorted); ``starts`` must leave ``min(d_u, d_v)`` slots per pair."""
    for p in range(len(u)):
        a, b = u[p], v[p]
        s = starts[p]
        e = _intersect(indices, indptr[a], indptr[a + 1], indptr[b], indptr[b + 1], buf, s)
        sa = np.float32(0.0)  # float32 sums in neighbour order: the very numbers scipy's float32 product gives
        sr = np.float32(0.0)
        for k in range(s, e):
            w = buf[k]
            sa += w_aa[w]
            sr += w_ra[w]
        cn[p] = e - s
        aa[p] = sa
        ra[p] = sr


@njit(cache=True, nogil=True)
def compact(buf, starts, counts, offsets, out):
    """``out[offsets[i]:offsets[i] + counts[i]] = buf[starts[i]:starts[i] + counts[i]]``."""
    for p in range(len(starts)):
        s, o = starts[p], offsets[p]
        for k in range(counts[p]):
            out[o + k] = buf[s + k]


@njit(cache=True, nogil=True, inline="always")
def _run_end(indptr, vol2, u, v, order, i):
    """The end ``j`` of the run ``order[i:j]`` of pairs sharing the first user ``u[order[i]]``, and whether one
    2-hop expansion shared by the run costs less than pair-by-pair walks."""
    m = len(order)
    a = u[order[i]]
    j = i
    cost_each = 0
    cost_run = 2 * vol2[a]
    while j < m and u[order[j]] == a:
        b = v[order[j]]
        db = indptr[b + 1] - indptr[b]
        da = indptr[a + 1] - indptr[a]
        cost_each += min(db + vol2[a], da + vol2[b]) * 2
        cost_run += db
        j += 1
    return j, cost_run <= cost_each


@njit(cache=True, nogil=True, inline="always")
def _paths3_run(indptr, indices, w, a, v, order, i, j, scratch, scratch_w, out, out_w):
    """3-paths of the pairs ``order[i:j]`` (all with first user ``a``) from one 2-hop expansion of ``a`` into the
    scratch counters (``w[y]`` is applied when reading, not per increment); the counters are zeroed again."""
    for k in range(indptr[a], indptr[a + 1]):
        x = indices[k]
        wx = w[x]
        for t in range(indptr[x], indptr[x + 1]):
            y = indices[t]
            scratch[y] += 1
            scratch_w[y] += wx
    for q in range(i, j):
        p = order[q]
        b = v[p]
        s = 0
        sw = 0.0
        for k in range(indptr[b], indptr[b + 1]):
            y = indices[k]
            s += scratch[y]
            sw += scratch_w[y] * w[y]
        out[p] = s
        out_w[p] = sw
    for k in range(indptr[a], indptr[a + 1]):
        x = indices[k]
        for t in range(indptr[x], indptr[x + 1]):
            scratch[indices[t]] = 0
            scratch_w[indices[t]] = 0.0


@njit(cache=True, nogil=True, inline="always")
def _paths3_pair(indptr, indices, vol2, w, a, b, scratch):
    """``((A^3)_{ab}, (A W A W A)_{ab})`` of one pair: mark ``N(far)``, walk the 2-hop of ``near``, whichever
    side is cheaper (``d_far + vol2(near)``); ``scratch`` is zeroed again."""
    near, far = a, b
    if (indptr[a + 1] - indptr[a]) + vol2[b] < (indptr[b + 1] - indptr[b]) + vol2[a]:
        near, far = b, a
    for k in range(indptr[far], indptr[far + 1]):
        scratch[indices[k]] = 1
    s = 0
    sw = 0.0
    for k in range(indptr[near], indptr[near + 1]):
        x = indices[k]
        wx = w[x]
        for t in range(indptr[x], indptr[x + 1]):
            y = indices[t]
            if scratch[y]:
                s += 1
                sw += wx * w[y]
    for k in range(indptr[far], indptr[far + 1]):
        scratch[indices[k]] = 0
    return s, sw


@njit(cache=True, nogil=True)
def paths3(indptr, indices, vol2, w, u, v, order, scratch, scratch_w, out, out_w):
    """``out[i] = (A^3)_{u_i v_i}`` and ``out_w[i] = (A W A W A)_{u_i v_i}`` with ``W = diag(w)`` (the 3-paths
    weighted by the inverse degrees of their two inner nodes when ``w = 1/d``); ``order`` sorts the pairs by
    ``u``; ``scratch`` (int32) and ``scratch_w`` (float64) are all-zero ``[n]`` arrays and are all zero again on
    return."""
    m = len(order)
    i = 0
    while i < m:
        j, shared = _run_end(indptr, vol2, u, v, order, i)
        if shared:
            _paths3_run(indptr, indices, w, u[order[i]], v, order, i, j, scratch, scratch_w, out, out_w)
        else:
            for q in range(i, j):
                p = order[q]
                s, sw = _paths3_pair(indptr, indices, vol2, w, u[p], v[p], scratch)
                out[p] = s
                out_w[p] = sw
        i = j


@njit(cache=True, nogil=True)
def _worse(s1, i1, s2, i2):
    """Whether candidate ``(s1, i1)`` ranks below ``(s2, i2)`` (lower score, or the same score and a larger row)."""
    return s1 < s2 or (s1 == s2 and i1 > i2)


@njit(cache=True, nogil=True)
def _sift_down(hs, hi, size, pos):
    while True:
        c = 2 * pos + 1
        if c >= size:
            return
        if c + 1 < size and _worse(hs[c + 1], hi[c + 1], hs[c], hi[c]):
            c += 1
        if _worse(hs[c], hi[c], hs[pos], hi[pos]):
            hs[c], hs[pos] = hs[pos], hs[c]
            hi[c], hi[pos] = hi[pos], hi[c]
            pos = c
        else:
            return


@njit(cache=True, nogil=True, inline="always")
def _two_hop_sums(indptr, indices, weight, u, acc, flag, touched):
    """Add ``weight[x]`` to ``acc[y]`` for every 2-hop path ``u, x, y`` whose end ``y`` is neither ``u`` nor a
    neighbour of ``u``; list each such ``y`` once in ``touched`` and return how many (their ``flag`` is 1 and the
    flags of ``u`` and its neighbours are 2 on return)."""
    m = 0
    flag[u] = 2
    for t in range(indptr[u], indptr[u + 1]):
        flag[indices[t]] = 2
    for t in range(indptr[u], indptr[u + 1]):
        x = indices[t]
        wx = weight[x]
        for q in range(indptr[x], indptr[x + 1]):
            y = indices[q]
            if flag[y] == 0:
                flag[y] = 1
                touched[m] = y
                m += 1
            if flag[y] == 1:
                acc[y] += wx
    return m


@njit(cache=True, nogil=True, inline="always")
def _heap_offer(hs, hi, size, k, s, y):
    """Offer candidate ``(s, y)`` to the bounded min-heap ``hs`` / ``hi`` (worst at the root) of ``size <= k``
    entries; return the new size."""
    if size < k:
        hs[size] = s
        hi[size] = y
        size += 1
        c = size - 1  # sift up
        while c > 0:
            pa = (c - 1) >> 1
            if _worse(hs[c], hi[c], hs[pa], hi[pa]):
                hs[c], hs[pa] = hs[pa], hs[c]
                hi[c], hi[pa] = hi[pa], hi[c]
                c = pa
            else:
                break
    elif _worse(hs[0], hi[0], s, y):
        hs[0] = s
        hi[0] = y
        _sift_down(hs, hi, size, 0)
    return size


@njit(cache=True, nogil=True, inline="always")
def _heap_drain(hs, hi, size, cand, score, r):
    """Pop the heap worst-first into the slots of row ``r`` from the back: best first."""
    for j in range(size - 1, -1, -1):
        cand[r, j] = hi[0]
        score[r, j] = hs[0]
        hs[0] = hs[j]
        hi[0] = hi[j]
        _sift_down(hs, hi, j, 0)


@njit(cache=True, nogil=True)
def fof_topk(indptr, indices, weight, users, k, acc, flag, touched, cand, score):
    """The ``k`` best friends-of-friends of each user by ``sum_{w in N(u) & N(v)} weight[w]`` (Adamic-Adar,
    resource allocation or common neighbours, by the weights given), self and existing neighbours excluded, best
    first, ties to the smaller row; empty slots keep whatever ``cand`` / ``score`` held (``-1`` / ``-inf``).

    Scores are the scipy formulation's (:func:`socialgraph.eval.heuristics.score_rows`) up to float64 rounding
    (added in ascending order of the common neighbour). ``acc`` (float64 ``[n]``), ``flag`` (int8 ``[n]``) are
    zero on entry and on return; ``touched`` int64 ``[n]``."""
    hs = np.empty(k, np.float64)
    hi = np.empty(k, np.int64)
    for r in range(len(users)):
        u = users[r]
        m = _two_hop_sums(indptr, indices, weight, u, acc, flag, touched)
        size = 0
        for j in range(m):
            y = touched[j]
            s = acc[y]
            acc[y] = 0.0
            flag[y] = 0
            if s > 0:
                size = _heap_offer(hs, hi, size, k, s, y)
        flag[u] = 0
        for t in range(indptr[u], indptr[u + 1]):
            flag[indices[t]] = 0
        _heap_drain(hs, hi, size, cand, score, r)


@njit(cache=True, nogil=True)
def count_common(indptr, indices, u, v, skip, out):
    """``out[i] = |N(u_i) & N(v_i)|`` not counting members ``w`` with ``skip[w]`` (``skip`` may be empty)."""
    has_skip = len(skip) > 0
    width = 0
    for p in range(len(u)):
        width = max(width, min(indptr[u[p] + 1] - indptr[u[p]], indptr[v[p] + 1] - indptr[v[p]]))
    buf = np.empty(width, indices.dtype)
    for p in range(len(u)):
        a, b = u[p], v[p]
        m = _intersect(indices, indptr[a], indptr[a + 1], indptr[b], indptr[b + 1], buf, 0)
        c = 0
        for t in range(m):
            if not (has_skip and skip[buf[t]]):
                c += 1
        out[p] = c


@njit(cache=True, nogil=True, inline="always")
def _keep_smallest(best, m, k, key):
    """Insert ``key`` into ``best[:m]`` (sorted, at most ``k`` kept); return the new count."""
    if m < k:
        t = m
        m += 1
    elif key < best[k - 1]:
        t = k - 1
    else:
        return m
    while t > 0 and best[t - 1] > key:
        best[t] = best[t - 1]
        t -= 1
    best[t] = key
    return m


@njit(cache=True, nogil=True, inline="always")
def _emit(best, m, n, p, other, out_row, out_w, out_other, o):
    """Write the ids behind the (degree, id) keys ``best[:m]`` in increasing id order; return the new end."""
    for t in range(m):  # insertion sort of <= k ids: the scorer's sparse products want sorted columns
        x = best[t] % n
        r = t
        while r > 0 and best[r - 1] > x:
            best[r] = best[r - 1]
            r -= 1
        best[r] = x
    for t in range(m):
        out_row[o] = p
        out_w[o] = best[t]
        out_other[o] = other
        o += 1
    return o


@njit(cache=True, nogil=True)
def one_sided(indptr, indices, deg, u, v, k, out_row, out_w, out_other):
    """Per pair ``p`` and side, the neighbours of one end that are neither a neighbour of the other end nor the
    other end itself; when there are more than ``k``, the ``k`` of lowest degree (ties by id). One sorted merge of
    the two lists finds both sides. Entries are written one after the other, pair by pair, the first end's side
    before the second's, each side in increasing id: the pair's row to ``out_row``, the neighbour to ``out_w``, the
    end it is paired with to ``out_other``. Returns how many."""
    n = len(indptr) - 1
    best_u = np.empty(k, np.int64)  # per side, the k smallest (degree, id) keys so far, sorted
    best_v = np.empty(k, np.int64)
    o = 0
    for p in range(len(u)):
        a, b = u[p], v[p]
        i, i1, j, j1 = indptr[a], indptr[a + 1], indptr[b], indptr[b + 1]
        mu, mv = 0, 0
        while i < i1 or j < j1:
            x = indices[i] if i < i1 else n
            y = indices[j] if j < j1 else n
            if x == y:  # a common neighbour
                i += 1
                j += 1
            elif x < y:  # only a's
                if x != b:
                    mu = _keep_smallest(best_u, mu, k, np.int64(deg[x]) * n + x)
                i += 1
            else:  # only b's
                if y != a:
                    mv = _keep_smallest(best_v, mv, k, np.int64(deg[y]) * n + y)
                j += 1
        o = _emit(best_u, mu, n, p, b, out_row, out_w, out_other, o)
        o = _emit(best_v, mv, n, p, a, out_row, out_w, out_other, o)
    return o


__all__ = ["common_neighbours", "compact", "count_common", "fof_topk", "one_sided", "paths3"]
