"""Prove a configuration before showing it: run the real Starlette CORSMiddleware, in
process over ASGI, on every captured request to the backend, and judge its answers with the
engine. Every request that was blocked must pass; none that passed may break.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from itertools import count
from typing import Any
from urllib.parse import urlsplit

import starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Message

from ..engine import Analyzer, Decision, Exchange, Headers, Request, Response
from ..engine.exchange import BODY_HEAD
from .config import CorsConfig
from .observe import Observation, needs_preflight, page_method

STARLETTE_VERSION = starlette.__version__


@dataclass(slots=True)
class Check:
    observation: Observation
    method: str  # as replayed (the page's method after its own fix)
    decisions: list[Decision]  # the replayed preflight (if any) and actual request

    @property
    def passed(self) -> bool:
        return all(decision.verdict != "blocked" for decision in self.decisions)

    @property
    def failure(self) -> Decision | None:
        return next((d for d in self.decisions if d.verdict == "blocked"), None)


@dataclass(slots=True)
class Verification:
    config: CorsConfig
    checks: list[Check]
    starlette_version: str = STARLETTE_VERSION

    @property
    def ok(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]


def _drive(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine that never waits on I/O (CORSMiddleware over an in-memory app)."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise RuntimeError("the ASGI app waited on I/O; expected an in-memory exchange")


def _replay(response: Response | None) -> Callable[..., Awaitable[None]]:
    """An ASGI app answering as the captured backend did, minus its own CORS headers."""
    if response is None:  # never sent: any ordinary answer will do
        status, headers = 200, [(b"content-type", b"application/json")]
    else:
        status = response.status
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in response.headers.pairs
            if not name.lower().startswith("access-control-")
        ]

    async def app(scope: Message, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    return app


def _call(app: CORSMiddleware, request: Request) -> Response:
    parts = urlsplit(request.url)
    scope: Message = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": parts.scheme,
        "path": parts.path or "/",
        "raw_path": (parts.path or "/").encode(),
        "root_path": "",
        "query_string": parts.query.encode(),
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in request.headers.pairs
        ],
        "server": (parts.hostname or "localhost", parts.port or 80),
        "client": ("127.0.0.1", 40000),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    _drive(app(scope, receive, send))
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return Response(
        status=start["status"],
        headers=Headers(
            tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"])
        ),
        body_head=body[:BODY_HEAD].decode("utf-8", "replace"),
    )


def _with_request_method(headers: Headers, method: str) -> Headers:
    """A preflight's headers, asking for `method` (the page's method after its own fix)."""
    return Headers(
        tuple(
            (name, method if name.lower() == "access-control-request-method" else value)
            for name, value in headers.pairs
        )
    )


def _requests(observation: Observation, method: str) -> tuple[Request | None, Request]:
    """The preflight (when the browser needs one) and the actual request, as the page sends
    them: captured where the capture has them, rebuilt from the preflight where not."""
    actual = observation.actual
    if actual is not None:
        headers = actual.request.headers
        url = actual.request.url
    else:
        url = (
            observation.preflight.request.url if observation.preflight else observation.decision.url
        )
        pairs = [("Origin", observation.origin), ("Sec-Fetch-Mode", "cors")]
        pairs += [(name, "1") for name in observation.request_headers]
        if observation.credentials:
            pairs.append(("Cookie", "session=1"))
        headers = Headers(tuple(pairs))
    actual_request = Request(method, url, headers)
    if not needs_preflight(observation):
        return None, actual_request
    if observation.preflight is not None:
        captured = observation.preflight.request
        return Request(
            "OPTIONS", url, _with_request_method(captured.headers, method)
        ), actual_request
    pairs = [
        ("Origin", observation.origin),
        ("Access-Control-Request-Method", method),
        ("Sec-Fetch-Mode", "cors"),
    ]
    if observation.request_headers:
        pairs.append(("Access-Control-Request-Headers", ",".join(observation.request_headers)))
    return Request("OPTIONS", url, Headers(tuple(pairs))), actual_request


def verify(config: CorsConfig, observations: list[Observation]) -> Verification:
    """Replay each observation through CORSMiddleware(**config) and judge the answers."""
    kwargs = config.kwargs()
    ids = count(1)
    checks: list[Check] = []
    for observation in observations:
        method = page_method(observation.method)
        preflight_request, actual_request = _requests(observation, method)
        captured = observation.actual.response if observation.actual else None
        app = CORSMiddleware(_replay(captured), **kwargs)
        exchanges = []
        started = 1.0
        if preflight_request is not None:
            exchanges.append(
                Exchange(
                    f"verify-{next(ids)}",
                    started,
                    preflight_request,
                    _call(app, preflight_request),
                    ended=started,
                )
            )
        exchanges.append(
            Exchange(
                f"verify-{next(ids)}",
                started + 0.001,
                actual_request,
                _call(app, actual_request),
                ended=started + 0.001,
            )
        )
        checks.append(Check(observation, method, list(Analyzer().run(exchanges))))
    return Verification(config, checks)
