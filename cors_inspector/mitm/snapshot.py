"""Recent exchanges kept by the addon for its commands, as marshalled plain data.

Bytes, not Exchange objects: the cycle collector skips them, where thousands of kept tuples
would be tracked by it, add to its young collections and make its full ones (a visible pause
on the proxy) more frequent.
"""

from __future__ import annotations

import marshal

from ..engine import Exchange, Headers, Request, Response

Snapshot = bytes


def snapshot(exchange: Exchange) -> Snapshot:
    request, response = exchange.request, exchange.response
    kept_response = None
    if response is not None:
        kept_response = (
            response.status,
            response.headers.pairs,
            response.reason,
            response.body_head,
        )
    return marshal.dumps(
        (
            exchange.id,
            exchange.started,
            request.method,
            request.url,
            request.headers.pairs,
            kept_response,
            exchange.ended,
            exchange.error,
            exchange.answered_by_proxy,
            exchange.connection,
        )
    )


def restore(kept: Snapshot) -> Exchange:
    id_, started, method, url, pairs, kept_response, ended, error, by_proxy, connection = (
        marshal.loads(kept)
    )
    response = None
    if kept_response is not None:
        status, response_pairs, reason, body_head = kept_response
        response = Response(status, Headers(response_pairs), reason, body_head)
    return Exchange(
        id_,
        started,
        Request(method, url, Headers(pairs)),
        response,
        ended,
        error,
        answered_by_proxy=by_proxy,
        connection=connection,
    )
