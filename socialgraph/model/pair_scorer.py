"""Link logits of many pairs after training: the trained link head applied batch by batch.

For user-row pairs :math:`(u, v)` the logit is :meth:`SocialModel.score_links` of the users' states after message
passing, the pair structure of :math:`(u, v)` on the message-passing graph (common neighbours, walks, degrees, see
:mod:`~socialgraph.model.pairwise`) and the users' inputs (positions, and raw-feature similarities when the scorer
reads them). :class:`PairScorer` is the one place that computes it: the fitted model (validation, calibration,
test metrics), the predictor (score, suggest, explain) and the suggestion job all call :meth:`PairScorer.logits`.
It is a plain picklable object, so a distributed job ships it to its workers once.

The scorer computes where its ``states`` are (the model and the inputs must be on that device too): the pair
structure is computed on the CPU and moved there batch by batch, and the logits come back to the CPU. On the CPU
nothing moves.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Union

import numpy as np
import scipy.sparse as sp
import torch

from socialgraph.data.adjacency import GraphArrays, as_graph_arrays
from socialgraph.model.pairwise import PairStructure, pair_structure
from socialgraph.model.social_model import NodeInputs, SocialModel


@dataclass
class PairScorer:
    """The trained link scorer over fixed user states and a fixed message-passing graph.

    Args:
        model: the trained network (its link head and its ``link_completion`` setting are read).
        states: ``[num_users, dim]`` user states after message passing, rows as in ``graph``.
        graph: the message-passing friend graph the pair structure is computed on: an ``[n, n]`` CSR matrix
            (its :class:`~socialgraph.data.adjacency.GraphArrays` are computed once, here) or those arrays.
        inputs: the users' encoded inputs. Only the positions (and, when the scorer reads raw-feature
            similarities, the modalities) are read; :meth:`lean` drops the rest.
        batch_size: pairs per scorer call: ~16k keeps the MLP's activations in cache.
    """

    model: SocialModel
    states: torch.Tensor
    graph: Union[sp.csr_matrix, GraphArrays]
    inputs: NodeInputs
    batch_size: int = 16384

    def __post_init__(self) -> None:
        self.graph = as_graph_arrays(self.graph)

    def lean(self) -> "PairScorer":
        """The same scorer holding only the inputs it reads (what a job ships to its workers)."""
        if self.model.link.num_similarities:
            return self
        return PairScorer(self.model, self.states, self.graph,
                          NodeInputs(self.inputs.num, positions=self.inputs.positions), self.batch_size)

    @torch.inference_mode()
    def logits(self, pairs: Union[np.ndarray, list]) -> np.ndarray:
        """float32 ``[P]`` logits of user-row pairs ``[P, 2]`` (computed on the states' device, returned as a
        CPU array)."""
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        completion = self.model.config.link_completion
        device = self.states.device
        out = []
        for i in range(0, len(pairs), self.batch_size):
            p = pairs[i:i + self.batch_size]
            structure = _structure_to(pair_structure(self.graph, p, completion=completion), device)
            logits = self.model.score_links(self.states, torch.from_numpy(p).to(device), structure, self.inputs)
            out.append(logits.cpu().numpy())
        return np.concatenate(out).astype(np.float32, copy=False) if out else np.zeros(0, np.float32)


def _structure_to(structure: PairStructure, device: torch.device) -> PairStructure:
    """``structure`` with its tensors on ``device`` (the same object on the CPU, where it is computed)."""
    if device.type == "cpu":
        return structure
    if hasattr(structure, "to"):
        return structure.to(device)
    return replace(structure, **{f.name: getattr(structure, f.name).to(device) for f in fields(structure)
                                 if isinstance(getattr(structure, f.name), torch.Tensor)})
