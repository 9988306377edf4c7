"""Collect CDP Network events per request and match them to cases by ``case=`` in the URL."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import CDPSession

from tests.support.agreement import case_of


@dataclass
class CdpRequest:
    """One CDP requestId: a fetch (with its redirect hops) or a preflight."""

    request_id: str
    method: str
    is_preflight: bool
    urls: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    done: bool = False
    error_text: str | None = None
    cors_error: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "is_preflight": self.is_preflight,
            "urls": self.urls,
            "statuses": self.statuses,
            "error_text": self.error_text,
            "cors_error": self.cors_error,
        }


class NetworkLog:
    """Requests seen on one page's CDP session, keyed by requestId."""

    def __init__(self) -> None:
        self.requests: dict[str, CdpRequest] = {}
        self._changed = asyncio.Event()

    def attach(self, cdp: CDPSession) -> None:
        cdp.on("Network.requestWillBeSent", self._on_request)
        cdp.on("Network.responseReceived", self._on_response)
        cdp.on("Network.loadingFinished", self._on_finished)
        cdp.on("Network.loadingFailed", self._on_failed)

    def _on_request(self, params: dict[str, Any]) -> None:
        request_id = params["requestId"]
        if request_id not in self.requests:
            self.requests[request_id] = CdpRequest(
                request_id,
                params["request"]["method"],
                params.get("initiator", {}).get("type") == "preflight",
            )
        request = self.requests[request_id]
        if "redirectResponse" in params:
            request.statuses.append(params["redirectResponse"]["status"])
        request.urls.append(params["request"]["url"])
        self._changed.set()

    def _on_response(self, params: dict[str, Any]) -> None:
        if request := self.requests.get(params["requestId"]):
            request.statuses.append(params["response"]["status"])

    def _on_finished(self, params: dict[str, Any]) -> None:
        if request := self.requests.get(params["requestId"]):
            request.done = True
            self._changed.set()

    def _on_failed(self, params: dict[str, Any]) -> None:
        if request := self.requests.get(params["requestId"]):
            request.done = True
            request.error_text = params.get("errorText")
            request.cors_error = params.get("corsErrorStatus")
            self._changed.set()

    def for_case(self, case_id: str) -> list[CdpRequest]:
        return [r for r in self.requests.values() if any(case_of(u) == case_id for u in r.urls)]

    async def settle(self, case_id: str, fetches: int, deadline: float) -> bool:
        """Wait until the case's ``fetches`` fetches and all its requests have ended.

        Returns False if the deadline passed first (the record is then marked unsettled).
        """
        while True:
            requests = self.for_case(case_id)
            fetched = sum(not r.is_preflight for r in requests)
            # A fetch refused for its preflight may end before CDP has told of the preflight
            # itself (seen under load): that one is still to come.
            preflight_due = any(
                (r.cors_error or {}).get("corsError", "").startswith("Preflight")
                for r in requests
                if not r.is_preflight
            ) and not any(r.is_preflight for r in requests)
            if fetched >= fetches and not preflight_due and all(r.done for r in requests):
                return True
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
            except TimeoutError:
                return False
