"""What a NetLog's `constants` say (event and source types, phases, net errors, load flags,
the tick offset, the Chrome version) and Chromium's CorsError numbering per version."""

from __future__ import annotations

from dataclasses import dataclass

from .limits import MAX_RECORD_CHARS, is_time

# An event line longer than this is damage, not a NetLog: the longest Chrome writes (a body
# chunk's bytes) is well under a megabyte, and the JSON reader refuses such a value anyway.
MAX_LINE = MAX_RECORD_CHARS
MAX_OPEN = 10_000  # requests still open at once; beyond it the oldest is reported as it is
MAX_STREAM_JOBS = 4096  # stream jobs whose socket is remembered until their request binds

# network::mojom::CorsError (services/network/public/mojom/cors.mojom) by value, per Chrome
# major version. The numbering shifts between versions (entries were removed), so only a
# version checked against the real browser is listed: each name below was seen as CDP's
# corsErrorStatus for the same request whose CORS_PREFLIGHT_ERROR carried the number, or is
# marked unprovoked in tests/browser/test_netlog.py.
CORS_ERRORS_BY_VERSION: dict[int, tuple[str, ...]] = {
    156: (
        "DisallowedByMode",
        "InvalidResponse",
        "WildcardOriginNotAllowed",
        "MissingAllowOriginHeader",
        "MultipleAllowOriginValues",
        "InvalidAllowOriginValue",
        "AllowOriginMismatch",
        "InvalidAllowCredentials",
        "CorsDisabledScheme",
        "PreflightInvalidStatus",
        "PreflightDisallowedRedirect",
        "PreflightWildcardOriginNotAllowed",
        "PreflightMissingAllowOriginHeader",
        "PreflightMultipleAllowOriginValues",
        "PreflightInvalidAllowOriginValue",
        "PreflightAllowOriginMismatch",
        "PreflightInvalidAllowCredentials",
        "InvalidAllowMethodsPreflightResponse",
        "InvalidAllowHeadersPreflightResponse",
        "MethodDisallowedByPreflightResponse",
        "HeaderDisallowedByPreflightResponse",
        "RedirectContainsCredentials",
        "InsecureLocalNetwork",
        "InvalidLocalNetworkAccess",
        "LocalNetworkAccessPermissionDenied",
    ),
}

# The events read, by name (net_log_event_type_list.h); every other line is skipped undecoded.
CORS_REQUEST = "CORS_REQUEST"
REQUEST_ALIVE = "REQUEST_ALIVE"
START_JOB = "URL_REQUEST_START_JOB"
SEND_HEADERS = (
    "HTTP_TRANSACTION_SEND_REQUEST_HEADERS",
    "HTTP_TRANSACTION_HTTP2_SEND_REQUEST_HEADERS",
    "HTTP_TRANSACTION_QUIC_SEND_REQUEST_HEADERS",
)
WANTED = (
    CORS_REQUEST,
    REQUEST_ALIVE,
    START_JOB,
    *SEND_HEADERS,
    "HTTP_TRANSACTION_READ_RESPONSE_HEADERS",
    "URL_REQUEST_JOB_FILTERED_BYTES_READ",
    "COMPUTED_PRIVACY_MODE",
    "CREATED_BY",
    "CHECK_CORS_PREFLIGHT_CACHE",
    "CORS_PREFLIGHT_URL_REQUEST",
    "CORS_PREFLIGHT_RESULT",
    "CORS_PREFLIGHT_CACHED_RESULT",
    "CORS_PREFLIGHT_ERROR",
    "FAILED",
    "SOCKET_POOL_BOUND_TO_SOCKET",
    "HTTP_STREAM_JOB_BOUND_TO_REQUEST",
)


class NetLogError(ValueError):
    pass


@dataclass(slots=True)
class CorsErrorNames:
    """The CorsError table for the Chrome version a file names, and whether it was verified."""

    version: str
    names: tuple[str, ...]
    verified_with: int | None  # None: the version's own table; else the nearest one used

    @classmethod
    def for_version(cls, version: str) -> CorsErrorNames:
        try:
            major = int(version.split(".", 1)[0])
        except ValueError:
            major = max(CORS_ERRORS_BY_VERSION)
        if major in CORS_ERRORS_BY_VERSION:
            return cls(version, CORS_ERRORS_BY_VERSION[major], None)
        nearest = min(CORS_ERRORS_BY_VERSION, key=lambda known: (abs(known - major), -known))
        return cls(version, CORS_ERRORS_BY_VERSION[nearest], nearest)

    def name(self, number: object) -> str:
        if isinstance(number, int) and 0 <= number < len(self.names):
            return self.names[number]
        return f"CorsError {number}"

    @property
    def unverified_note(self) -> str | None:
        if self.verified_with is None:
            return None
        return (
            f"Chrome {self.version}: its preflight errors are named by Chrome "
            f"{self.verified_with}'s CorsError table (unverified numbering)"
        )


class Constants:
    """The integers of one file's `constants`, for the names this reader needs."""

    def __init__(self, constants: object) -> None:
        try:
            self._read(constants)
        except NetLogError:
            raise
        except (AttributeError, TypeError, ValueError) as error:
            problem = f"not a NetLog: its constants are not what Chrome writes ({error})"
            raise NetLogError(problem) from None

    def _read(self, constants: object) -> None:
        if not isinstance(constants, dict):
            raise NetLogError('not a NetLog: "constants" is not an object')
        tables = {}
        for key in ("logEventTypes", "logSourceType", "logEventPhase"):
            table = constants.get(key)
            if not isinstance(table, dict):
                raise NetLogError(f"not a NetLog: no constants.{key}")
            tables[key] = table
        events, sources, phases = tables.values()
        self.event_names = {number: name for name, number in events.items() if name in WANTED}
        self.url_request = sources.get("URL_REQUEST")
        self.stream_job = sources.get("HTTP_STREAM_JOB")
        self.begin = phases.get("PHASE_BEGIN", 1)
        self.end = phases.get("PHASE_END", 2)
        errors = constants.get("netError")
        self.net_errors = (
            {number: name for name, number in errors.items()} if isinstance(errors, dict) else {}
        )
        load_flags = constants.get("loadFlag")
        flag = load_flags.get("DO_NOT_SAVE_COOKIES") if isinstance(load_flags, dict) else None
        self.do_not_save_cookies = flag if type(flag) is int else None  # a bit mask, or nothing
        offset = constants.get("timeTickOffset", 0)
        self.tick_offset = int(offset) if isinstance(offset, (int, str)) else 0
        client = constants.get("clientInfo")
        version = client.get("version") if isinstance(client, dict) else None
        self.cors_errors = CorsErrorNames.for_version(str(version or "unknown"))

    def seconds(self, ticks: object) -> float:
        """Epoch seconds from an event's `time` (ms ticks, a string; timeTickOffset in ms)."""
        seconds = (int(ticks) + self.tick_offset) / 1000  # type: ignore[call-overload]
        if not is_time(seconds):
            raise NetLogError(f"an event time out of range ({ticks!r})")
        return seconds
