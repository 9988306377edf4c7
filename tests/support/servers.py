"""Start and stop the harness's helper processes (mitmdump, backends) by pid."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0

_lock = threading.Lock()
_handed_out: set[int] = set()
_held: dict[int, socket.socket] = {}


def free_ports(count: int, *taken: int) -> list[int]:
    """Distinct free loopback ports, none of ``taken`` nor of those handed out before in this
    process (runs may pick ports in parallel threads): all sockets stay bound until every
    port is picked."""
    with _lock, ExitStack() as stack:
        avoid = set(taken) | _handed_out
        sockets = []
        while len(sockets) < count:
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            if sock.getsockname()[1] not in avoid:
                sockets.append(sock)
        ports = [sock.getsockname()[1] for sock in sockets]
        _handed_out.update(ports)
        return ports


def hold(*ports: int) -> None:
    """Keep ``ports`` for a later run that must serve on them again (e.g. page ports): never
    hand them out, and keep them bound until ``claim`` so that no outgoing connection picks
    one as its local port meanwhile.  A port already taken is left for ``claim`` to report."""
    with _lock:
        _handed_out.update(ports)
        for port in ports:
            if port in _held:
                continue
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                sock.close()
                continue
            _held[port] = sock


def claim(port: int) -> None:
    """Release a ``hold`` on ``port`` for the process about to listen on it; fail clearly if
    another process has it (it would answer instead)."""
    with _lock:
        if held := _held.pop(port, None):
            held.close()
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as e:
            raise RuntimeError(f"port {port} is needed again but is taken: {e}") from e


@dataclass
class Process:
    """One child process with its output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    stop_signal: signal.Signals = signal.SIGTERM

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_for_port(self, port: int, deadline: float) -> None:
        """Poll until ``port`` accepts a connection; fail early if the process died."""
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not listening on {port}:\n{self.log_tail()}")
            try:
                # Doubles as the poll interval: returns at once if the process exited.
                code = self.popen.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"{self.name} exited with {code}:\n{self.log_tail()}")

    def ask_to_stop(self) -> None:
        """Send the stop signal without waiting (``stop`` waits)."""
        if self.popen.poll() is None:
            self.popen.send_signal(self.stop_signal)

    def stop(self) -> None:
        """Ask the process to exit (so mitmdump can finish its flow file), then insist."""
        if self.popen.poll() is None:
            self.popen.send_signal(self.stop_signal)
            try:
                self.popen.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def start(
    name: str,
    argv: Sequence[str],
    *,
    stack: ExitStack,
    log_dir: Path,
    cwd: Path,
    env: dict[str, str] | None = None,
    stop_signal: signal.Signals = signal.SIGTERM,
) -> Process:
    """Start ``argv``; ``stack`` stops it when it unwinds, whatever happens in between."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    process = Process(name, popen, log_path, stop_signal)
    stack.callback(process.stop)
    return process


def stop_together(stack: ExitStack, processes: Sequence[Process]) -> None:
    """When ``stack`` unwinds, signal all ``processes`` at once before each ``stop`` waits
    (register after starting them: ExitStack unwinds last-in first-out)."""
    stack.callback(lambda: [process.ask_to_stop() for process in processes])
