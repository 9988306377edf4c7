"""What each cross-origin request tells about its backend, grouped by backend origin.

A fix needs every request its backend saw, but not every copy of one: `Folder` keeps each
distinct shape of request once (with a count), compressed, so that memory grows with what a
capture varies, not with its length.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

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
    count: int = 1  # requests of this same shape it stands for (see Folder)

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


PENDING_PREFLIGHTS = 10_000  # preflights waiting for their actual request (bounded)


class _Pairing:
    """Decisions in capture order -> observations: a preflight is folded into the actual
    request it served, which follows it closely."""

    def __init__(self) -> None:
        self._preflights: dict[str, Exchange] = {}

    def observe(self, decision: Decision) -> tuple[str, Observation] | None:
        """The request's backend and observation; None for what tells nothing (or not yet)."""
        if not decision.is_cors or decision.exchange is None:
            return None
        preflights = self._preflights
        if decision.kind == "preflight" and decision.preflight_for is not None:
            preflights[decision.flow_id] = decision.exchange  # folded into its actual request
            if len(preflights) > PENDING_PREFLIGHTS:  # its actual request was never judged
                del preflights[next(iter(preflights))]
            return None
        preflight = preflights.pop(decision.preflight_id, None) if decision.preflight_id else None
        observation = _observation(decision, preflight)
        backend = origin_of(decision.url)
        if observation is None or backend is None:
            return None
        return backend, observation


def group_by_backend(decisions: Iterable[Decision]) -> dict[str, Backend]:
    """Fold decisions (in capture order) into one Observation per request, by backend."""
    backends: dict[str, Backend] = {}
    pairing = _Pairing()
    for decision in decisions:
        if (seen := pairing.observe(decision)) is not None:
            backend, observation = seen
            backends.setdefault(backend, Backend(backend)).observations.append(observation)
    return backends


def _exchange_shape(exchange: Exchange | None) -> tuple[Any, ...] | None:
    """What of an exchange a fix, its diagnosis and its verification can depend on."""
    if exchange is None:
        return None
    request, response = exchange.request, exchange.response
    answer: tuple[Any, ...] | None = None
    path = None
    if response is not None:
        headers = response.headers
        cors = sorted(
            (name.lower(), value)
            for name, value in headers.pairs
            if name.lower().startswith("access-control-")
        )
        location = headers.get("location")
        if location is not None:
            path = urlsplit(request.url).path  # a redirect is diagnosed by its path
        body = response.body_head if response.status == 400 else None
        answer = (response.status, tuple(cors), location, "set-cookie" in headers, body)
    names = tuple(sorted({name.lower() for name, _ in request.headers.pairs}))
    return (
        request.url.partition(":")[0],
        path,
        names,
        answer,
        exchange.error is not None,
        exchange.browser_error is not None,
        exchange.answered_by_proxy,
    )


def shape_of(observation: Observation) -> tuple[Any, ...]:
    """Two observations of one shape get the same fix, diagnosis and verification."""
    decision = observation.decision
    return (
        decision_shape(decision),
        decision.verdict_if_credentials,
        decision.reason_if_credentials,
        decision.credentials_basis,
        decision.sent,
        decision.browser_verdict,
        decision.browser_reason,
        observation.method,
        tuple(observation.request_headers),
        observation.private_network,
        tuple(observation.wanted_exposed),
        _exchange_shape(observation.preflight),
        _exchange_shape(observation.actual),
    )


def decision_shape(decision: Decision) -> tuple[Any, ...]:
    """What a look-alike is told by, as far as the decision alone shows it."""
    return (
        decision.kind,
        decision.verdict,
        decision.reason,
        decision.failed_parameter,
        decision.origin,
        decision.method,
        decision.status,
        decision.credentials,
    )


ZDICT_BYTES = 32_768  # zlib's largest preset dictionary


class _Packer:
    """Observations as compressed bytes. They are small and alike (the same headers, the same
    user agent...), so each is compressed against the first ones seen, zlib's preset
    dictionary: about 180 bytes each instead of 1,300 compressed alone."""

    def __init__(self) -> None:
        self._seed: list[bytes] = []  # the first ones, kept as they are, make the dictionary
        self._seeded = 0
        self._zdict: bytes | None = None

    def pack(self, observation: Observation) -> bytes:
        raw = pickle.dumps(observation, pickle.HIGHEST_PROTOCOL)
        if self._zdict is None:
            self._seed.append(raw)
            self._seeded += len(raw)
            if self._seeded >= ZDICT_BYTES:
                self._zdict = b"".join(self._seed)[-ZDICT_BYTES:]
                self._seed = []
            return raw  # a pickle begins with 0x80, never as zlib's streams do (0x78)
        packer = zlib.compressobj(6, zdict=self._zdict)
        return packer.compress(raw) + packer.flush()

    def unpack(self, kept: bytes) -> Observation:
        if kept[:1] != b"\x80":
            assert self._zdict is not None
            unpacker = zlib.decompressobj(zdict=self._zdict)
            kept = unpacker.decompress(kept) + unpacker.flush()
        return pickle.loads(kept)  # our own bytes, from this process


@dataclass(slots=True)
class _Folded:
    """One backend's observations, one per shape: compressed, with their counts."""

    origin: str
    packer: _Packer
    shapes: dict[int, int] = field(default_factory=dict)  # hash of a shape -> its index
    kept: list[bytes] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    needs_fix: bool = False  # something blocked, or blocked if the page sent credentials
    wants_exposed: bool = False  # a response with a header a page may read, hidden from script

    def add(self, observation: Observation) -> None:
        self.needs_fix = self.needs_fix or observation.blocked or observation.undecided
        self.wants_exposed = self.wants_exposed or bool(observation.wanted_exposed)
        key = hash(shape_of(observation))
        index = self.shapes.get(key)
        if index is not None:
            self.counts[index] += 1
            return
        self.shapes[key] = len(self.kept)
        # What the fix never reads (the trace, the lists of headers) is not kept.
        decision = replace(
            observation.decision,
            trace=[],
            console_message=None,
            readable_headers=None,
            hidden_headers=None,
            exchange=None,
        )
        self.kept.append(self.packer.pack(replace(observation, decision=decision)))
        self.counts.append(1)

    def backend(self) -> Backend:
        observations = [self.packer.unpack(kept) for kept in self.kept]
        for observation, count in zip(observations, self.counts, strict=True):
            observation.count = count
        return Backend(self.origin, observations)


class Folder:
    """Observations per backend, folded as the decisions come (in capture order)."""

    def __init__(self) -> None:
        self._pairing = _Pairing()
        self._packer = _Packer()
        self._backends: dict[str, _Folded] = {}

    def add(self, decision: Decision) -> None:
        if (seen := self._pairing.observe(decision)) is not None:
            origin, observation = seen
            folded = self._backends.get(origin)
            if folded is None:
                folded = self._backends[origin] = _Folded(origin, self._packer)
            folded.add(observation)

    def origins(self) -> list[str]:
        """The backends seen, in order."""
        return list(self._backends)

    def backends(self, hidden: bool = False, only: str = "") -> Iterator[tuple[Backend, bool]]:
        """Each backend with something blocked (or blocked with credentials), with `hidden`
        also each with headers hidden from script, one at a time; and whether it needs a fix.
        `only`: that backend alone."""
        for origin, folded in self._backends.items():
            if only and origin != only:
                continue
            if folded.needs_fix or (hidden and folded.wants_exposed):
                yield folded.backend(), folded.needs_fix
