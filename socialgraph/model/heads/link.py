"""Link scorer: embeddings of both ends, the embeddings of their common neighbours, and pairwise structure.

For a pair :math:`(u, v)` with node states :math:`z`, common-neighbour indicator row :math:`c_{uv}` (normalised by
:math:`\\sqrt{\\mathrm{CN}}`) and structural features :math:`s_{uv}` (:mod:`socialgraph.model.pairwise`):

.. math::
    \\mathrm{logit}(u, v) = \\mathrm{MLP}\\big([\\, z_u \\odot z_v \\;\\Vert\\; c_{uv}^\\top Z \\;\\Vert\\;
        \\phi(s_{uv}) \\;\\Vert\\; \\chi(p_u \\odot p_v) \\;\\Vert\\; \\psi(r_{uv}) \\,]\\big)

where :math:`p` are the users' spectral positions in the training graph (:mod:`socialgraph.model.spectral`; a
linear map of their products spans the low-rank part of walk counts of every length, which reaches pairs that
have neither a common neighbour nor a short path), and :math:`r_{uv}` holds, per input modality, the cosine
similarity of the two users' raw encoded features and whether both have it (homophily made explicit: friends tend
to share tags, listening, page types).

With completion on, a further part pools the *soft* common neighbours of NCNC (Wang et al., 2023): each one-sided
neighbour :math:`w` of one end (:mod:`~socialgraph.model.pairwise`) counts as much as the scorer believes it is
also a neighbour of the other end,

.. math::
    \\hat c_{uv} = \\frac{1}{\\sqrt{|S_{uv}|}} \\Big(\\sum_{w \\in N_K(u) \\setminus N(v)}
        \\sigma(a^\\top (z_w \\odot z_v))\\, z_w
        + \\sum_{w \\in N_K(v) \\setminus N(u)} \\sigma(a^\\top (z_w \\odot z_u))\\, z_w\\Big),

with :math:`S_{uv}` the listed one-sided neighbours. NCNC takes that probability from a first-stage NCN; here a
gate :math:`a` on the node states learns it with the rest. It reaches pairs with no common friend at all, which
the common-neighbour pooling cannot.

The common-neighbour pooling :math:`c_{uv}^\\top Z` is the idea of Neural Common Neighbour (Wang et al., 2023);
:math:`\\phi` lets the scorer use CN / Adamic-Adar / resource allocation / degrees directly, as BUDDY does. Each
part can be switched off for ablations.
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Optional

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from socialgraph.model.pairwise import DEGREE_COLUMNS, NUM_PAIR_FEATURES, PairStructure

if TYPE_CHECKING:
    from socialgraph.model.social_model import NodeInputs

# The soft common neighbours use a CSR mask (torch.sparse.sampled_addmm), which warns once per process that CSR
# support is in beta; the operation is exact and tested (tests/test_model.py), so the notice is silenced where the
# mask is built, and only there.
_CSR_BETA = "Sparse CSR tensor support is in beta"


class LinkScorer(nn.Module):
    """Scores pairs of users; ``forward`` returns logits ``[B]``.

    Args:
        dim: node state width.
        hidden: MLP width.
        use_common_neighbours: pool the embeddings of common neighbours (NCN).
        use_structure: feed CN/AA/RA/3-path/degree features.
        dropout: MLP dropout.
        num_similarities: modalities whose raw similarity is fed (0: none).
        similarity_cold_only: feed the similarities only for pairs with a friendless end (zero degree in the
            structure graph); other pairs see zeros there.
        use_completion: pool soft common neighbours (needs ``PairStructure.one_sided``).
        num_positions: width ``k`` of the users' spectral positions whose products are fed (0: none).
    """

    def __init__(self, dim: int, hidden: int = 128, use_common_neighbours: bool = True, use_structure: bool = True,
                 dropout: float = 0.1, num_similarities: int = 0, use_completion: bool = False,
                 num_positions: int = 0, similarity_cold_only: bool = False) -> None:
        super().__init__()
        self.use_common_neighbours = use_common_neighbours
        self.use_structure = use_structure
        self.num_similarities = num_similarities
        self.similarity_cold_only = similarity_cold_only
        self.num_positions = num_positions
        self.completion_gate = nn.Linear(dim, 1) if use_completion else None
        self.completion = nn.Linear(dim, dim) if use_completion else None
        self.structure = nn.Sequential(nn.Linear(NUM_PAIR_FEATURES, dim), nn.ReLU(), nn.Linear(dim, dim))
        self.common = nn.Linear(dim, dim)
        self.similarity = nn.Sequential(nn.Linear(2 * num_similarities, dim), nn.ReLU(), nn.Linear(dim, dim)) \
            if num_similarities else None
        self.position = nn.Sequential(nn.Linear(num_positions, dim), nn.ReLU(), nn.Linear(dim, dim)) \
            if num_positions else None
        width = dim * (1 + int(use_common_neighbours) + int(use_structure) + int(num_similarities > 0)
                       + int(use_completion) + int(num_positions > 0))
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, hidden),
                                 nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in [*self.structure, self.common, *self.mlp, *(self.similarity or []), *(self.position or []),
                  self.completion_gate, self.completion]:
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()

    def forward(self, z: Tensor, pairs: Tensor, structure: PairStructure,
                similarity: Optional[Tensor] = None, positions: Optional[Tensor] = None) -> Tensor:
        """Logits ``[B]`` of ``pairs`` ``[B, 2]`` given node states ``z``, their structure and (when the scorer was
        built with ``num_similarities``) the ``[B, 2 * num_similarities]`` output of :func:`feature_similarity`
        and (with ``num_positions``) the users' spectral positions ``[n, num_positions]``, rows as in ``z``."""
        parts = [z[pairs[:, 0]] * z[pairs[:, 1]]]
        if self.use_common_neighbours:
            parts.append(self.common(_pool_common(structure.common, z)))
        if self.use_structure:
            parts.append(self.structure(structure.features))
        if self.completion is not None:
            parts.append(self.completion(self._soft_common(z, pairs, structure.one_sided)))
        if self.similarity is not None:
            if similarity is None:
                raise ValueError("this link scorer was built with feature similarities: pass similarity=")
            if self.similarity_cold_only:
                # Only where the graph says nothing about one end: elsewhere look-alike profiles without common
                # friends would outrank pairs with a neighbourhood (musae-facebook's page names).
                degrees = structure.features[:, list(DEGREE_COLUMNS)]
                similarity = similarity * (degrees.min(dim=1).values == 0).unsqueeze(1).to(similarity.dtype)
            parts.append(self.similarity(similarity))
        if self.position is not None:
            if positions is None or positions.shape[1] != self.num_positions:
                raise ValueError(f"this link scorer reads {self.num_positions} spectral positions per user: pass "
                                 "positions= (NodeInputs.positions, set when the model was trained)")
            parts.append(self.position(positions[pairs[:, 0]] * positions[pairs[:, 1]]))
        return self.mlp(torch.cat(parts, dim=1)).squeeze(-1)

    def _soft_common(self, z: Tensor, pairs: Tensor, one_sided: Optional[Tensor]) -> Tensor:
        if one_sided is None:
            raise ValueError("this link scorer completes common neighbours: compute the pair structure with "
                             "completion= (the model's link_completion)")
        num_pairs, n = len(pairs), z.shape[0]
        row, w, other = one_sided
        if row.numel() == 0:
            return z.new_zeros(num_pairs, z.shape[1])
        # The gate logit a.(z_w * z_other) + b is z_w . (a * z_other) + b: within a (pair, side) group the second
        # factor is shared, so all logits are one sampled dense-dense product over the groups, and the pool one sparse
        # product. Gathering z_w and z_other for every entry instead moves [M, dim] tensors through memory several
        # times (20 times slower on CPU). The sampled product wants CSR, i.e. groups in order and ids sorted in each,
        # which is how pair_structure lists them; remapped ids (neighbour-sampled training) are sorted here.
        group = 2 * row + (other == pairs[row, 0]).long()
        key = group * n + w
        if not bool((key[1:] > key[:-1]).all()):
            key, _ = torch.sort(key)
            group, w = key // n, key % n
        counts = torch.bincount(group, minlength=2 * num_pairs)
        crow = torch.zeros(2 * num_pairs + 1, dtype=torch.long, device=z.device)
        crow[1:] = torch.cumsum(counts, 0)
        sides = torch.stack([pairs[:, 1], pairs[:, 0]], dim=1).reshape(-1)  # group 2p pairs u's side with v
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_CSR_BETA, category=UserWarning)
            mask = torch.sparse_csr_tensor(crow, w, z.new_zeros(len(w)), (2 * num_pairs, n), check_invariants=False)
        q = z[sides] * self.completion_gate.weight[0]
        logits = torch.sparse.sampled_addmm(mask, q, z.t(), beta=0.0).values() + self.completion_gate.bias
        scale = (counts[0::2] + counts[1::2]).clamp_min(1).to(z.dtype).rsqrt()
        pooled = _SparsePool.apply(torch.sigmoid(logits) * scale[group // 2], z, group, w, mask)
        return pooled.view(num_pairs, 2, -1).sum(1)


class _SparsePool(torch.autograd.Function):
    """``out[g] = sum_e values[e] * z[col[e]]`` over the entries ``e`` of row ``g`` (rows sorted, ``mask`` their
    CSR pattern). torch's sparse-dense product differentiates its sparse values through the dense ``[rows, n]``
    product ``grad @ z^T`` (a second on a 7,000-user graph); here that gradient is the sampled product itself."""

    @staticmethod
    def forward(ctx, values: Tensor, z: Tensor, row: Tensor, col: Tensor, mask: Tensor) -> Tensor:
        ctx.save_for_backward(values, z, row, col)
        ctx.mask = mask
        pool = torch.sparse_coo_tensor(torch.stack([row, col]), values, (mask.shape[0], z.shape[0]),
                                       is_coalesced=True, check_invariants=False)
        return torch.sparse.mm(pool, z)

    @staticmethod
    def backward(ctx, grad: Tensor):
        values, z, row, col = ctx.saved_tensors
        g_values = g_z = None
        if ctx.needs_input_grad[0]:
            g_values = torch.sparse.sampled_addmm(ctx.mask, grad.contiguous(), z.t(), beta=0.0).values()
        if ctx.needs_input_grad[1]:
            pool_t = torch.sparse_coo_tensor(torch.stack([col, row]), values, (z.shape[0], ctx.mask.shape[0]),
                                             check_invariants=False)
            g_z = torch.sparse.mm(pool_t, grad)
        return g_values, g_z, None, None, None


def _pool_common(common: Tensor, z: Tensor) -> Tensor:
    """``common @ z`` in float32, outside any autocast (``train.precision`` bf16): torch's sparse product has no
    mixed-precision backward (it fails with "expected scalar type Float but found BFloat16")."""
    if not torch.is_autocast_enabled(z.device.type):
        return torch.sparse.mm(common, z)
    with torch.autocast(z.device.type, enabled=False):
        return torch.sparse.mm(common.float(), z.float())


def feature_similarity(users: "NodeInputs", pairs: Tensor) -> Tensor:
    """Per modality: cosine similarity of the two ends' encoded inputs (0 unless both have the modality) and the
    indicator that both have it; ``[B, 2M]`` in the order of ``users.x``."""
    cols = []
    for m, x in users.x.items():
        both = (users.mask[m][pairs[:, 0]] & users.mask[m][pairs[:, 1]]).float()
        cols.append(F.cosine_similarity(x[pairs[:, 0]], x[pairs[:, 1]], dim=-1) * both)
        cols.append(both)
    return torch.stack(cols, dim=1) if cols else torch.zeros(len(pairs), 0)
