"""What the browser remembers of earlier preflights: the CORS-preflight cache (Fetch), and
the preflights that failed (for the requests the browser then never sent)."""

from __future__ import annotations

from .decision import Failure, Step
from .exchange import Exchange
from .preflight import PreflightGrant
from .safelists import SAFELISTED_METHODS, page_unsafe_headers

ENTRIES = 1024  # Chromium's limit
KEEP_FAILED = 1024  # failed preflights remembered for the requests never sent


class PreflightCache:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[float, PreflightGrant, str]] = {}
        self._failed: dict[str, Failure] = {}  # preflight id -> why it failed

    def remember(self, origin: str, exchange: Exchange, grant: PreflightGrant | None) -> None:
        if grant is None or grant.max_age <= 0:
            return
        # Fetch "CORS-preflight cache": keyed by origin and URL; Chromium keeps one entry a key,
        # and at most 1024 entries (preflight_cache.cc): the oldest goes first.
        key = (origin, exchange.request.url)
        fetched = exchange.ended or exchange.started
        self._entries.pop(key, None)
        self._entries[key] = (fetched + grant.max_age, grant, exchange.id)
        if len(self._entries) > ENTRIES:
            del self._entries[next(iter(self._entries))]

    def forget(self, origin: str, url: str) -> None:
        """Fetch main fetch step 12.6: a CORS failure clears the entry."""
        self._entries.pop((origin, url), None)

    def failed(self, preflight_id: str, failure: Failure) -> None:
        self._failed[preflight_id] = failure
        if len(self._failed) > KEEP_FAILED:
            del self._failed[next(iter(self._failed))]

    def failure_of(self, preflight_id: str | None) -> Failure | None:
        return self._failed.get(preflight_id or "")

    def explain_missing(self, exchange: Exchange, include: bool, trace: list[Step]) -> None:
        request = exchange.request
        unsafe = page_unsafe_headers(request.headers)
        method = request.method
        why = []
        if method not in SAFELISTED_METHODS:
            why.append(f"method `{method}` is not GET, HEAD or POST")
        if unsafe:
            why.append(
                "headers " + ", ".join(f"`{name}`" for name in unsafe) + " are not CORS-safelisted"
            )
        if not why:
            trace.append(
                Step(
                    "Preflight needed?",
                    "Fetch: main fetch, step 12.7",
                    f"`{method}` with CORS-safelisted headers only",
                    "no preflight for a simple request",
                    "pass",
                )
            )
            return
        reasons = " and ".join(why)
        if exchange.preflight_cached:
            trace.append(
                Step(
                    "Preflight cache",
                    "Chrome NetLog: CHECK_CORS_PREFLIGHT_CACHE hit-and-pass",
                    f"no preflight sent: {reasons}, but the browser's preflight cache allowed it",
                    "a cached, matching preflight",
                    "pass",
                )
            )
            return
        cached = self._entries.get((request.headers.get("origin") or "null", request.url))
        if cached is not None:
            expires, grant, source = cached
            if exchange.started <= expires and grant.allows(method, unsafe, include):
                trace.append(
                    Step(
                        "Preflight cache",
                        "Fetch: CORS-preflight cache (HTTP fetch, step 4.1)",
                        f"no preflight sent: {reasons}, but the preflight of flow {source} is "
                        f"cached (max-age {grant.max_age} s)",
                        "a cached, matching preflight",
                        "pass",
                    )
                )
                return
        trace.append(
            Step(
                "Preflight cache",
                "Fetch: CORS-preflight cache (HTTP fetch, step 4.1)",
                f"a preflight was needed ({reasons}), yet none is in the capture",
                "a preflight, or a cached one",
                "info",
            )
        )
        trace.append(
            Step(
                "Why no preflight",
                "Chromium preflight cache",
                "the browser had a preflight "
                "cached from before the capture began (Chromium keeps them up to 2 h), or the "
                "request did not come from a browser",
                "judging the response alone",
                "info",
            )
        )
