"""``socialgraph baseline`` (owned by the heuristics work)."""


def baseline() -> None:
    """Heuristic link-prediction baselines under the benchmark protocol."""
    raise NotImplementedError
