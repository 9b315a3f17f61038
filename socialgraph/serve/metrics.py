"""Prometheus metrics of one service instance: requests, latency, errors.

Each app gets its own :class:`prometheus_client.CollectorRegistry` (never the process-wide default), so two apps in
one process, as in tests, count separately.
"""
from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
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


class MetricsMiddleware(BaseHTTPMiddleware):
    """Counts every request by its route template (``/suggest``, never the ids inside a path)."""

    def __init__(self, app, metrics: ServiceMetrics) -> None:
        super().__init__(app)
        self.metrics = metrics

    async def dispatch(self, request: Request, call_next) -> Response:
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            name = getattr(route, "path", "unmatched")
            self.metrics.latency.labels(name).observe(time.perf_counter() - start)
            self.metrics.requests.labels(request.method, name, str(status)).inc()
            if status >= 400:
                self.metrics.errors.labels(name, str(status)).inc()
