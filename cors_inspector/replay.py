"""Re-send captured cross-origin requests as the browser would, and judge the new answers.

For each request the page made: the preflight first when the browser needs one (the captured
preflight, or one built from the captured method and headers), then, if it passes, the actual
request with the captured Origin, method, headers and body. Redacted values are not replayed
unless the user supplies them. The engine judges the new exchanges; each request is reported
before -> after: fixed, still blocked, newly broken, or still allowed.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .engine import Analyzer, Decision, Exchange, Headers, Request, Response
from .engine.exchange import BODY_HEAD
from .engine.origins import origin_of
from .engine.words import counted
from .fix.observe import Observation, group_by_backend, needs_preflight
from .redact import MASK, redact_decision, redact_text

TIMEOUT = 10.0
_MASK_BYTES = MASK.encode()
# Set by the HTTP client itself (http.client sends Host; the body decides Content-Length).
_CLIENT_HEADERS = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "proxy-connection", "keep-alive"}
)


class ReplayError(Exception):
    pass


@dataclass(slots=True)
class Replayed:
    observation: Observation
    after: list[Decision]  # the new preflight (if sent) and actual request (if sent)
    error: str | None = None
    body_missing: bool = False  # it had a body the capture did not keep (a NetLog keeps none)

    @property
    def before(self) -> str:
        return self.observation.decision.verdict

    @property
    def blocked_after(self) -> Decision | None:
        return next((d for d in self.after if d.verdict == "blocked"), None)

    @property
    def outcome(self) -> str:
        was_blocked = self.before == "blocked"
        if self.error:
            return "failed"
        if self.blocked_after is not None:
            return "still blocked" if was_blocked else "newly broken"
        return "fixed" if was_blocked else "still allowed"


def check_reachable(target: str) -> None:
    """Raise a one-line ReplayError when nothing listens at `target` (an http(s) URL): every
    request would fail the same way, so say it once."""
    parts = urlsplit(target)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "", port), timeout=TIMEOUT).close()
    except socket.gaierror:
        raise ReplayError(f"cannot resolve the host of {target}: {parts.hostname}") from None
    except OSError as failure:
        why = failure.strerror or type(failure).__name__
        raise ReplayError(
            f"nothing answers at {target} ({why.lower()}): is the backend running?"
        ) from None


def _retarget(url: str, target: str) -> str:
    parts = urlsplit(url)
    return f"{target.rstrip('/')}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")


def _headers_to_send(headers: Headers, supplied: dict[str, str]) -> list[tuple[str, str]]:
    """Captured headers, minus the client's own; redacted values only if the user gave them."""
    sent = []
    for name, value in headers.pairs:
        key = name.lower()
        if key in _CLIENT_HEADERS or key in supplied:
            continue
        if value == MASK:
            continue
        sent.append((name, value))
    return sent + [(name, value) for name, value in supplied.items()]


def _send(request: Request) -> Response:
    parts = urlsplit(request.url)
    connection_type = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    kwargs: dict[str, Any] = {}
    if parts.scheme == "https":
        kwargs["context"] = ssl.create_default_context()
    connection = connection_type(parts.hostname or "", parts.port, timeout=TIMEOUT, **kwargs)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.putrequest(request.method, path, skip_accept_encoding=True)
        for name, value in request.headers.pairs:
            connection.putheader(name, value.encode("latin-1"))
        if request.body:
            connection.putheader("Content-Length", str(len(request.body)))
        connection.endheaders(request.body or None)
        answer = connection.getresponse()
        body = answer.read()
        headers = Headers(tuple((k, v) for k, v in answer.getheaders()))
        return Response(
            answer.status,
            headers,
            answer.reason,
            body[:BODY_HEAD].decode("utf-8", "replace") if answer.status >= 400 else "",
        )
    finally:
        connection.close()


def _exchange(request: Request, number: int) -> Exchange:
    started = time.time()
    try:
        response = _send(request)
        error = None
    except (OSError, http.client.HTTPException) as failure:
        response, error = None, f"{type(failure).__name__}: {failure}"
    return Exchange(f"replay-{number}", started, request, response, ended=time.time(), error=error)


def _requests(observation: Observation, target: str, supplied: dict[str, str]):
    """The preflight (if the browser needs one) and the actual request, aimed at `target`."""
    source = observation.actual or observation.preflight
    assert source is not None
    url = _retarget(source.request.url, target)
    if observation.actual is not None:
        actual_headers = Headers(
            tuple(_headers_to_send(observation.actual.request.headers, supplied))
        )
        body = observation.actual.request.body
    else:  # the preflight failed, so the browser never sent it: rebuild it from the preflight
        pairs = [("Origin", observation.origin), ("Sec-Fetch-Mode", "cors")]
        pairs += [(name, supplied.get(name, "1")) for name in observation.request_headers]
        actual_headers = Headers(tuple(_headers_to_send(Headers(tuple(pairs)), supplied)))
        body = b""
    actual = Request(observation.method, url, actual_headers, body)
    if not needs_preflight(observation):
        return None, actual
    if observation.preflight is not None:
        headers = Headers(tuple(_headers_to_send(observation.preflight.request.headers, {})))
    else:
        pairs = [
            ("Origin", observation.origin),
            ("Access-Control-Request-Method", observation.method),
            ("Accept", "*/*"),
        ]
        if observation.request_headers:
            pairs.append(("Access-Control-Request-Headers", ",".join(observation.request_headers)))
        headers = Headers(tuple(pairs))
    return Request("OPTIONS", url, headers), actual


def choose_observations(
    decisions: Iterable[Decision], target: str, backend: str | None, only_blocked: bool
) -> list[Observation]:
    """The captured cross-origin requests to replay against `target`."""
    backends = group_by_backend(decisions)
    if backend is not None:
        chosen = [backends[backend]] if backend in backends else []
        if not chosen:
            raise ReplayError(
                f"no cross-origin request to {backend} in the capture; seen: "
                f"{', '.join(sorted(backends)) or 'none'}"
            )
    elif len(backends) == 1:
        chosen = list(backends.values())
    elif (target_origin := origin_of(target)) in backends:
        chosen = [backends[target_origin]]
    else:
        raise ReplayError(
            "the capture has requests to several backends ("
            + ", ".join(sorted(backends))
            + "): say which one to replay with --backend"
            if backends
            else "no cross-origin request in the capture"
        )
    return [
        observation
        for found in chosen
        for observation in found.observations
        if not only_blocked or observation.blocked
    ]


def _as_it_is(decision: Decision) -> Decision:
    return decision


def _shown_error(exchange: Exchange, redact: bool) -> str | None:
    return redact_text(exchange.error) if redact and exchange.error else exchange.error


def redacted_notes(observations: list[Observation], supplied: dict[str, str]) -> list[str]:
    """What a replay of a redacted capture cannot send as the browser did, in words."""
    given = {name.lower() for name in supplied}
    left_out: set[str] = set()
    in_query = in_body = 0
    for observation in observations:
        for exchange in (observation.preflight, observation.actual):
            if exchange is not None:
                in_query += MASK in urlsplit(exchange.request.url).query
                in_body += _MASK_BYTES in exchange.request.body
                left_out.update(
                    name
                    for name, value in exchange.request.headers.pairs
                    if value == MASK and name.lower() not in given
                )
    notes = []
    if left_out:
        notes.append(
            f"the capture redacted {', '.join(sorted(left_out))}: left out of the replay "
            "(supply a value with --header 'Name: value')"
        )
    sent_masked = (
        f"they are sent as {MASK} (CORS does not depend on them; a server that checks them "
        "may answer differently)"
    )
    if in_query:
        has = "has" if in_query == 1 else "have"
        notes.append(
            f"{counted(in_query, 'captured URL')} {has} query values the capture redacted: "
            + sent_masked
        )
    if in_body:
        has = "has" if in_body == 1 else "have"
        bodies = counted(in_body, "captured request body", "captured request bodies")
        notes.append(f"{bodies} {has} fields the capture redacted: {sent_masked}")
    return notes


def replay(
    observations: list[Observation],
    target: str,
    supplied: dict[str, str] | None = None,
    redact: bool = True,
) -> list[Replayed]:
    """Re-send each observation to `target` as the browser would, and judge the answers
    (what the judgements show redacted with `redact`: the requests are sent whole)."""
    shown = redact_decision if redact else _as_it_is
    results = []
    number = 0
    for observation in observations:
        preflight_request, actual_request = _requests(observation, target, supplied or {})
        exchanges = []
        if preflight_request is not None:
            number += 1
            exchanges.append(_exchange(preflight_request, number))
            # Judge it for the actual request about to follow (its credentials mode decides).
            probe = Exchange("probe", exchanges[0].started, actual_request, None)
            preflight_decision = next(iter(Analyzer().run([exchanges[0], probe])))
            if preflight_decision.verdict == "blocked" or exchanges[0].response is None:
                # As the browser: a failed preflight means the actual request is never sent.
                after = [shown(preflight_decision)]
                results.append(Replayed(observation, after, _shown_error(exchanges[0], redact)))
                continue
        number += 1
        exchanges.append(_exchange(actual_request, number))
        after = [shown(decision) for decision in Analyzer().run(exchanges)]
        error = _shown_error(exchanges[-1], redact)
        results.append(Replayed(observation, after, error, _body_missing(observation)))
    return results


def _body_missing(observation: Observation) -> bool:
    """The captured request declared a body the capture does not hold."""
    actual = observation.actual
    if actual is None or actual.request.body:
        return False
    length = actual.request.headers.get("content-length") or "0"
    return (length.strip().isdigit() and int(length) > 0) or (
        "transfer-encoding" in actual.request.headers
    )
