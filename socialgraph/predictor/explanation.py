"""What an explanation of one pair holds, printed for people and serialised for programs."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SideExplanation:
    """One end of the pair: how much each modality weighed in its fused input (``fallback`` is the learned token
    every user has), and the friends whose messages the last attention layer weighed most (``self`` included)."""

    user: Any
    known: bool
    modalities: dict[str, float] = field(default_factory=dict)
    neighbours: list[tuple[Any, float]] = field(default_factory=list)


@dataclass
class Explanation:
    """Why the model scores ``u`` and ``v`` as it does.

    Attributes:
        u, v: external ids.
        score: calibrated probability that the relationship forms; ``logit`` the raw link logit.
        already_friends: whether ``u`` and ``v`` are friends in the graph the predictor holds.
        mutual_friends: common friends the asker may see (hidden users left out).
        heuristics: ``cn``, ``aa``, ``ra``, ``jaccard`` on the friend graph the model passes messages over, as the
            asker may see it: hidden users and their edges removed, degrees recomputed without them.
        sides: ``{"u": SideExplanation, "v": SideExplanation}``.

    Every field is computed on that graph (:mod:`~socialgraph.predictor.visibility`): none depends on a hidden
    user, so the numbers cannot be combined to recover one (``aa`` minus the visible friends' terms is 0).
    """

    u: Any
    v: Any
    score: float
    logit: float
    already_friends: bool
    mutual_friends: list = field(default_factory=list)
    heuristics: dict[str, float] = field(default_factory=dict)
    sides: dict[str, SideExplanation] = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        for side in d["sides"].values():
            side["neighbours"] = [{"user": _plain(u), "attention": float(a)} for u, a in side["neighbours"]]
            side["user"] = _plain(side["user"])
        d["u"], d["v"] = _plain(self.u), _plain(self.v)
        d["mutual_friends"] = [_plain(m) for m in self.mutual_friends]
        return d

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), default=float, **kwargs)

    def __str__(self) -> str:
        lines = [f"{self.u} - {self.v}: probability {self.score:.3f} (logit {self.logit:+.2f})"
                 + ("  [already friends]" if self.already_friends else "")]
        shown = ", ".join(map(str, self.mutual_friends[:10])) + (" ..." if len(self.mutual_friends) > 10 else "")
        lines.append(f"  mutual friends ({len(self.mutual_friends)}): {shown or '-'}")
        lines.append("  heuristics: " + "  ".join(f"{k}={v:.3f}" for k, v in self.heuristics.items()))
        for name, side in self.sides.items():
            tag = "" if side.known else " (new user: no trained id vector)"
            mods = ", ".join(f"{m} {w:.2f}" for m, w in sorted(side.modalities.items(), key=lambda t: -t[1]))
            lines.append(f"  {name}={side.user}{tag}")
            lines.append(f"    modalities: {mods or '-'}")
            nb = ", ".join(f"{u} {a:.2f}" for u, a in side.neighbours)
            lines.append(f"    attention:  {nb or '-'}")
        return "\n".join(lines)


def _plain(x: Any) -> Any:
    """numpy scalars as Python ones, so JSON and equality behave."""
    return x.item() if hasattr(x, "item") else x


def plain(x: Any) -> Any:
    """A numpy scalar id as the Python value it holds (ids in results print and serialise as the caller gave them)."""
    return x.item() if hasattr(x, "item") else x
