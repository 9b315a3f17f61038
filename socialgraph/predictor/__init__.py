"""Prediction over a trained bundle: :class:`Predictor` (score, suggest, explain, new users, content) and the one
suggestion pipeline it shares with the offline job."""
from socialgraph.predictor.errors import HiddenUserError, UnknownUserError
from socialgraph.predictor.explanation import Explanation, SideExplanation
from socialgraph.predictor.predictor import Predictor, Suggestion
from socialgraph.predictor.suggestions import CandidateConfig, SuggestionPipeline, SuggestionTable

__all__ = ["CandidateConfig", "Explanation", "HiddenUserError", "Predictor", "SideExplanation", "Suggestion",
           "SuggestionPipeline", "SuggestionTable", "UnknownUserError"]
