"""Typed requests and responses of the HTTP service (pydantic): what goes in, what comes out, checked on the way
in so that a bad request gets a 422 naming its field before any model work."""
from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

#: An external user id as JSON carries it (the graph's ids are integers or strings).
UserId = Union[int, str]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not silently ignored


class ScoreRequest(_Request):
    u: UserId
    v: UserId


class ScoreResponse(BaseModel):
    u: UserId
    v: UserId
    score: float = Field(description="calibrated probability that u and v are, or become, friends")


class ScoreBatchRequest(_Request):
    pairs: list[tuple[UserId, UserId]] = Field(min_length=1, max_length=100_000)


class ScoreBatchResponse(BaseModel):
    scores: list[float]


class SuggestRequest(_Request):
    user: UserId
    k: int = Field(20, ge=1, le=1000)
    exclude: list[UserId] = Field(default_factory=list, description="never suggested to this user")
    candidates: Optional[list[UserId]] = Field(None, description="rank only these users")
    hidden: list[UserId] = Field(default_factory=list, description="users this asker may not see")


class SuggestionOut(BaseModel):
    user_id: UserId
    score: float
    mutual_friends: int
    reason: str
    reasons: list[str]


class SuggestResponse(BaseModel):
    user: UserId
    suggestions: list[SuggestionOut]


class ExplainRequest(_Request):
    u: UserId
    v: UserId
    top_neighbours: int = Field(5, ge=0, le=100)
    hidden: list[UserId] = Field(default_factory=list, description="users this asker may not see")


class SideOut(BaseModel):
    user: UserId
    known: bool = Field(description="whether the model learned an id vector for this user (false: a new user)")
    modalities: dict[str, float] = Field(description="how much each modality weighed in the fused input")
    neighbours: list[tuple[Any, float]] = Field(description="friends the last attention layer weighed most")


class ExplainResponse(BaseModel):
    u: UserId
    v: UserId
    score: float
    logit: float
    already_friends: bool
    mutual_friends: list[UserId]
    heuristics: dict[str, float]
    sides: dict[str, SideOut]


class NewUserRequest(_Request):
    features: dict[str, Any] = Field(description="attribute column -> value, as in the users table")
    friends: list[UserId] = Field(default_factory=list)
    user_id: Optional[UserId] = None
    k: int = Field(20, ge=1, le=1000)


class NewUserResponse(BaseModel):
    user_id: UserId
    version: int = Field(description="the bundle version that now holds the user")
    suggestions: list[SuggestionOut]


class RecommendRequest(_Request):
    user: UserId
    k: int = Field(10, ge=1, le=1000)


class ItemOut(BaseModel):
    item_id: UserId
    score: float


class RecommendResponse(BaseModel):
    user: UserId
    items: list[ItemOut]


class UsersResponse(BaseModel):
    users: list[UserId]
    total: int


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    users: int
    version: int
    bundle: str
