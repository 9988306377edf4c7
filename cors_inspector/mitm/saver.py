"""Saved flows (option `cors_save`): a mitmproxy flow file for `analyze`, `fix` and `replay`,
created readable by the user only and redacted by default."""

from __future__ import annotations

from pathlib import Path

from mitmproxy import ctx, exceptions
from mitmproxy.http import HTTPFlow
from mitmproxy.io import FlowWriter

from ..redact import MASK, SECRET_HEADERS, open_private, redact_text


def redact_flow(flow: HTTPFlow) -> HTTPFlow:
    """A copy of `flow` with secret header values and URL userinfo masked."""
    copy = flow.copy()
    messages = [copy.request] + ([copy.response] if copy.response else [])
    for message in messages:
        for name in SECRET_HEADERS:
            if name in message.headers:
                message.headers.set_all(name, [MASK] * len(message.headers.get_all(name)))
        if "location" in message.headers:
            message.headers["location"] = redact_text(message.headers["location"])
    copy.request.url = redact_text(copy.request.url)
    return copy


class FlowSaver:
    """Keep flows in a mitmproxy flow file for replay and offline analysis."""

    def __init__(self, path: Path, redact: bool = True) -> None:
        self.redact = redact
        self._file = open_private(path, "ab")
        self._writer = FlowWriter(self._file)

    def add(self, flow: HTTPFlow) -> None:
        self._writer.add(redact_flow(flow) if self.redact else flow)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class Saver:
    """The addon that owns the saved flows: its option, opening, flushing and closing (at
    `done` flushed but left open, as the decision log is: see log.LogWriter)."""

    def __init__(self) -> None:
        self.saver: FlowSaver | None = None
        self._done = False

    def load(self, loader) -> None:
        loader.add_option("cors_save", str, "", "Also save every flow to this mitmproxy flow file.")

    def configure(self, updated: set[str]) -> None:
        if updated & {"cors_save", "cors_redact"}:
            self.close()
            options = ctx.options
            if options.cors_save:
                path = Path(options.cors_save).expanduser()
                try:
                    self.saver = FlowSaver(path, options.cors_redact)
                except OSError as error:
                    raise exceptions.OptionsError(
                        f"cannot open the flows file {path}: {error.strerror or error}"
                    ) from None

    def add(self, flow: HTTPFlow) -> None:
        if self.saver:
            self.saver.add(flow)
            if self._done:
                self.saver.flush()

    def flush(self) -> None:
        if self.saver:
            self.saver.flush()

    def done(self) -> None:
        self._done = True
        self.flush()

    def close(self) -> None:
        if self.saver:
            self.saver.close()
            self.saver = None
