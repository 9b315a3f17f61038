"""Prediction over a trained bundle: :class:`Predictor` (score, suggest, explain, new users, content)."""
from socialgraph.predictor.calibration import Calibration
from socialgraph.predictor.explanation import Explanation, SideExplanation
from socialgraph.predictor.predictor import HiddenUserError, Predictor, Suggestion, UnknownUserError

__all__ = ["Calibration", "Explanation", "HiddenUserError", "Predictor", "SideExplanation", "Suggestion",
           "UnknownUserError"]
