"""SparseGATConv against PyG's GATConv: the same outputs and gradients from the same weights, on a real graph and
on the awkward ones (duplicate edges, given self-loops, isolated users), and PyG's path wherever the fast one
does not apply."""
from __future__ import annotations

import numpy as np
import torch
from torch_geometric.nn import GATConv

from socialgraph.model.graph_encoder import GraphEncoder
from socialgraph.model.sparse_gat import SparseGATConv
from socialgraph.train.runtime import torch_settings
from tests.shipped import friend_graph


def _pair(dim: int = 16, heads: int = 2, dropout: float = 0.0, seed: int = 0) -> tuple[GATConv, SparseGATConv]:
    torch.manual_seed(seed)
    ref = GATConv(dim, dim // heads, heads=heads, dropout=dropout)
    for p in ref.parameters():  # the bias starts at zero: give every parameter a value
        torch.nn.init.normal_(p, std=0.3)
    fast = SparseGATConv(dim, dim // heads, heads=heads, dropout=dropout)
    fast.load_state_dict(ref.state_dict(), strict=True)  # the same parameter names: bundles load either way
    return ref, fast


def _forward_backward(conv, x: torch.Tensor, edge_index: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    x = x.clone().requires_grad_(True)
    conv.zero_grad()
    out = conv(x, edge_index)
    (out.square().sum() + out.sum()).backward()
    return out.detach(), [x.grad] + [p.grad for p in conv.parameters()]


def _assert_same(ref, fast, x, edge_index) -> None:
    out_ref, grads_ref = _forward_backward(ref, x, edge_index)
    out_fast, grads_fast = _forward_backward(fast, x, edge_index)
    torch.testing.assert_close(out_fast, out_ref, rtol=1e-5, atol=1e-5)
    for g_fast, g_ref in zip(grads_fast, grads_ref):
        torch.testing.assert_close(g_fast, g_ref, rtol=1e-4, atol=1e-4 * float(g_ref.abs().max()))


def _graph_ops(t: torch.Tensor) -> set[str]:
    """Names of the autograd nodes ``t`` was computed through."""
    seen, todo = set(), [t.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is not None and fn not in seen:
            seen.add(fn)
            todo.extend(f for f, _ in fn.next_functions)
    return {type(f).__name__ for f in seen}


def _musae_edges() -> tuple[torch.Tensor, int]:
    g = friend_graph("musae-facebook")
    e = g.friends[g.friends[:, 0] != g.friends[:, 1]]
    return torch.from_numpy(np.r_[e, e[:, ::-1]].T.copy()), g.num_users


def test_the_same_outputs_and_gradients_as_gatconv_on_musae_facebook():
    edge_index, n = _musae_edges()
    ref, fast = _pair(dim=32)
    x = torch.randn(n, 32, generator=torch.Generator().manual_seed(1))
    _assert_same(ref, fast, x, edge_index)
    assert "_AttentionSumBackward" in _graph_ops(fast(x.requires_grad_(True), edge_index))  # the fast path ran


def test_duplicate_edges_given_self_loops_and_isolated_users_are_treated_as_gatconv_treats_them():
    # user 5 has no edge; 0->1 twice; 2->2 and 3->3 are self-loops GATConv replaces by its own
    edge_index = torch.tensor([[0, 0, 1, 2, 3, 4, 1, 2], [1, 1, 0, 2, 3, 0, 4, 1]])
    ref, fast = _pair()
    x = torch.randn(6, 16, generator=torch.Generator().manual_seed(2))
    _assert_same(ref, fast, x, edge_index)


def test_attention_dropout_is_applied_in_training_only():
    edge_index, n = _musae_edges()
    ref, fast = _pair(dropout=0.5)
    x = torch.randn(n, 16, generator=torch.Generator().manual_seed(3))
    ref.eval(), fast.eval()
    torch.testing.assert_close(fast(x, edge_index), ref(x, edge_index), rtol=1e-5, atol=1e-5)
    fast.train()
    assert not torch.allclose(fast(x, edge_index), ref(x, edge_index), atol=1e-3)


def test_attention_weights_and_bipartite_inputs_take_pyg_path():
    ref, fast = _pair()
    edge_index = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    x = torch.randn(4, 16, generator=torch.Generator().manual_seed(4))
    out_ref, (ei_ref, alpha_ref) = ref(x, edge_index, return_attention_weights=True)
    out_fast, (ei_fast, alpha_fast) = fast(x, edge_index, return_attention_weights=True)
    assert torch.equal(ei_fast, ei_ref) and torch.equal(alpha_fast, alpha_ref) and torch.equal(out_fast, out_ref)
    torch.manual_seed(5)
    ref_b = GATConv((16, 16), 8, heads=2, add_self_loops=False)
    fast_b = SparseGATConv((16, 16), 8, heads=2, add_self_loops=False)
    fast_b.load_state_dict(ref_b.state_dict())
    xs, xd = torch.randn(5, 16), torch.randn(3, 16)
    bip = torch.tensor([[0, 1, 4, 2], [0, 0, 1, 2]])
    assert torch.equal(fast_b((xs, xd), bip), ref_b((xs, xd), bip))


def test_a_training_pass_repeats_exactly_with_two_threads():
    edge_index, n = _musae_edges()
    encoder = GraphEncoder(32, num_layers=2, heads=2, conv="gat", dropout=0.1)
    assert all(isinstance(c, SparseGATConv) for c in encoder.convs)
    x = torch.randn(n, 32, generator=torch.Generator().manual_seed(6))
    runs = []
    with torch_settings(2):
        for _ in range(2):
            torch.manual_seed(7)
            encoder.zero_grad()
            out = encoder({"user": x}, {("user", "friend", "user"): edge_index})["user"]
            out.square().sum().backward()
            runs.append([out.detach()] + [p.grad.clone() for p in encoder.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*runs))
    assert "_AttentionSumBackward" in _graph_ops(out)


def test_float64_takes_pyg_path():
    ref, fast = _pair()
    ref, fast = ref.double(), fast.double()
    edge_index = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    x = torch.randn(4, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    out = fast(x.requires_grad_(True), edge_index)
    assert torch.equal(out, ref(x, edge_index)) and "_AttentionSumBackward" not in _graph_ops(out)
