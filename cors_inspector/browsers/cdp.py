"""A throwaway Chromium and its DevTools channel over a pipe only this process holds.

`--remote-debugging-pipe` speaks the DevTools protocol on the child's fds 3 (in) and 4 (out),
NUL-terminated JSON messages: no port is opened, so no other local process can listen in or
send commands. The browser runs in its own session (process group), stopped by its pid.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
from collections.abc import Iterator
from typing import Any

from . import chromium, profiles

STOP_TIMEOUT_S = 10.0


def _high(fd: int) -> int:
    """`fd` moved above 4, so that the child's dup2 onto 3 and 4 never meets it."""
    if fd > 4:
        return fd
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class CdpPipe:
    """Chromium with a throwaway profile, through the proxy, driven over its debugging pipe."""

    def __init__(self, executable: str, proxy: str, headless: bool) -> None:
        self.profile = profiles.new_profile()
        argv = chromium.browser_arguments(
            executable, self.profile, proxy, "about:blank", headless, chromium.mitmproxy_ca_spki()
        )
        argv.insert(-1, "--remote-debugging-pipe")
        to_child, self._to_browser = map(_high, os.pipe())
        self._from_browser, from_child = map(_high, os.pipe())
        try:
            self.pid = os.posix_spawn(
                executable,
                argv,
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_DUP2, to_child, 3),
                    (os.POSIX_SPAWN_DUP2, from_child, 4),
                ],
                setsid=True,  # its own process group: stopping it stops every browser process
            )
        finally:
            os.close(to_child)
            os.close(from_child)
        self._next_id = 0
        self.exit_status: int | None = None

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> int:
        """Send one command; its id (the answer comes among `messages`). Raises OSError when
        the browser has gone."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def messages(self) -> Iterator[dict[str, Any]]:
        """Every message the browser sends, until it closes the pipe (it exited)."""
        pending = b""
        while chunk := os.read(self._from_browser, 1 << 16):
            *complete, pending = (pending + chunk).split(b"\0")
            for raw in complete:
                yield json.loads(raw)

    def close(self) -> None:
        """Stop the browser (its whole process group) and remove its profile."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)
        self.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)

    def wait(self) -> int:
        """Its exit status, once it has exited; killed when it outlasts STOP_TIMEOUT_S."""
        if self.exit_status is None:
            pidfd = os.pidfd_open(self.pid)
            try:
                if not select.select([pidfd], [], [], STOP_TIMEOUT_S)[0]:
                    os.killpg(self.pid, signal.SIGKILL)
            finally:
                os.close(pidfd)
            _, status = os.waitpid(self.pid, 0)
            self.exit_status = os.waitstatus_to_exitcode(status)
        return self.exit_status
