"""Credentials evidence by client connection.

Browsers never mix credentialed and uncredentialed requests on one connection, not even to a
proxy: Chromium keys its socket pools by privacy mode, Firefox keeps "anonymous" connections
apart (observed through mitmdump: no client connection carried both). So one request's
evidence holds for every request on its connection: a Cookie header, a navigation (always
credentialed) or Sec-Fetch-Storage-Access mean "with credentials"; a CORS preflight (always
sent without) means "without". A connection that shows both is left out: the rule does not
hold there, and nothing is inferred from it.
"""

from __future__ import annotations

from typing import NamedTuple

from .classify import Classification
from .exchange import Credentials, Exchange

KEEP_CONNECTIONS = 10_000  # connections remembered at once (bounded memory on long captures)


class ConnectionMode(NamedTuple):
    credentials: Credentials
    basis: str  # which request told, and how
    told_by: str  # that request's flow id


def telling(exchange: Exchange, found: Classification) -> ConnectionMode | None:
    """What this request says of its connection's credentials mode, if anything."""
    if exchange.credentials in ("include", "omit"):  # the browser's own record (NetLog)
        mode = "with" if exchange.credentials == "include" else "without"
        return ConnectionMode(
            exchange.credentials,
            f"the browser recorded flow {exchange.id} on the same connection as made {mode} "
            "credentials",
            exchange.id,
        )
    if found.kind == "preflight":
        return ConnectionMode(
            "omit",
            f"inferred: a CORS preflight (flow {exchange.id}, always sent without credentials) "
            "came on the same client connection, and browsers keep credentialed and "
            "uncredentialed requests on separate connections",
            exchange.id,
        )
    headers = exchange.request.headers
    if "cookie" in headers:
        why = "carries a Cookie header"
    elif headers.get("sec-fetch-mode") == "navigate":
        why = "is a navigation (always made with credentials)"
    elif "sec-fetch-storage-access" in headers:
        why = "carries Sec-Fetch-Storage-Access (sent only with credentials)"
    else:
        return None
    return ConnectionMode(
        "include",
        f"inferred: flow {exchange.id} on the same client connection {why}, and browsers keep "
        "credentialed and uncredentialed requests on separate connections",
        exchange.id,
    )


class ConnectionModes:
    """The credentials mode learned for each client connection."""

    def __init__(self) -> None:
        self._modes: dict[str, ConnectionMode | None] = {}  # None: both seen, left out

    def learn(self, exchange: Exchange, found: Classification) -> str | None:
        """Note what `exchange` tells; the connection's id when this settles it anew."""
        connection = exchange.connection
        if connection is None:
            return None
        told = telling(exchange, found)
        if told is None:
            return None
        modes = self._modes
        if connection in modes:
            known = modes[connection]
            if known is not None and known.credentials != told.credentials:
                modes[connection] = None  # the rule does not hold here: infer nothing from it
            return None
        modes[connection] = told
        if len(modes) > KEEP_CONNECTIONS:
            del modes[next(iter(modes))]
        return connection

    def mode(self, connection: str | None) -> ConnectionMode | None:
        return None if connection is None else self._modes.get(connection)
