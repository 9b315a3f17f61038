"""node2vec-style embeddings without torch-cluster: uniform random walks in numpy, skip-gram in torch.

Walks are DeepWalk / node2vec with ``p = q = 1`` (each step picks a uniform neighbour), ``walks_per_node`` walks of
``walk_length`` nodes from every node with a neighbour. Skip-gram with negative sampling maximises
:math:`\\log\\sigma(e_u^\\top c_v) + \\sum_{k} \\log\\sigma(-e_u^\\top c_{w_k})` for every pair ``(u, v)`` at most
``window`` steps apart on a walk, ``w_k`` drawn from the unigram distribution to the power 3/4. A pair's score is
:math:`e_u^\\top e_v`.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm


def random_walks(adj: sp.csr_matrix, walks_per_node: int, walk_length: int, rng: np.random.Generator) -> np.ndarray:
    """``[walks, walk_length]`` uniform random walks from every node with at least one neighbour."""
    deg = np.diff(adj.indptr)
    starts = np.repeat(np.flatnonzero(deg > 0), walks_per_node)
    walks = np.empty((len(starts), walk_length), dtype=np.int64)
    walks[:, 0] = starts
    for t in range(1, walk_length):
        cur = walks[:, t - 1]
        walks[:, t] = adj.indices[adj.indptr[cur] + (rng.random(len(cur)) * deg[cur]).astype(np.int64)]
    return walks


def fit_node2vec(num_nodes: int, train: np.ndarray, *, dim: int = 64, walks_per_node: int = 10,
                 walk_length: int = 20, window: int = 5, negatives: int = 5, epochs: int = 1, lr: float = 0.01,
                 batch_size: int = 32768, seed: int = 0, progress: bool = False) -> np.ndarray:
    """Node embeddings ``[num_nodes, dim]`` from walks over the ``train`` pairs (isolated nodes keep their random
    initial vector)."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    t = np.asarray(train, dtype=np.int64).reshape(-1, 2)
    adj = sp.coo_matrix((np.ones(2 * len(t)), (np.r_[t[:, 0], t[:, 1]], np.r_[t[:, 1], t[:, 0]])),
                        shape=(num_nodes, num_nodes)).tocsr()
    walks = random_walks(adj, walks_per_node, walk_length, rng)
    centre = np.concatenate([walks[:, :-o].ravel() for o in range(1, window + 1)])
    context = np.concatenate([walks[:, o:].ravel() for o in range(1, window + 1)])
    freq = np.bincount(walks.ravel(), minlength=num_nodes) ** 0.75
    noise = torch.from_numpy(freq / freq.sum())
    emb = torch.nn.Embedding(num_nodes, dim)
    ctx = torch.nn.Embedding(num_nodes, dim)
    torch.nn.init.normal_(emb.weight, std=0.1)
    torch.nn.init.zeros_(ctx.weight)
    opt = torch.optim.Adam(list(emb.parameters()) + list(ctx.parameters()), lr=lr)
    for _ in range(epochs):
        perm = rng.permutation(len(centre))
        for i in tqdm(range(0, len(perm), batch_size), desc="node2vec", disable=not progress, leave=False):
            idx = perm[i:i + batch_size]
            u = torch.from_numpy(centre[idx])
            v = torch.from_numpy(context[idx])
            w = torch.multinomial(noise, len(idx) * negatives, replacement=True).view(len(idx), negatives)
            eu = emb(u)
            pos = (eu * ctx(v)).sum(-1)
            neg = torch.bmm(ctx(w), eu.unsqueeze(-1)).squeeze(-1)
            loss = F.softplus(-pos).mean() + F.softplus(neg).sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return emb.weight.detach().numpy()
