"""HTTP metrics and the access log of every CZT process, and ``GET /metrics`` to scrape them.

The metrics are module-level objects on prometheus_client's default registry, labelled with the ``service`` that
answered (``gateway`` or a city's slug), never objects made per app: tests and the sandbox run the gateway and three
cities in one process, and a second app registering the same metric would fail. The gateway's city-call metrics
(``gateway/exchange/metrics.py``) live on the same registry, so one ``/metrics`` exposes both.

``route`` is the matched route *template* (``/v1/residents/{id_number}/records``), never the raw path: ID numbers
must not become label values (they are personal data, and every distinct value is a new time series). A path no
route matches is counted as ``<unmatched>``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from starlette.routing import Match, get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commons.logs import serving

UNMATCHED = "<unmatched>"
# Any other method (a client can send "FOO") would be a label value of its own: counted as OTHER.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "czt_http_requests_total",
    "HTTP requests answered, by route template and status code.",
    ["service", "method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "czt_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template.",
    ["service", "method", "route"],
)
HTTP_REQUESTS_IN_FLIGHT = Gauge(
    "czt_http_requests_in_flight",
    "Requests being handled right now.",
    ["service"],
)

access_log = logging.getLogger("czt.access")


def route_template(scope: Scope, *, before_routing: Scope) -> str:
    """The template of the route that handled the request, ``<unmatched>`` when none did.

    FastAPI leaves its ``APIRoute`` in ``scope["route"]``. Its ``path_format`` lacks the prefixes of routers it was
    included through (FastAPI ≥ 0.16x keeps included routers nested): the literal part of the path in front of what
    the route matched is put back. Routes that leave no trace in the scope (the docs pages, mounted static files) are
    found by matching the app's routes against the scope as it was before routing, which a mount rewrites.
    """
    route = scope.get("route")
    if route is not None and getattr(route, "path_format", None):
        template: str = route.path_format
        path = get_route_path(before_routing)
        if route.path_regex.match(path):
            return template
        for cut in (i for i, char in enumerate(path) if char == "/" and i > 0):
            if route.path_regex.match(path[cut:]):
                return path[:cut] + template
        return template
    for candidate in getattr(scope.get("app"), "routes", ()):
        path_format = getattr(candidate, "path_format", None)
        if path_format and candidate.matches(dict(before_routing))[0] is Match.FULL:
            return str(path_format)
    return UNMATCHED


class MetricsMiddleware:
    """Counts and times every request, writes its access-log line, and tags the lines logged while it is handled
    with ``service``. Pure ASGI (no BaseHTTPMiddleware: it would break streaming and context variables).

    Add it *inside* ``RequestIdMiddleware`` (that is, before it with ``add_middleware``), so that the request id is
    set when the access line is written.
    """

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        before_routing = {key: scope[key] for key in ("type", "path", "root_path", "method", "headers") if key in scope}
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        status = 500  # what the client gets when the app raises before answering (ServerErrorMiddleware's 500)

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        in_flight = HTTP_REQUESTS_IN_FLIGHT.labels(self.service)
        in_flight.inc()
        started = time.perf_counter()
        with serving(self.service):
            try:
                await self.app(scope, receive, send_noting_status)
            finally:
                elapsed = time.perf_counter() - started
                in_flight.dec()
                route = route_template(scope, before_routing=before_routing)
                HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
                HTTP_REQUEST_DURATION.labels(self.service, method, route).observe(elapsed)
                fields: dict[str, Any] = {
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                }
                access_log.log(logging.WARNING if status >= 500 else logging.INFO, "request", extra=fields)


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus exposition of this process's metrics (text format, or OpenMetrics when the scraper asks for it).

    No authentication, like every exporter: the labels hold no personal data, and in production the path belongs on
    an internal port or behind the reverse proxy's allow-list, not on the public one.
    """
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encoder(REGISTRY), media_type=content_type)
