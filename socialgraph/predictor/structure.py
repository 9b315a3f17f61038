"""Pairwise structure for candidate pairs grouped by user (kept for callers of the predictor and the job).

:func:`socialgraph.model.pairwise.pair_structure` now shares the 2-hop expansion behind the 3-path count between
pairs with the same first user itself (compiled kernels, :mod:`socialgraph.model.pair_kernels`), so
:func:`grouped_pair_structure` is that function; the test suite still checks that both give identical features.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.sparse as sp

from socialgraph.model.pairwise import PairStructure, pair_structure


def grouped_pair_structure(adj: sp.csr_matrix, pairs: np.ndarray, deg: Optional[np.ndarray] = None) -> PairStructure:
    """Identical to ``pair_structure(adj, pairs, deg)``. ``deg``: the float32 degrees of ``adj`` when the caller
    has them cached (one pass over the graph less per call)."""
    return pair_structure(adj, pairs, deg)
