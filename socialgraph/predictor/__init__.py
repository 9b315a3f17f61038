"""Prediction over a trained bundle: :class:`Predictor` (score, suggest, explain, new users, content)."""
from socialgraph.predictor.explanation import Explanation, SideExplanation
from socialgraph.predictor.predictor import HiddenUserError, Predictor, Suggestion, UnknownUserError

__all__ = ["Explanation", "HiddenUserError", "Predictor", "SideExplanation", "Suggestion",
           "UnknownUserError"]
