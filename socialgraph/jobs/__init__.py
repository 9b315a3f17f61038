"""Offline jobs over a trained bundle: the friend-suggestion job (local or on Ray)."""
from socialgraph.jobs.output import JobError, read_suggestions
from socialgraph.jobs.suggest import ENGINES, run_suggest_job

__all__ = ["ENGINES", "JobError", "read_suggestions", "run_suggest_job"]
