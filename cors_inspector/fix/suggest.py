"""The smallest safe CORSMiddleware configuration for everything seen of one backend.

Merged across every request to that backend (a fix for one page must not break another),
never insecure (no `*` or catch-all regex with credentials), exact origins as the browser
sent them. See shared reference "From an observed blocked request to a minimal configuration".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ..engine.cors_check import ACAC, ACAH, ACAM, ACAO, ACEH, ACMA
from ..engine.origins import origin_of, url_parts
from ..engine.preflight import parse_max_age
from ..engine.safelists import (
    FORBIDDEN_RESPONSE_HEADERS,
    SAFELISTED_RESPONSE_HEADERS,
    parse_token_list,
)
from .config import ALWAYS_ALLOWED_HEADERS, STARLETTE_DEFAULT_MAX_AGE, CorsConfig, display_header
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

    def lookalike_of(self, observation: Observation) -> Lookalike | None:
        return next((found for seen, found in self.lookalikes if seen is observation), None)


def _sorted_methods(methods: set[str]) -> list[str]:
    known = [m for m in _METHOD_ORDER if m in methods]
    return known + sorted(methods - set(_METHOD_ORDER))


def current_config(backend: Backend) -> CorsConfig | None:
    """The configuration the server's CORS headers reveal (Starlette's preflight answers
    list allow_methods, allow_headers, max_age and credentials as configured)."""
    config = CorsConfig(allow_methods=[])
    seen = False
    origins: set[str] = set()
    methods: set[str] = set()
    headers: set[str] = set()
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
                methods.update(parse_token_list(values.get(ACAM))[0])
                headers.update(name.lower() for name in parse_token_list(values.get(ACAH))[0])
                if ACMA in values:
                    max_ages.append(parse_max_age(values.get(ACMA)))
            else:
                exposed.update(name.lower() for name in parse_token_list(values.get(ACEH))[0])
    if not seen:
        return None
    config.allow_origins = ["*"] if "*" in origins else sorted(origins)
    # `*` is Starlette's shorthand (expanded, or echoed for headers): list names instead.
    named_methods = {page_method(m) for m in methods if m != "*"}
    config.allow_methods = _sorted_methods(named_methods) if named_methods else ["GET"]
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

    methods = set(current.allow_methods if current else ["GET"])
    for observation in observations:
        if needs_preflight(observation):
            methods.add(page_method(observation.method))
    config.allow_methods = _sorted_methods(methods)

    headers = {h.lower() for h in (current.allow_headers if current else [])}
    for observation in observations:
        headers.update(observation.request_headers)
    config.allow_headers = sorted(display_header(h) for h in headers - ALWAYS_ALLOWED_HEADERS)
    config.allow_credentials = credentials

    exposed = {h.lower() for h in (current.expose_headers if current else [])}
    for observation in observations:
        exposed.update(observation.wanted_exposed)
    exposed -= SAFELISTED_RESPONSE_HEADERS | FORBIDDEN_RESPONSE_HEADERS
    if credentials:
        exposed.discard("*")
    config.expose_headers = sorted(display_header(h) for h in exposed)
    if any(o.wanted_exposed for o in observations):
        suggestion.notes.append(
            "expose_headers lists the custom response headers script could not read; keep only "
            "those the page reads."
        )
    config.max_age = current.max_age if current else STARLETTE_DEFAULT_MAX_AGE
    config.allow_private_network = any(o.private_network for o in observations)
    if config.allow_private_network:
        suggestion.notes.append("allow_private_network needs Starlette >= 0.51.")
    fixable = {id(seen) for seen, found in suggestion.lookalikes if found.cors_change_helps}
    unfixable = {id(seen) for seen, _ in suggestion.lookalikes} - fixable
    suggestion.uncovered = [o for o in observations if id(o) in unfixable]
    suggestion.verification = verify(config, [o for o in observations if id(o) not in unfixable])
    return suggestion
