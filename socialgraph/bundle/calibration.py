"""From link logits to probabilities: Platt scaling fitted at training time on validation pairs.

The trainer fits ``p = sigmoid(a * logit + b)`` on validation friend pairs (whose edges the message passing had
not seen) against uniform non-edges, each weighted by the number of unknown pairs it stands for (see
:func:`platt_calibration`), and stores ``{"method": "platt", "a", "b", "base_rate", ...}``
under ``calibration`` in the bundle's metrics. A probability of 0.8 then means that about 80% of the pairs not
known to be friends that score 0.8 are hidden friendships. Bundles without it fall back to the plain sigmoid,
flagged by ``calibrated = False``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """``p = sigmoid(a * logit + b)``; ``method`` is ``platt`` or ``none`` (uncalibrated sigmoid)."""

    a: float = 1.0
    b: float = 0.0
    method: str = "none"

    @property
    def calibrated(self) -> bool:
        return self.method != "none"

    @classmethod
    def from_metrics(cls, metrics: Optional[dict]) -> "Calibration":
        c = (metrics or {}).get("calibration")
        if not c:
            return cls()
        return cls(float(c["a"]), float(c["b"]), str(c.get("method", "platt")))

    def log_odds(self, logits: np.ndarray) -> np.ndarray:
        """``a * logit + b`` in float64: ranks like the probability, but never ties where the probability rounds to
        1.0 (a log-odds above about 37), as it does for well-connected users' best candidates. Rank by this."""
        return self.a * np.asarray(logits, dtype=np.float64) + self.b

    def __call__(self, logits: np.ndarray) -> np.ndarray:
        x = self.log_odds(logits)
        # Split by sign so exp never overflows.
        out = np.empty_like(x)
        pos = x >= 0
        out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
        e = np.exp(x[~pos])
        out[~pos] = e / (1.0 + e)
        return out


def platt_calibration(pos: np.ndarray, neg: np.ndarray, unknown: Optional[int] = None) -> dict:
    """Platt scaling ``p = sigmoid(a * logit + b)`` fitted on positive / negative validation logits.

    ``neg`` is a uniform sample of the ``unknown`` pairs among which the positives were hidden (every pair that is
    neither a training nor a validation friendship). Each negative then stands for ``unknown / len(neg)`` pairs,
    so the fit sees the real base rate ``len(pos) / (len(pos) + unknown)`` instead of the sample's mix, and a
    probability of 0.8 means that about 80 % of the unknown pairs scored 0.8 are the hidden friendships. Without
    ``unknown`` the sample's own mix is the population (``negative_weight`` 1).
    """
    from sklearn.linear_model import LogisticRegression

    x = np.r_[pos, neg].astype(np.float64).reshape(-1, 1)
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    w_neg = 1.0 if unknown is None else max(unknown, 1) / len(neg)
    # Weights are normalised to a mean of 1 so that the regularisation strength does not depend on the pool size.
    w = np.r_[np.ones(len(pos)), np.full(len(neg), w_neg)]
    lr = LogisticRegression(C=1e4).fit(x, y, sample_weight=w * len(w) / w.sum())
    return {"method": "platt", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0]),
            "positives": int(len(pos)), "negatives": int(len(neg)), "negative_weight": float(w_neg),
            "base_rate": float(len(pos) / (len(pos) + w_neg * len(neg)))}
