"""A CORSMiddleware configuration: read back from traffic, merged, and written as Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

# Starlette adds these to allow_headers itself (since 0.13.3): never worth listing.
ALWAYS_ALLOWED_HEADERS = frozenset(
    {"accept", "accept-language", "content-language", "content-type"}
)
STARLETTE_DEFAULT_MAX_AGE = 600
# FastAPI's `fastapi.middleware.cors` re-exports this class: the one import works for both.
IMPORT_LINE = "from starlette.middleware.cors import CORSMiddleware"


@dataclass
class CorsConfig:
    """The keyword arguments of `app.add_middleware(CORSMiddleware, ...)`.

    Lists, never strings: Starlette's `"*" in allow_origins` on a string is a substring test.
    """

    allow_origins: list[str] = field(default_factory=list)
    allow_origin_regex: str | None = None
    allow_methods: list[str] = field(default_factory=lambda: ["GET"])
    allow_headers: list[str] = field(default_factory=list)
    allow_credentials: bool = False
    expose_headers: list[str] = field(default_factory=list)
    max_age: int = STARLETTE_DEFAULT_MAX_AGE
    allow_private_network: bool = False

    def kwargs(self) -> dict[str, Any]:
        """Only the arguments that differ from Starlette's defaults."""
        defaults = CorsConfig()
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(defaults, f.name)
        }

    def to_python(self, offered_expose: Sequence[str] = ()) -> str:
        """The call, one argument a line. `offered_expose`: headers the page cannot read,
        offered as a commented-out expose_headers line (the wire cannot show a script
        reading them, so they are never exposed by default)."""
        lines = ["app.add_middleware(", "    CORSMiddleware,"]
        for name, value in self.kwargs().items():
            lines.append(f"    {name}={_literal(value)},")
        offered = [h for h in offered_expose if h not in self.expose_headers]
        if offered:
            wider = _literal([*self.expose_headers, *offered])
            instead = " instead of the line above" if self.expose_headers else ""
            them = "it" if len(offered) == 1 else "them"
            lines.append(
                f"    # expose_headers={wider},  # uncomment{instead} if the page reads {them}"
            )
        lines.append(")")
        return "\n".join(lines)


def _literal(value: object) -> str:
    if isinstance(value, str):
        if "\\" in value and '"' not in value:
            return f'r"{value}"'  # a regex reads best as a raw string
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    return repr(value)


def display_header(name: str) -> str:
    """`x-request-id` -> `X-Request-Id`: how people write header names in code."""
    return "-".join(part.capitalize() for part in name.split("-"))
