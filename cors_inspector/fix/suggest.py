"""The smallest safe CORSMiddleware configuration for everything seen of one backend.

Merged across every request to that backend (a fix for one page must not break another),
never insecure (no `*` or catch-all regex with credentials), exact origins as the browser
sent them. See shared reference "From an observed blocked request to a minimal configuration".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from starlette.middleware.cors import ALL_METHODS

from ..engine.cors_check import ACAC, ACAH, ACAM, ACAO, ACEH, ACMA
from ..engine.exchange import Exchange
from ..engine.origins import origin_of, url_parts
from ..engine.preflight import parse_max_age
from ..engine.safelists import (
    FORBIDDEN_RESPONSE_HEADERS,
    SAFELISTED_RESPONSE_HEADERS,
    parse_token_list,
)
from .config import (
    ALWAYS_ALLOWED_HEADERS,
    IMPORT_LINE,
    STARLETTE_DEFAULT_MAX_AGE,
    CorsConfig,
    display_header,
)
from .diagnose import Lookalike, Risk, diagnose, risks
from .observe import Backend, Observation, needs_preflight, page_method
from .verify import Verification, verify

_METHOD_ORDER = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@dataclass
class Suggestion:
    backend: str
    config: CorsConfig
    current: CorsConfig | None  # what the responses show the server has now
    lookalikes: list[tuple[Observation, Lookalike]] = field(default_factory=list)
    risks: list[Risk] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    verification: Verification | None = None
    uncovered: list[Observation] = field(default_factory=list)  # no CORS setting can fix these
    # Requests allowed as captured that the browser blocks if the page sends credentials (the
    # wire could not tell): the configuration for that case, verified with credentials.
    if_credentials: Suggestion | None = None
    # Response headers a page may want that script cannot read (display-cased): never exposed
    # by default (the wire cannot show a script reading them), offered as a commented line.
    hidden_headers: list[str] = field(default_factory=list)
    # Whether Starlette, with hidden_headers exposed too, lets script read them (None: none).
    exposing_verified: bool | None = None

    @property
    def observations(self) -> list[Observation]:
        """Every request of the backend: those verified, then those no setting can fix."""
        checked = [c.observation for c in self.verification.checks] if self.verification else []
        return checked + self.uncovered

    @property
    def needed(self) -> bool:
        """Whether something is blocked, or would be with credentials (else: only headers
        script cannot read)."""
        return self.if_credentials is not None or any(o.blocked for o in self.observations)

    @property
    def changed(self) -> bool:
        """Whether the suggestion differs from what the responses show today."""
        return self.current is None or self.config.kwargs() != self.current.kwargs()

    def to_python(self) -> str:
        """The configuration to paste: the import, the call, hidden headers commented out."""
        return f"{IMPORT_LINE}\n\n{self.config.to_python(self.hidden_headers)}"

    def lookalike_of(self, observation: Observation) -> Lookalike | None:
        return next((found for seen, found in self.lookalikes if seen is observation), None)


def _sorted_methods(methods: set[str]) -> list[str]:
    known = [m for m in _METHOD_ORDER if m in methods]
    return known + sorted(methods - set(_METHOD_ORDER))


def _echoed_headers(preflight: Exchange) -> bool | None:
    """Whether a preflight's answer echoes the headers it asked for (Starlette's
    allow_headers=["*"]): True, False (it lists others), None (it cannot tell)."""
    response = preflight.response
    if response is None or not any(
        n.startswith("access-control-") for n in response.headers.names()
    ):
        return None  # no CORS layer answered it
    asked = {
        h.lower()
        for h in parse_token_list(preflight.request.headers.get("access-control-request-headers"))[
            0
        ]
    }
    answer = response.headers.get(ACAH)
    if answer is None:
        return None if not asked else False
    answered = {h.lower() for h in parse_token_list(answer)[0]}
    if "*" in answered:
        return True
    return answered == asked if asked else False


def current_config(backend: Backend) -> CorsConfig | None:
    """The configuration the server's CORS headers reveal (Starlette's preflight answers
    list allow_methods, allow_headers, max_age and credentials as configured)."""
    config = CorsConfig(allow_methods=[])
    seen = False
    origins: set[str] = set()
    methods: set[str] = set()
    headers: set[str] = set()
    echoes: list[bool] = []
    exposed: set[str] = set()
    max_ages: list[int] = []
    for observation in backend.observations:
        for exchange in (observation.preflight, observation.actual):
            response = exchange.response if exchange else None
            if response is None:
                continue
            values = response.headers
            allowed = values.get(ACAO)
            if allowed is not None:
                seen = True
                if allowed not in ("null",) and ("," not in allowed):
                    origins.add(allowed.strip())
            if values.get(ACAC) == "true":
                seen = config.allow_credentials = True
            if exchange is observation.preflight:
                # A preflight refused for its origin still shows the rest of the settings.
                seen = seen or ACAM in values or ACAH in values
                methods.update(parse_token_list(values.get(ACAM))[0])
                headers.update(name.lower() for name in parse_token_list(values.get(ACAH))[0])
                if (echoed := _echoed_headers(exchange)) is not None:
                    echoes.append(echoed)
                if ACMA in values:
                    max_ages.append(parse_max_age(values.get(ACMA)))
            else:
                exposed.update(name.lower() for name in parse_token_list(values.get(ACEH))[0])
    if not seen:
        return None
    config.allow_origins = ["*"] if "*" in origins else sorted(origins)
    # Starlette expands allow_methods=["*"] into ALL_METHODS and answers allow_headers=["*"]
    # by echoing the requested headers: a server seen doing so keeps its `*`.
    named_methods = {page_method(m) for m in methods if m != "*"}
    if "*" in methods or named_methods >= set(ALL_METHODS):
        config.allow_methods = ["*"]
    else:
        config.allow_methods = _sorted_methods(named_methods) if named_methods else ["GET"]
    if echoes and all(echoes):
        config.allow_headers = ["*"]
    else:
        config.allow_headers = sorted(
            display_header(h) for h in headers - ALWAYS_ALLOWED_HEADERS - {"*"}
        )
    if max_ages:
        config.max_age = max(max_ages)
    config.expose_headers = sorted(display_header(h) for h in exposed)
    return config


def _origin_regex(origins: list[str]) -> tuple[str | None, list[str]]:
    """One anchored regex for several subdomains of one site (same scheme and port)."""
    families: dict[tuple[str, str, int], list[str]] = {}
    for origin in origins:
        parts = url_parts(origin)
        if parts is None or parts.host.replace(".", "").isdigit() or parts.host.count(".") < 2:
            continue
        parent = parts.host.split(".", 1)[1]
        families.setdefault((parts.scheme, parent, parts.port), []).append(origin)
    for (scheme, parent, port), members in families.items():
        if len(members) >= 2:
            port_part = "" if port in (80, 443) else f":{port}"
            pattern = f"^{scheme}://[a-z0-9-]+\\.{re.escape(parent)}{re.escape(port_part)}$"
            return pattern, [o for o in origins if o not in members]
    return None, origins


def suggest(backend: Backend) -> Suggestion:
    suggestion = _suggest(backend)
    undecided = [o for o in backend.observations if o.undecided]
    if undecided:
        credentialed = [
            replace(o, credentials=True) if o.undecided else o for o in backend.observations
        ]
        suggestion.if_credentials = _suggest(Backend(backend.origin, credentialed))
    return suggestion


def _suggest(backend: Backend) -> Suggestion:
    current = current_config(backend)
    observations = backend.observations
    backend_sends_cors = current is not None
    suggestion = Suggestion(backend.origin, CorsConfig(), current)
    for observation in observations:
        # Origin null is named even when allowed: the fix never lists `null`.
        if observation.blocked or observation.origin == "null":
            lookalike = diagnose(observation, backend_sends_cors)
            if lookalike is not None:
                suggestion.lookalikes.append((observation, lookalike))
    suggestion.risks = risks(backend)

    credentials = any(o.credentials for o in observations) or bool(
        current and current.allow_credentials
    )
    origins = {o.origin for o in observations if o.origin != "null"}
    keep_wildcard = bool(current and current.allow_origins == ["*"]) and not credentials
    if current and not keep_wildcard:
        # Keep what the server allows today, where it is a well-formed origin.
        origins.update(o for o in current.allow_origins if origin_of(o) == o)
    if current and current.allow_origins == ["*"] and credentials:
        suggestion.notes.append(
            'The server allows "*"; with credentials it must list origins instead, so origins '
            "not seen in this capture lose access: add them to the list."
        )
    config = suggestion.config
    if keep_wildcard:
        config.allow_origins = ["*"]
    else:
        config.allow_origin_regex, config.allow_origins = _origin_regex(sorted(origins))

    # Only what must change: `*` (every method, every header) already allows anything more.
    methods = set(current.allow_methods if current else ["GET"])
    if "*" not in methods:
        methods.update(page_method(o.method) for o in observations if needs_preflight(o))
    config.allow_methods = ["*"] if "*" in methods else _sorted_methods(methods)

    headers = {h.lower() for h in (current.allow_headers if current else [])}
    if "*" not in headers:
        for observation in observations:
            headers.update(observation.request_headers)
    config.allow_headers = sorted(display_header(h) for h in headers - ALWAYS_ALLOWED_HEADERS)
    config.allow_credentials = credentials

    # What the server exposes today stays; nothing is added (see hidden_headers).
    exposed = {h.lower() for h in (current.expose_headers if current else [])}
    if credentials:
        exposed.discard("*")  # a literal name, not a wildcard, for credentialed requests
    config.expose_headers = sorted(display_header(h) for h in exposed)
    hidden = {h for o in observations for h in o.wanted_exposed} - exposed
    hidden -= SAFELISTED_RESPONSE_HEADERS | FORBIDDEN_RESPONSE_HEADERS
    suggestion.hidden_headers = sorted(display_header(h) for h in hidden)
    config.max_age = current.max_age if current else STARLETTE_DEFAULT_MAX_AGE
    config.allow_private_network = any(o.private_network for o in observations)
    if config.allow_private_network:
        suggestion.notes.append("allow_private_network needs Starlette >= 0.51.")
    fixable = {id(seen) for seen, found in suggestion.lookalikes if found.cors_change_helps}
    unfixable = {id(seen) for seen, _ in suggestion.lookalikes} - fixable
    suggestion.uncovered = [o for o in observations if id(o) in unfixable]
    covered = [o for o in observations if id(o) not in unfixable]
    suggestion.verification = verify(config, covered)
    if suggestion.hidden_headers:
        suggestion.exposing_verified = _exposing_works(config, covered, hidden)
    return suggestion


def _exposing_works(config: CorsConfig, observations: list[Observation], hidden: set[str]) -> bool:
    """Whether, with the offered expose_headers line uncommented, everything still passes and
    script can read every hidden header on the responses that carry it."""
    wider = replace(
        config, expose_headers=config.expose_headers + sorted(display_header(h) for h in hidden)
    )
    result = verify(wider, observations)
    return result.ok and all(
        hidden.intersection(check.observation.wanted_exposed)
        <= set(check.decisions[-1].readable_headers or ())
        for check in result.checks
    )
