"""The HTTP service over a trained bundle (FastAPI): score, suggest, explain, new users, content, an explorer page.

Every endpoint but ``/health``, ``/ready``, the OpenAPI document (``/openapi.json``, ``/docs``) and the explorer's
static page (which holds no data: it asks for the token and calls the API with it) requires
``Authorization: Bearer <token>``. Bad input gets a 4xx with a one-line ``detail`` naming the field; an unknown
user, or a hidden one, gets 404 with the same words, so the answer never tells a hidden user from a missing one.
Endpoints are plain functions, run by the server's thread pool; the model is shared (see
:class:`~socialgraph.serve.service.ModelService`).
"""
from __future__ import annotations

import hmac
import logging
from importlib import resources
from typing import Optional

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from socialgraph.predictor import Suggestion, UnknownUserError
from socialgraph.serve import schemas as s
from socialgraph.serve.metrics import MetricsMiddleware, ServiceMetrics
from socialgraph.serve.service import ModelService, UnknownIdError

log = logging.getLogger("socialgraph.serve")


def create_app(service: ModelService, token: str) -> FastAPI:
    """The service's ASGI app over ``service``, requiring ``token`` (non-empty) on every data endpoint."""
    if not token:
        raise ValueError("the service needs a token: set SOCIALGRAPH_TOKEN or pass --token-file")
    app = FastAPI(title="socialgraph", version="1", description=__doc__.split("\n\n")[0])
    metrics = ServiceMetrics()
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    _errors(app)
    auth = _bearer(token)
    _open_routes(app, service)
    _read_routes(app, service, auth)
    _write_routes(app, service, auth)

    @app.get("/metrics", dependencies=[Depends(auth)], include_in_schema=True, tags=["operations"])
    def prometheus():
        """Prometheus text format: requests by route and status, latency histogram, errors."""
        return metrics.response()

    return app


# ---------------------------------------------------------------------------------------------- access
def _bearer(token: str):
    scheme = HTTPBearer(auto_error=False)
    expected = token.encode()

    def require(credentials: Optional[HTTPAuthorizationCredentials] = Depends(scheme)) -> None:
        given = b"" if credentials is None else credentials.credentials.encode()
        if not hmac.compare_digest(given, expected):
            raise _Unauthorised()
    return require


class _Unauthorised(Exception):
    pass


def _errors(app: FastAPI) -> None:
    def one(status: int, detail: str, headers: Optional[dict] = None) -> JSONResponse:
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)

    @app.exception_handler(_Unauthorised)
    async def unauthorised(request: Request, err: _Unauthorised):
        return one(401, "missing or wrong bearer token (Authorization: Bearer <token>)",
                   {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError):
        first = err.errors()[0] if err.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return one(422, f"{where}: {first.get('msg')}" if where else str(first.get("msg")))

    @app.exception_handler(UnknownIdError)
    async def unknown_field(request: Request, err: UnknownIdError):
        return one(404, str(err))

    @app.exception_handler(UnknownUserError)
    async def unknown(request: Request, err: UnknownUserError):
        return one(404, "unknown user")  # never the predictor's words, which may say "hidden"

    @app.exception_handler(ValueError)
    async def bad_value(request: Request, err: ValueError):
        return one(400, str(err).splitlines()[0] if str(err) else "bad request")


# ---------------------------------------------------------------------------------------------- routes
def _open_routes(app: FastAPI, service: ModelService) -> None:
    @app.get("/health", response_model=s.Health, tags=["operations"])
    def health():
        """The process answers."""
        return s.Health(status="ok")

    @app.get("/ready", response_model=s.Readiness, tags=["operations"])
    def ready():
        """A model is loaded and warm (user states, candidate index)."""
        return _readiness(service)

    @app.get("/explorer", response_class=HTMLResponse, include_in_schema=False)
    def explorer():
        return (resources.files("socialgraph.serve") / "static" / "explorer.html").read_text()


def _read_routes(app: FastAPI, service: ModelService, auth) -> None:
    guard = [Depends(auth)]

    @app.post("/score", response_model=s.ScoreResponse, dependencies=guard, tags=["score"])
    def score(req: s.ScoreRequest):
        """Probability that two users are, or become, friends."""
        with service.reading() as p:
            u, v = service.row(p, "u", req.u), service.row(p, "v", req.v)
            return s.ScoreResponse(u=req.u, v=req.v, score=float(p.calibration(p.link_logits([[u, v]]))[0]))

    @app.post("/score/batch", response_model=s.ScoreBatchResponse, dependencies=guard, tags=["score"])
    def score_batch(req: s.ScoreBatchRequest):
        """Probabilities of many pairs, in the order given."""
        with service.reading() as p:
            rows = [[service.row(p, f"pairs[{i}][0]", a), service.row(p, f"pairs[{i}][1]", b)]
                    for i, (a, b) in enumerate(req.pairs)]
            return s.ScoreBatchResponse(scores=p.calibration(p.link_logits(rows)).tolist())

    @app.post("/suggest", response_model=s.SuggestResponse, dependencies=guard, tags=["suggest"])
    def suggest(req: s.SuggestRequest):
        """The k most likely new friends of a user (exactly :meth:`Predictor.suggest`)."""
        with service.reading() as p:
            user = service.id(p, "user", req.user)
            got = p.suggest(user, req.k, exclude=service.ids(p, "exclude", req.exclude),
                            candidates=None if req.candidates is None else service.ids(p, "candidates", req.candidates),
                            hidden=service.ids(p, "hidden", req.hidden))
            return s.SuggestResponse(user=req.user, suggestions=[_suggestion(x) for x in got])

    @app.post("/explain", response_model=s.ExplainResponse, dependencies=guard, tags=["suggest"])
    def explain(req: s.ExplainRequest):
        """Why two users score as they do, told to an asker who may not see ``hidden``."""
        with service.reading() as p:
            u, v = service.id(p, "u", req.u), service.id(p, "v", req.v)
            hidden = service.ids(p, "hidden", req.hidden)
            for name, x in (("u", u), ("v", v)):
                if x in hidden:
                    raise UnknownIdError(name, x)
            e = p.explain(u, v, hidden=hidden, top_neighbours=req.top_neighbours)
            return s.ExplainResponse(u=e.u, v=e.v, score=e.score, logit=e.logit, already_friends=e.already_friends,
                                     mutual_friends=e.mutual_friends, heuristics=e.heuristics,
                                     sides={k: s.SideOut(**vars(x)) for k, x in e.sides.items()})

    @app.post("/recommend", response_model=s.RecommendResponse, dependencies=guard, tags=["content"])
    def recommend(req: s.RecommendRequest):
        """Content items ranked by predicted engagement (items the user engaged with left out)."""
        with service.reading() as p:
            user = service.id(p, "user", req.user)
            table = p.recommend(user, req.k)
            return s.RecommendResponse(user=req.user, items=[s.ItemOut(item_id=_plain(i), score=float(x)) for i, x
                                                             in zip(table["item_id"], table["score"])])

    @app.get("/users", response_model=s.UsersResponse, dependencies=guard, tags=["users"])
    def users(offset: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=10_000),
              q: Optional[str] = Query(None, description="only ids containing this text")):
        """Ids of the users the service knows (hidden users are not listed)."""
        with service.reading() as p:
            ids = service.visible_users(p)
            if q:
                ids = ids[[q in str(x) for x in ids.tolist()]]
            return s.UsersResponse(users=[_plain(x) for x in ids[offset:offset + limit]], total=len(ids))


def _write_routes(app: FastAPI, service: ModelService, auth) -> None:
    guard = [Depends(auth)]

    @app.post("/users", response_model=s.NewUserResponse, dependencies=guard, tags=["users"])
    def add_user(req: s.NewUserRequest):
        """Add a user from features and friends, save the bundle's next version, and suggest friends for it."""
        uid, version, got = service.add_user(req.features, req.friends, req.user_id, req.k)
        return s.NewUserResponse(user_id=_plain(uid), version=version, suggestions=[_suggestion(x) for x in got])

    @app.post("/admin/reload", response_model=s.Readiness, dependencies=guard, tags=["operations"])
    def reload():
        """Load the bundle again (e.g. after retraining into the same folder) without refusing any request."""
        service.reload()
        return _readiness(service)


def _readiness(service: ModelService) -> s.Readiness:
    with service.reading() as p:
        return s.Readiness(ready=True, users=len(service.visible_users(p)), version=service.version,
                           bundle=str(service.bundle))


def _suggestion(x: Suggestion) -> s.SuggestionOut:
    return s.SuggestionOut(user_id=x.user_id, score=x.score, mutual_friends=x.mutual_friends, reason=x.reason,
                           reasons=x.reasons)


def _plain(x):
    return x.item() if hasattr(x, "item") else x

