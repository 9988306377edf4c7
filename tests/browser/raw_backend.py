"""A scriptable HTTP/1.1 server that answers with exactly the header lines a case asks for.

It is written on raw asyncio streams (no HTTP library) so that duplicated, empty and
malformed header lines reach the wire byte for byte.

Usage: ``python -m tests.browser.raw_backend TABLE.json PORT [PORT ...]``

The table maps a case id to its script::

    {"<case id>": {"<step>": {"preflight": REPLY | null, "actual": REPLY | null}}}

    REPLY = {"status": 200, "headers": [["Name", "value"], ...], "body": "ok"}

A request picks its script from the ``case`` and ``step`` (default ``main``) query
parameters; an OPTIONS request carrying ``Access-Control-Request-Method`` gets the
``preflight`` reply, anything else the ``actual`` one.  ``GET /`` (no case) serves the blank
HTML page the fetches run in.  Requests nobody scripted get a 404 without CORS headers, so a
harness mistake shows up as a blocked request instead of passing silently.
"""

from __future__ import annotations

import asyncio
import json
import sys
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAGE_HTML = (
    b"<!doctype html><html><head><title>cors-inspector page</title></head><body></body></html>"
)

Reply = dict[str, Any]


def _page_reply() -> Reply:
    return {
        "status": 200,
        "headers": [["Content-Type", "text/html; charset=utf-8"], ["Cache-Control", "no-store"]],
        "body": PAGE_HTML.decode(),
    }


def _unscripted(why: str) -> Reply:
    return {"status": 404, "headers": [["Content-Type", "text/plain"]], "body": why}


def choose_reply(table: dict[str, Any], method: str, target: str, headers: dict[str, str]) -> Reply:
    """Pick the scripted reply for one request (see the module docstring)."""
    url = urlsplit(target)
    query = parse_qs(url.query)
    case_id = query.get("case", [None])[0]
    if case_id is None:
        return _page_reply() if url.path == "/" else _unscripted("no case")
    step = table.get(case_id, {}).get(query.get("step", ["main"])[0])
    if step is None:
        return _unscripted(f"unknown case/step {case_id}")
    is_preflight = method == "OPTIONS" and "access-control-request-method" in headers
    reply = step.get("preflight" if is_preflight else "actual")
    if reply is None:
        return _unscripted(f"{case_id}: no {'preflight' if is_preflight else 'actual'} reply")
    return reply


def serialize(reply: Reply, *, head: bool = False) -> bytes:
    """Render a reply; only Content-Length (and a default Content-Type) are ever added.

    ``head`` (a HEAD request) and 204/304 replies go without a body, as HTTP requires.
    """
    status = int(reply["status"])
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:  # e.g. 299
        reason = "Status"
    body = reply.get("body", "").encode()
    lines = [f"HTTP/1.1 {status} {reason}"]
    names = set()
    for name, value in reply.get("headers", []):
        lines.append(f"{name}: {value}" if value else f"{name}:")
        names.add(name.lower())
    if body and "content-type" not in names:
        lines.append("Content-Type: text/plain; charset=utf-8")
    bodiless = status in (204, 304)
    if "content-length" not in names and not bodiless:
        lines.append(f"Content-Length: {len(body)}")
    if head or bodiless:
        body = b""
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def serve_connection(
    table: dict[str, Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            request_line, *header_lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
            method, target, _version = request_line.split(" ", 2)
            headers: dict[str, str] = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            # Chromium sends fetch() bodies with Content-Length, never chunked.
            await reader.readexactly(int(headers.get("content-length", "0")))
            reply = choose_reply(table, method, target, headers)
            writer.write(serialize(reply, head=method == "HEAD"))
            await writer.drain()
    finally:
        writer.close()


async def main(table_path: Path, ports: list[int]) -> None:
    table = json.loads(table_path.read_text())
    servers = [
        await asyncio.start_server(
            lambda r, w: serve_connection(table, r, w), host="127.0.0.1", port=port
        )
        for port in ports
    ]
    print(f"raw backend ready on {ports}", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), [int(p) for p in sys.argv[2:]]))
