"""Saved flows (option `cors_save`): a mitmproxy flow file for `analyze`, `fix` and `replay`,
created readable by the user only and redacted by default."""

from __future__ import annotations

from pathlib import Path

from mitmproxy import ctx, exceptions
from mitmproxy.http import HTTPFlow, Message
from mitmproxy.io import FlowWriter

from ..redact import SECRET_HEADERS, mask_value, open_private, redact_body, redact_text

_SECRET_NAMES = frozenset(name.encode() for name in SECRET_HEADERS)


def redact_flow(flow: HTTPFlow) -> HTTPFlow:
    """A copy of `flow` with secret header values masked, the userinfo and secret
    parameters of every URL (its own, Referer, Location, ...) redacted, and the secret fields
    of form and JSON bodies (a login's password, a token endpoint's access_token) masked."""
    copy = flow.copy()
    messages = [copy.request] + ([copy.response] if copy.response else [])
    for message in messages:
        fields = message.headers.fields
        redacted = tuple((name, _masked(name, value)) for name, value in fields)
        if redacted != fields:
            message.headers.fields = redacted
        _redact_content(message)
    url = redact_text(copy.request.url)
    if url != copy.request.url:
        copy.request.url = url
    return copy


def _redact_content(message: Message) -> None:
    content_type = message.headers.get("content-type")
    if not content_type or not message.raw_content:
        return
    try:
        content = message.get_content()  # as sent, were it compressed
    except ValueError:
        return  # its encoding is broken: no fields can be read in it, by us or by anyone
    redacted = redact_body(content_type, content)
    if redacted is not content:
        message.content = redacted  # compressed again as it came


def _masked(name: bytes, value: bytes) -> bytes:
    if b"@" not in value and b"=" not in value and name.lower() not in _SECRET_NAMES:
        return value  # the common case, decided without decoding
    return mask_value(name.decode("latin-1"), value.decode("latin-1")).encode("latin-1")


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
