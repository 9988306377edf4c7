"""Small builders for exchanges, so each rule test reads as the traffic it describes."""

from __future__ import annotations

from itertools import count

from cors_inspector.engine import Analyzer, Decision, Exchange, Headers, Request, Response

PAGE = "http://localhost:3000"
API = "http://localhost:8000"
_ids = count(1)


def exchange(
    method: str,
    url: str,
    request_headers: dict[str, str] | list[tuple[str, str]] | None = None,
    status: int | None = 200,
    response_headers: dict[str, str] | list[tuple[str, str]] | None = None,
    at: float = 1000.0,
    body: str = "",
    browser_error: str | None = None,
) -> Exchange:
    def pairs(headers):
        if headers is None:
            return ()
        return tuple(headers.items() if isinstance(headers, dict) else headers)

    response = None
    if status is not None:
        response = Response(status, Headers(pairs(response_headers)), body_head=body)
    return Exchange(
        id=f"f{next(_ids)}",
        started=at,
        request=Request(method, url, Headers(pairs(request_headers))),
        response=response,
        ended=at + 0.01,
        browser_error=browser_error,
    )


def cors_get(
    response_headers=None,
    status: int = 200,
    url: str = f"{API}/items",
    origin: str = PAGE,
    cookie: bool = False,
    extra: dict[str, str] | None = None,
    method: str = "GET",
    at: float = 1000.0,
) -> Exchange:
    headers = {"Origin": origin, "Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-site"}
    if cookie:
        headers["Cookie"] = "session=1"
    headers.update(extra or {})
    return exchange(method, url, headers, status, response_headers, at=at)


def preflight(
    method: str,
    response_headers=None,
    status: int = 200,
    request_headers: str | None = None,
    url: str = f"{API}/items",
    origin: str = PAGE,
    at: float = 1000.0,
) -> Exchange:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Sec-Fetch-Mode": "cors",
    }
    if request_headers:
        headers["Access-Control-Request-Headers"] = request_headers
    return exchange("OPTIONS", url, headers, status, response_headers, at=at)


def judge(*exchanges: Exchange) -> list[Decision]:
    return list(Analyzer().run(exchanges))


def judge_one(exchange_: Exchange) -> Decision:
    (decision,) = judge(exchange_)
    return decision


def judge_with_actual(preflight_: Exchange) -> Decision:
    """Judge a preflight followed by the (uncredentialed) actual request it served."""
    headers = preflight_.request.headers
    wanted = headers.get("access-control-request-headers") or ""
    actual = cors_get(
        {"Access-Control-Allow-Origin": headers.get("origin") or PAGE},
        url=preflight_.request.url,
        method=headers.get("access-control-request-method") or "GET",
        extra={name: "1" for name in wanted.split(",") if name},
        at=preflight_.started + 0.05,
    )
    return judge(preflight_, actual)[0]


def mitm_flow(
    method: bytes = b"GET",
    path: bytes = b"/items",
    request_headers=(),
    status: int = 200,
    response_headers=(),
    at: float = 1.0,
):
    """A mitmproxy HTTPFlow to localhost:8000, built with mitmproxy's own test helpers."""
    from mitmproxy import http
    from mitmproxy.test import tflow, tutils

    request = tutils.treq(
        method=method,
        host="localhost",
        port=8000,
        path=path,
        headers=http.Headers(list(request_headers)),
        timestamp_start=at,
    )
    response = tutils.tresp(status_code=status, headers=http.Headers(list(response_headers)))
    return tflow.tflow(req=request, resp=response)
