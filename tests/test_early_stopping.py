"""EarlyStopping on its own: stops after ``patience`` passes without a strictly better criterion, and gives back
the weights of the best pass (a copy, untouched by later training)."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from socialgraph.train.early_stopping import EarlyStopping


def _set(model: nn.Linear, value: float) -> None:
    with torch.no_grad():
        model.weight.fill_(value)
        model.bias.fill_(value)


def test_stops_after_patience_passes_without_improvement_and_restores_the_best():
    model = nn.Linear(2, 1)
    stopping = EarlyStopping(patience=3)
    # (weights at the pass, criterion): 0.5 is best; the second 0.5 ties and so does not improve.
    passes = [(1.0, 0.1), (2.0, 0.5), (3.0, 0.4), (4.0, 0.5), (5.0, 0.3), (6.0, 0.9)]
    improved, stopped_at = [], None
    for i, (weight, criterion) in enumerate(passes):
        _set(model, weight)
        improved.append(stopping.update(criterion, model, {"pass": i}))
        if stopping.exhausted:
            stopped_at = i
            break
    assert improved == [True, True, False, False, False]
    assert stopped_at == 4 and stopping.bad == 3
    assert stopping.best == 0.5 and stopping.best_record == {"pass": 1}
    assert torch.equal(stopping.best_state["weight"], torch.full((1, 2), 2.0))  # a copy: later passes left it
    stopping.restore(model)
    assert torch.equal(model.weight, torch.full((1, 2), 2.0)) and torch.equal(model.bias, torch.full((1,), 2.0))


def test_an_improvement_resets_the_count():
    model = nn.Linear(1, 1)
    stopping = EarlyStopping(patience=2)
    for criterion in (0.3, 0.2, 0.4, 0.1):
        stopping.update(criterion, model)
    assert stopping.bad == 1 and not stopping.exhausted and stopping.best == 0.4


def test_without_patience_it_only_keeps_the_best_and_nan_never_improves():
    model = nn.Linear(1, 1)
    stopping = EarlyStopping()
    stopping.restore(model)  # nothing reported yet: nothing to restore, no error
    assert stopping.best == -math.inf and stopping.best_state is None
    for criterion in (0.2, math.nan, 0.1, 0.0, -1.0):
        stopping.update(criterion, model)
    assert stopping.best == 0.2 and stopping.bad == 4 and not stopping.exhausted
    with pytest.raises(ValueError, match="patience must be at least 1"):
        EarlyStopping(patience=0)
