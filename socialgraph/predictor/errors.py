"""Errors of the prediction API."""
from __future__ import annotations


class UnknownUserError(KeyError):
    """An external user id the predictor does not know."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else "unknown user"


class HiddenUserError(UnknownUserError):
    """A user hidden from the asker, given where only a visible one may be (an end of an explained pair).

    A subclass of :class:`UnknownUserError`, so that a service answering "unknown user" for both gives the asker no
    way to tell a hidden user from one that does not exist."""
