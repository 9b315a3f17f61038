"""The model behind the HTTP service: one :class:`~socialgraph.predictor.Predictor` at a time, shared by concurrent
requests, replaced whole when the bundle changes.

Requests read under a shared lock; adding a user takes it exclusively, saves the predictor as the next version of
the bundle (atomically: :meth:`Predictor.save`) and only then answers, so a user the service acknowledged survives
a restart. :meth:`ModelService.reload` loads the bundle into a new predictor beside the old one, warms it, and swaps
the reference: requests in flight finish on the old predictor, new ones start on the new, none is refused.

Hidden users are unknown to the service: any request naming one gets the answer a nonexistent id gets.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Union

import numpy as np

from socialgraph.predictor import Predictor, UnknownUserError


class UnknownIdError(LookupError):
    """An id the service does not know (or may not show): answered 404 naming the request field."""

    def __init__(self, field: str, value: Any) -> None:
        super().__init__(f"{field}: unknown user {value!r}")


class ReadWriteLock:
    """Many readers or one writer; a waiting writer holds back new readers (a stream of reads cannot starve it)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            while self._writing or self._readers:
                self._cond.wait()
            self._waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class ModelService:
    """Args:
        bundle: the bundle folder to serve; users added through the service are saved back into it.
        hidden: external ids of users hidden from everyone (as ``Predictor(hidden=...)``).
        key: the bundle signing key (default ``$SOCIALGRAPH_BUNDLE_KEY``), used to verify and to sign saves.
    """

    def __init__(self, bundle: Union[str, os.PathLike], *, hidden: Iterable = (),
                 key: Union[str, bytes, None] = None) -> None:
        self.bundle = Path(bundle)
        self.hidden = list(hidden)
        self.key = key
        self.version = 0
        self._lock = ReadWriteLock()
        self._swap = threading.Lock()  # one reload or save at a time
        self.predictor = self._load()

    # ------------------------------------------------------------------ the predictor's life
    def _load(self) -> Predictor:
        p = Predictor.load(self.bundle, key=self.key, hidden=self.hidden)
        p.suggestion_pipeline().serialised_index()  # warm: states, keys, index (the first request pays nothing)
        return p

    def reload(self) -> int:
        """Load the bundle again (a retrained or updated model) without refusing any request; returns the new
        version number."""
        with self._swap:
            fresh = self._load()  # outside the lock: requests keep running on the current predictor
            with self._lock.write():
                self.predictor = fresh
                self.version += 1
            return self.version

    @contextmanager
    def reading(self) -> Iterator[Predictor]:
        with self._lock.read():
            yield self.predictor

    # ------------------------------------------------------------------ ids
    def row(self, p: Predictor, field: str, value: Any) -> int:
        """The row of one request id; :class:`UnknownIdError` for an unknown or hidden one."""
        value = self._as_graph_id(p, value)
        try:
            r = int(p.rows([value])[0])
        except UnknownUserError:
            raise UnknownIdError(field, value) from None
        if p.is_hidden(r):
            raise UnknownIdError(field, value)  # hidden users read as users that do not exist
        return r

    def id(self, p: Predictor, field: str, value: Any) -> Any:
        """The request id of ``field`` as the graph holds it, checked (:meth:`row`)."""
        self.row(p, field, value)
        return self._as_graph_id(p, value)

    def ids(self, p: Predictor, field: str, values: list) -> list:
        """The request ids of the list ``field``, each checked (``field[i]`` names a bad one)."""
        return [self.id(p, f"{field}[{i}]", v) for i, v in enumerate(values)]

    @staticmethod
    def _as_graph_id(p: Predictor, value: Any) -> Any:
        # JSON clients may send "42" for the integer id 42 (query strings always do).
        if isinstance(value, str) and np.issubdtype(np.asarray(p.graph.user_ids).dtype, np.integer):
            try:
                return int(value)
            except ValueError:
                return value
        return value

    def visible_users(self, p: Predictor) -> np.ndarray:
        ids = np.asarray(p.graph.user_ids)
        keep = np.ones(len(ids), bool)
        keep[p.hidden_rows] = False
        return ids[keep]

    # ------------------------------------------------------------------ writes
    def add_user(self, features: dict, friends: list, user_id: Optional[Any], k: int):
        """Add a user, save the bundle's next version, and return ``(user_id, version, suggestions)``."""
        with self._swap, self._lock.write():
            p = self.predictor
            friends = self.ids(p, "friends", friends)
            if user_id is not None:
                user_id = self._as_graph_id(p, user_id)
            uid = p.add_user(features, friends, user_id=user_id)  # checks the features before changing anything
            try:
                p.save(self.bundle, overwrite=True, key=self.key)
            except BaseException:
                self.predictor = self._load()  # the user was not saved: forget it, as a restart would
                raise
            self.version += 1
            return uid, self.version, p.suggest(uid, k)
