"""The bridge tests' loopback backend: the page (http://localhost:PORT/page) calls its API on
http://127.0.0.1:PORT/api/..., another origin. Usage: python -m tests.bridge.backend PORT"""

import asyncio
import sys
from pathlib import Path

PAGE = b'<!doctype html><title>bridge cases</title><script src="/app.js"></script>'
SCRIPT = (Path(__file__).parent / "app.js").read_bytes()


def answer_for(method: bytes, path: bytes, origin: bytes) -> tuple[bytes, list[bytes], bytes]:
    """Status line, headers and body for one request."""
    allow = [b"Access-Control-Allow-Origin: " + origin] if origin else []
    if path == b"/page":
        return b"200 OK", [b"Content-Type: text/html"], PAGE
    if path == b"/app.js":
        return b"200 OK", [b"Content-Type: text/javascript"], SCRIPT
    if method == b"OPTIONS":
        if path == b"/api/preflight-passes":
            return b"204 No Content", [*allow, b"Access-Control-Allow-Methods: PUT"], b""
        return b"400 Bad Request", [b"Content-Type: text/plain"], b"Disallowed CORS method"
    if path == b"/api/missing":
        return b"200 OK", [b"Content-Type: application/json"], b"{}"
    if path == b"/api/wildcard":
        return b"200 OK", [b"Access-Control-Allow-Origin: *"], b"{}"
    return b"200 OK", [*allow, b"Content-Type: application/json"], b"{}"


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            method, target, _ = lines[0].split(b" ", 2)
            fields = dict(
                (name.strip().lower(), value.strip())
                for name, _, value in (line.partition(b":") for line in lines[1:] if line)
            )
            if length := int(fields.get(b"content-length", b"0")):
                await reader.readexactly(length)
            status, headers, body = answer_for(
                method, target.split(b"?")[0], fields.get(b"origin", b"")
            )
            headers = [*headers, b"Content-Length: %d" % len(body), b"Cache-Control: no-store"]
            writer.write(b"HTTP/1.1 " + status + b"\r\n" + b"\r\n".join(headers))
            writer.write(b"\r\n\r\n" + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(serve, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
