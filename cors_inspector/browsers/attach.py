"""`cors-inspector browser` attached to a running proxy: the proxy's side and the browser's.

The proxy (cors-inspector, cors-inspector proxy) opens a small report endpoint on 127.0.0.1
and writes where it is, with a random token, to a file only its user can read:
`$XDG_RUNTIME_DIR/cors-inspector/bridge-PORT.json` (else under `~/.cache`), the directory
0700, the file 0600, PORT the proxy's. `cors-inspector browser --proxy-port PORT` finds the
file, connects, says the token and which browser it started, and then reports one JSON line
each. Chromium (attached over its own DevTools pipe): its Network events, cut down, the very
messages the in-process bridge reads, fed to the same `NetworkEvents` and `Pairing`. Firefox
(over WebDriver BiDi): its requests as the Firefox bridge's `BiDiEvents` make and settle them
(Firefox's verdict is read from its console, with waits that belong with the browser), fed to
the same `Pairing`. A connection whose first line is not the token is refused and feeds
nothing. The file is removed when the proxy stops.

The endpoint has a thread of its own (and one per connection): the proxy's loop only offers
decisions to the pairing and collects them again, as with `--with-browser`. Until a browser
attaches, and after it has gone, there is no pairing: each decision goes straight on.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
import socket
import stat
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine.decision import Decision
from . import bidi
from .bridge import BrowserRequest, NetworkEvents, Pairing, link

# The browser's messages the pairing reads (the rest: the browser's side handles them).
FORWARDED = frozenset(
    (
        "Network.requestWillBeSent",
        "Network.responseReceived",
        "Network.loadingFinished",
        "Network.loadingFailed",
    )
)
# Firefox's requests as its BiDiEvents make and settle them.
REQUEST, SETTLED = "cors-inspector.request", "cors-inspector.settled"
BROWSERS = ("chromium", "firefox")
MAX_LINE = 4 << 20  # a longer report line ends the connection
AUTH_TIMEOUT_S = 5.0  # a connection says its token this soon, or is dropped
ATTACHED, REFUSED, BUSY = b"attached\n", b"refused\n", b"busy\n"


def attach_directory() -> Path:
    """Where the proxies' attach files live: private to this user."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "cors-inspector"
    cache = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(cache).expanduser() / "cors-inspector"


def attach_file(proxy_port: int) -> Path:
    return attach_directory() / f"bridge-{proxy_port}.json"


def _private(info: os.stat_result, kind: int) -> bool:
    """Of this user, of this kind (no symlink), and nobody else's to read or write."""
    return (
        stat.S_IFMT(info.st_mode) == kind
        and info.st_uid == os.getuid()
        and not info.st_mode & 0o077
    )


def private_directory() -> Path:
    """The attach directory, created 0700 (and tightened, if it is ours but was not);
    OSError when it is someone else's or not a directory."""
    directory = attach_directory()
    directory.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)
    info = os.lstat(directory)
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and info.st_mode & 0o077:
        os.chmod(directory, 0o700)
        info = os.lstat(directory)
    if not _private(info, stat.S_IFDIR):
        raise PermissionError(f"{directory} is not a directory private to this user")
    return directory


@dataclass(frozen=True)
class AttachInfo:
    """What an attach file says: the proxy's report endpoint and its token."""

    proxy_port: int
    report_port: int
    token: str
    pid: int


def read_attach_file(proxy_port: int) -> AttachInfo | None:
    """The running proxy's attach file, if there is one and it is private to this user (one
    anybody else could have written is never believed)."""
    path = attach_file(proxy_port)
    try:
        if not _private(os.lstat(path.parent), stat.S_IFDIR):
            return None
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(descriptor, encoding="utf-8") as source:
            if not _private(os.fstat(source.fileno()), stat.S_IFREG):
                return None
            data = json.load(source)
        return AttachInfo(
            int(data["proxy_port"]), int(data["report_port"]), str(data["token"]), int(data["pid"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


class AttachPoint:
    """The proxy's side: its companion (see mitm/addon.py), the pairing of whichever browser
    is attached, if any; the report endpoint and the attach file while the proxy runs.

    `on_attached(line)` and `on_lost(line)` are called from the endpoint's threads."""

    waits_for_browser = True  # no browser until one attaches

    def __init__(
        self,
        proxy_port: int,
        on_attached: Callable[[str], None] = lambda line: None,
        on_lost: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.proxy_port = proxy_port
        self.on_attached = on_attached
        self.on_lost = on_lost
        self.token = secrets.token_hex(32)
        self.path: Path | None = None  # the attach file, once written
        self.refused = 0  # connections that did not say the token
        self.attachments = 0
        self.pairing: Pairing | None = None  # the attached browser's
        self._draining: list[Pairing] = []  # of browsers gone, until handed on
        self._lock = threading.Lock()
        self._server: socket.socket | None = None
        self._closed = False

    # -- the proxy's lifecycle (its loop) -----------------------------------------------------

    def running(self) -> None:
        """The proxy listens: open the endpoint and say where it is. OSError when the
        directory or the socket cannot be had (the proxy goes on without it)."""
        server = socket.create_server(("127.0.0.1", 0))
        try:
            self._write_file(server.getsockname()[1])
        except OSError:
            server.close()
            raise
        self._server = server
        threading.Thread(
            target=self._accept, args=(server,), name="cors-attach-point", daemon=True
        ).start()

    def close(self) -> None:
        """Remove the file (if it is still ours) and stop listening; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.path is not None:
            with contextlib.suppress(OSError):
                if json.loads(self.path.read_text()).get("token") == self.token:
                    self.path.unlink()
        if self._server is not None:
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
            self._server.close()

    def _write_file(self, report_port: int) -> None:
        directory = private_directory()
        path = directory / f"bridge-{self.proxy_port}.json"
        staged = directory / f".bridge-{self.proxy_port}-{os.getpid()}.tmp"
        record = {
            "proxy_port": self.proxy_port,
            "report_port": report_port,
            "token": self.token,
            "pid": os.getpid(),
        }
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        with os.fdopen(os.open(staged, flags, 0o600), "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.replace(staged, path)  # a stale file of a proxy killed on this port: replaced
        self.path = path

    # -- the companion (the proxy's loop): O(1) while no browser is attached ------------------

    def offer(self, decision: Decision) -> list[Decision]:
        pairing = self.pairing
        return [decision] if pairing is None else pairing.offer(decision)

    def due(self) -> list[Decision]:
        pairing = self.pairing
        ready = [] if pairing is None else pairing.due()
        if self._draining:
            with self._lock:
                gone, self._draining = self._draining, []
            for lost in gone:
                ready.extend(lost.finish())
        return ready

    def finish(self) -> list[Decision]:
        self.close()
        with self._lock:
            pairings = [*self._draining, *([self.pairing] if self.pairing else [])]
            self._draining, self.pairing = [], None
        return [decision for pairing in pairings for decision in pairing.finish()]

    # -- the endpoint's threads ---------------------------------------------------------------

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return  # closed
            threading.Thread(
                target=self._serve, args=(connection,), name="cors-attach-report", daemon=True
            ).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection, connection.makefile("rb") as reports:
            connection.settimeout(AUTH_TIMEOUT_S)
            try:
                said = reports.readline(256).strip()
            except OSError:
                said = b""
            browser = (
                _browser_of(reports) if hmac.compare_digest(said, self.token.encode()) else None
            )
            if browser is None:
                with self._lock:
                    self.refused += 1
                with contextlib.suppress(OSError):
                    connection.sendall(REFUSED)
                return
            pairing = Pairing() if browser == "chromium" else Pairing("firefox", bidi.HOLD_S)
            with self._lock:
                busy = self.pairing is not None or self._closed
                if not busy:
                    self.pairing = pairing
                    self.attachments += 1
            if busy:
                with contextlib.suppress(OSError):
                    connection.sendall(BUSY)
                return
            problem = "the attached browser went away"
            try:
                connection.sendall(ATTACHED)
                connection.settimeout(None)
                self.on_attached(f"a browser attached (cors-inspector browser: {browser})")
                if browser == "chromium":
                    events = NetworkEvents(pairing, _never_sends, "about:blank")
                    self._read(reports, events.handle, FORWARDED)
                else:
                    self._read(reports, ReportedRequests(pairing).handle, (REQUEST, SETTLED))
            except (OSError, ValueError, KeyError, TypeError) as error:
                problem = f"the attached browser's report channel failed ({error})"
            with self._lock:
                self.pairing = None
                self._draining.append(pairing)
            pairing.lose()
            if not self._closed:
                self.on_lost(f"{problem}: going on with the wire alone")

    @staticmethod
    def _read(
        reports: Any, handle: Callable[[dict[str, Any]], None], methods: Collection[str]
    ) -> None:
        while line := reports.readline(MAX_LINE):
            if not line.endswith(b"\n"):
                raise ValueError("a report line too long")
            message = json.loads(line)
            if isinstance(message, dict) and message.get("method") in methods:
                handle(message)


def _browser_of(reports: Any) -> str | None:
    """The browser the second line names (`{"browser": "chromium"}`), if it is one we pair."""
    try:
        hello = json.loads(reports.readline(256))
    except (OSError, ValueError):
        return None
    browser = hello.get("browser") if isinstance(hello, dict) else None
    return browser if browser in BROWSERS else None


class ReportedRequests:
    """The proxy's side for Firefox: the requests the browser's BiDiEvents made and settled,
    as BrowserRequests again, fed to the pairing."""

    def __init__(self, pairing: Pairing) -> None:
        self.pairing = pairing
        self._requests: dict[int, BrowserRequest] = {}  # by the browser's side's number

    def handle(self, message: dict[str, Any]) -> None:
        params = message["params"]
        if message["method"] == REQUEST:
            request = BrowserRequest(
                method=str(params["method"]),
                url=str(params["url"]),
                started=float(params["started"]),
                preflight=bool(params["preflight"]),
                initiator=None,  # Firefox's BiDi names no script location
            )
            if (actual := self._requests.get(params.get("actual"))) is not None:
                link(request, actual)
            self._requests[int(params["id"])] = request
            self.pairing.request(request)
            return
        told = [(self._requests.get(state["id"]), state) for state in params["requests"]]
        if not told:
            return
        for request, state in told:
            if request is not None:
                request.finished = bool(state["finished"])
                request.verdict, request.reason = state["verdict"], state["reason"]
                request.sent = bool(state["sent"])
        if (first := told[0][0]) is not None:
            self.pairing.settled(first)
        for request, state in told:
            if request is not None and request.finished:
                self._requests.pop(state["id"], None)  # nothing refers to it by number again


def _never_sends(*_args: object, **_kwargs: object) -> int:
    raise ValueError("the proxy's side of an attached browser sends no commands")


# -- the browser's side (cors-inspector browser) ----------------------------------------------


class AttachRefused(Exception):
    """The proxy did not take the reports (a wrong token, another browser attached)."""


class ReportChannel:
    """The browser's side of the endpoint: Network events to the proxy, one JSON line each."""

    def __init__(self, info: AttachInfo, browser: str = "chromium") -> None:
        self._socket = socket.create_connection(("127.0.0.1", info.report_port), timeout=5)
        try:
            hello = json.dumps({"browser": browser}).encode()
            self._socket.sendall(info.token.encode() + b"\n" + hello + b"\n")
            answer = self._socket.makefile("rb").readline(64)
            if answer != ATTACHED:
                word = answer.strip().decode(errors="replace") or "no answer"
                raise AttachRefused(word)
            self._socket.settimeout(None)
        except (OSError, AttachRefused):
            self._socket.close()
            raise
        self.open = True

    def send(self, message: dict[str, Any]) -> None:
        """Report one browser event, cut down; OSError when the proxy has gone (the channel
        is then shut)."""
        self.send_raw(reported(message))

    def send_raw(self, message: dict[str, Any]) -> None:
        """Report one message as it is."""
        try:
            self._socket.sendall(json.dumps(message).encode() + b"\n")
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        self.open = False
        self._socket.close()


def reported(message: dict[str, Any]) -> dict[str, Any]:
    """What the pairing reads of a Network event, no more (no headers: no cookies)."""
    params = message.get("params") or {}
    kept: dict[str, Any] = {"requestId": params.get("requestId", "")}
    if message.get("method") == "Network.requestWillBeSent":
        request = params.get("request") or {}
        kept["request"] = {"method": request.get("method", ""), "url": request.get("url", "")}
        for name in ("wallTime", "type", "initiator"):
            if name in params:
                kept[name] = params[name]
        if params.get("redirectResponse"):
            kept["redirectResponse"] = {"status": params["redirectResponse"].get("status")}
    elif message.get("method") == "Network.loadingFailed" and params.get("corsErrorStatus"):
        kept["corsErrorStatus"] = params["corsErrorStatus"]
    return {"method": message["method"], "sessionId": message.get("sessionId", ""), "params": kept}


class RequestReporter:
    """The browser's side for Firefox: in the place of a pairing, behind BiDiEvents, each
    request it makes and settles reported over the channel (method, URL, time and verdict:
    no headers, no console text). Runs on the session's loop; a report lost with the proxy
    is lost (the browser goes on)."""

    def __init__(self, channel: ReportChannel) -> None:
        self._channel = channel
        self._numbers: dict[BrowserRequest, int] = {}

    def request(self, request: BrowserRequest) -> None:
        number = self._numbers[request] = len(self._numbers) + 1
        actual = self._numbers.get(request.actual) if request.actual is not None else None
        self._report(
            REQUEST,
            {
                "id": number,
                "method": request.method,
                "url": request.url,
                "started": request.started,
                "preflight": request.preflight,
                "actual": actual,
            },
        )

    def settled(self, request: BrowserRequest) -> None:
        # Its preflights (and a preflight's actual request) are settled with it, some untold.
        told = [request, *request.preflights, *([request.actual] if request.actual else [])]
        states = [
            {
                "id": self._numbers.get(each),
                "finished": each.finished,
                "verdict": each.verdict,
                "reason": each.reason,
                "sent": each.sent,
            }
            for each in told
        ]
        self._report(SETTLED, {"requests": states})

    def _report(self, method: str, params: dict[str, Any]) -> None:
        if self._channel.open:
            with contextlib.suppress(OSError):
                self._channel.send_raw({"method": method, "params": params})
