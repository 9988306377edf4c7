"""A loopback backend answering fixed bytes per path, so two runs can be compared byte for
byte. Usage: python -m tests.live.fixed_backend PORT"""

import asyncio
import sys

ANSWERS = {
    b"/allowed": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"Access-Control-Allow-Origin: http://localhost:3000\r\nX-Total: 3\r\n"
    b'Content-Length: 11\r\n\r\n{"items":3}',
    b"/blocked": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b'Set-Cookie: sid=abc\r\nContent-Length: 11\r\n\r\n{"items":3}',
    # Served from http://localhost:PORT, it calls http://127.0.0.1:PORT: another origin.
    b"/page": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100\r\n\r\n"
    b"<script>fetch(location.href.replace('localhost', '127.0.0.1').replace('/page', "
    b"'/blocked'))</script>",
    # Secrets in a response, for tests/live/test_planted_secrets.py.
    b"/planted": b"HTTP/1.1 302 Found\r\n"
    b"Location: //locuser:pa@ss7x@elsewhere.test/next?token=LOCTOKEN8"
    b"\r\nSet-Cookie: sid=SETCOOKIE9\r\nAccess-Control-Allow-Origin: http://localhost:3000\r\n"
    b'Content-Type: application/json\r\nContent-Length: 30\r\n\r\n{"access_token":"RESPTOKEN16"}',
    b"/preflight": b"HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\n"
    b'Content-Length: 31\r\n\r\n{"detail":"Method Not Allowed"}',
}


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer requests on this connection until the client closes it (keep-alive)."""
    try:
        while True:
            first = await reader.readexactly(1)
            if first == b"\x16":  # a TLS ClientHello: this server speaks plain HTTP only
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                break
            head = first + await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].split(b"?")[0]
            for line in head.lower().split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    await reader.readexactly(int(line.split(b":", 1)[1]))  # the body, unread
            writer.write(ANSWERS.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(answer, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
