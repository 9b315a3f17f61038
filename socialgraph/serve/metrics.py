"""Prometheus metrics of one service instance: requests, latency, errors.

Each app gets its own :class:`prometheus_client.CollectorRegistry` (never the process-wide default), so two apps in
one process, as in tests, count separately.
"""
from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.responses import Response

#: latency buckets in seconds: a suggestion takes milliseconds, a reload or a saved new user seconds
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("socialgraph_requests", "HTTP requests answered", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("socialgraph_request_seconds", "time to answer a request", ["route"],
                                 buckets=BUCKETS, registry=self.registry)
        self.errors = Counter("socialgraph_errors", "requests answered with a 4xx or 5xx status", ["route", "status"],
                              registry=self.registry)

    def response(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts every HTTP request by its route template (``/suggest``, never the ids inside a path). A plain ASGI
    middleware: Starlette's ``BaseHTTPMiddleware`` costs about a millisecond a request, more than a score."""

    def __init__(self, app, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            name = getattr(scope.get("route"), "path", "unmatched")  # set by the router on the shared scope
            code = str(status[0])
            self.metrics.latency.labels(name).observe(time.perf_counter() - start)
            self.metrics.requests.labels(scope["method"], name, code).inc()
            if status[0] >= 400:
                self.metrics.errors.labels(name, code).inc()
