"""Read exchanges from a mitmproxy flow file (`mitmdump -w`, mitmproxy's "save").

Builds Exchanges straight from the serialized flow state instead of mitmproxy Flow objects
(half of mitmproxy's own load time). Files of older formats go through mitmproxy's migration.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from mitmproxy.io import compat
from mitmproxy.version import FLOW_FORMAT_VERSION

from ..engine.exchange import Exchange, Headers, Request, Response
from .tnetstring import TNetStringError, records

BODY_HEAD = 256
_DEFAULT_PORTS = {"http": 80, "https": 443}


class FlowFileError(ValueError):
    pass


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _headers(raw: list[Any]) -> Headers:
    return Headers(tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in raw))


def _url(request: dict[str, Any]) -> str:
    scheme = _text(request["scheme"])
    host = _text(request["host"])
    port = request["port"]
    path = _text(request["path"])
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}{path}"
    return f"{scheme}://{host}:{port}{path}"


def _body_head(response: dict[str, Any]) -> str:
    content = response.get("content")
    if not content or response["status_code"] < 400:
        return ""
    return content[:BODY_HEAD].decode("utf-8", "replace")


def exchange_from_state(state: dict[str, Any]) -> Exchange:
    """An Exchange from a flow's serialized state (mitmproxy `Flow.get_state()`)."""
    request = state["request"]
    response_state = state.get("response")
    response = None
    ended = None
    if response_state is not None:
        response = Response(
            status=response_state["status_code"],
            headers=_headers(response_state["headers"]),
            reason=_text(response_state.get("reason")),
            body_head=_body_head(response_state),
        )
        ended = response_state.get("timestamp_end") or response_state.get("timestamp_start")
    error = state.get("error")
    return Exchange(
        id=state["id"],
        started=request.get("timestamp_start") or state.get("timestamp_created") or 0.0,
        request=Request(
            method=_text(request["method"]), url=_url(request), headers=_headers(request["headers"])
        ),
        response=response,
        ended=ended,
        error=error["msg"] if error else None,
    )


def read_flows(stream: IO[bytes]) -> Iterator[Exchange]:
    """Yield the HTTP exchanges of a flow file; raise FlowFileError where it stops making sense."""
    count = 0
    try:
        for state in records(stream):
            if not isinstance(state, dict):
                raise FlowFileError(f"record {count + 1} is not a flow")
            version = state.get("version")
            if version != FLOW_FORMAT_VERSION and not (
                isinstance(version, int) and version > FLOW_FORMAT_VERSION
            ):
                # Newer formats are read as they are: the fields used here have not changed.
                try:
                    state = compat.migrate_flow(state)
                except (ValueError, KeyError, TypeError) as error:
                    raise FlowFileError(f"record {count + 1}: {error}") from None
            count += 1
            if state.get("type") != "http":
                continue  # TCP, UDP and DNS flows carry no CORS
            try:
                yield exchange_from_state(state)
            except (KeyError, TypeError, AttributeError, ValueError) as error:
                raise FlowFileError(f"flow {count} is malformed ({error!r})") from None
    except TNetStringError as error:
        where = f"after {count} flows" if count else "at the start"
        raise FlowFileError(f"{error} ({where})") from None
