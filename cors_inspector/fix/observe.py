"""What each cross-origin request tells about its backend, grouped by backend origin."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..engine.cors_check import header_values
from ..engine.decision import Decision
from ..engine.exchange import Exchange, Headers
from ..engine.origins import origin_of
from ..engine.safelists import SAFELISTED_METHODS, page_unsafe_headers, read_by_pages

# Methods a page may write in any case and mean the standard one (Fetch upper-cases only six).
_KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "QUERY"})


@dataclass(slots=True)
class Observation:
    """One request as the page made it: its preflight (if any) and actual exchange (if sent)."""

    decision: Decision  # the actual request's, or the preflight's when nothing followed
    preflight: Exchange | None
    actual: Exchange | None
    origin: str
    method: str  # as the page sends it
    request_headers: list[str]  # CORS-unsafe names, lower-case
    credentials: bool
    private_network: bool = False
    wanted_exposed: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return self.decision.verdict == "blocked"

    @property
    def undecided(self) -> bool:
        """Allowed as captured, blocked if the page sent credentials (the wire cannot tell)."""
        return not self.credentials and self.decision.verdict_if_credentials == "blocked"


@dataclass
class Backend:
    origin: str
    observations: list[Observation] = field(default_factory=list)


def page_method(method: str) -> str:
    """The method the page should send: `patch` -> `PATCH` (Fetch upper-cases only six)."""
    upper = method.upper()
    return upper if upper in _KNOWN_METHODS else method


def needs_preflight(observation: Observation) -> bool:
    method = page_method(observation.method)
    return (
        observation.preflight is not None
        or method not in SAFELISTED_METHODS
        or bool(observation.request_headers)
    )


def _wanted(response_headers: Headers, readable: list[str] | None) -> list[str]:
    readable_names = set(readable or ())
    return [
        name
        for name in response_headers.names()
        if name not in readable_names and read_by_pages(name)
    ]


def _observation(decision: Decision, preflight: Exchange | None) -> Observation | None:
    exchange = decision.exchange
    if exchange is None:
        return None
    credentials = decision.credentials == "include"
    if decision.kind == "preflight":
        headers = exchange.request.headers
        return Observation(
            decision=decision,
            preflight=exchange,
            actual=None,
            origin=decision.origin or "null",
            method=headers.get("access-control-request-method") or "GET",
            request_headers=header_values(headers, "access-control-request-headers"),
            credentials=credentials,
            private_network="access-control-request-private-network" in headers,
        )
    request = exchange.request
    if preflight is not None:
        pre_headers = preflight.request.headers
        unsafe = header_values(pre_headers, "access-control-request-headers")
        private_network = "access-control-request-private-network" in pre_headers
    else:
        unsafe = page_unsafe_headers(request.headers)
        private_network = False
    response = exchange.response
    return Observation(
        decision=decision,
        preflight=preflight,
        actual=exchange,
        origin=decision.origin or "null",
        method=request.method,
        request_headers=unsafe,
        credentials=credentials,
        private_network=private_network,
        wanted_exposed=_wanted(response.headers, decision.readable_headers) if response else [],
    )


def group_by_backend(decisions: Iterable[Decision]) -> dict[str, Backend]:
    """Fold decisions (in capture order) into one Observation per request, by backend."""
    backends: dict[str, Backend] = {}
    preflights: dict[str, Exchange] = {}
    for decision in decisions:
        if not decision.is_cors or decision.exchange is None:
            continue
        if decision.kind == "preflight" and decision.preflight_for is not None:
            preflights[decision.flow_id] = decision.exchange  # folded into its actual request
            continue
        preflight = preflights.pop(decision.preflight_id, None) if decision.preflight_id else None
        observation = _observation(decision, preflight)
        backend = origin_of(decision.url)
        if observation is None or backend is None:
            continue
        backends.setdefault(backend, Backend(backend)).observations.append(observation)
    return backends
