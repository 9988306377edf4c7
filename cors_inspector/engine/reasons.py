"""Chromium's CorsError names (as DevTools and CDP show them), Firefox's counterparts, and the
console text each browser prints: Chromium's (third_party/blink/.../cors_error_string.cc) and
Firefox's (dom/locales/en-US/chrome/security/security.properties, checked against the installed
Firefox by the browser suite).
"""

from __future__ import annotations

import re
from typing import NamedTuple


class CorsError(NamedTuple):
    firefox: str | None  # MDN's name of Firefox's reason; None where Firefox has none
    console: str  # Chromium's reason text; {value} is the failed parameter
    preflight_prefix: bool = False  # Chromium prefixes "Response to preflight request ..."


_WILDCARD = (
    "The value of the 'Access-Control-Allow-Origin' header in the response must not be the "
    "wildcard '*' when the request's credentials mode is 'include'."
)
_MISSING = "No 'Access-Control-Allow-Origin' header is present on the requested resource."
_MULTIPLE = (
    "The 'Access-Control-Allow-Origin' header contains multiple values '{value}', but only one "
    "is allowed."
)
_INVALID = "The 'Access-Control-Allow-Origin' header contains the invalid value '{value}'."
_MISMATCH = (
    "The 'Access-Control-Allow-Origin' header has a value '{value}' that is not equal to the "
    "supplied origin."
)
_CREDENTIALS = (
    "The value of the 'Access-Control-Allow-Credentials' header in the response is '{value}' "
    "which must be 'true' when the request's credentials mode is 'include'."
)

CORS_ERRORS: dict[str, CorsError] = {
    "WildcardOriginNotAllowed": CorsError("CORSNotSupportingCredentials", _WILDCARD),
    "MissingAllowOriginHeader": CorsError("CORSMissingAllowOrigin", _MISSING),
    "MultipleAllowOriginValues": CorsError("CORSMultipleAllowOriginNotAllowed", _MULTIPLE),
    "InvalidAllowOriginValue": CorsError("CORSAllowOriginNotMatchingOrigin", _INVALID),
    "AllowOriginMismatch": CorsError("CORSAllowOriginNotMatchingOrigin", _MISMATCH),
    "InvalidAllowCredentials": CorsError("CORSMissingAllowCredentials", _CREDENTIALS),
    "PreflightWildcardOriginNotAllowed": CorsError("CORSNotSupportingCredentials", _WILDCARD, True),
    "PreflightMissingAllowOriginHeader": CorsError("CORSMissingAllowOrigin", _MISSING, True),
    "PreflightMultipleAllowOriginValues": CorsError(
        "CORSMultipleAllowOriginNotAllowed", _MULTIPLE, True
    ),
    "PreflightInvalidAllowOriginValue": CorsError(
        "CORSAllowOriginNotMatchingOrigin", _INVALID, True
    ),
    "PreflightAllowOriginMismatch": CorsError("CORSAllowOriginNotMatchingOrigin", _MISMATCH, True),
    "PreflightInvalidAllowCredentials": CorsError(
        "CORSMissingAllowCredentials", _CREDENTIALS, True
    ),
    "PreflightInvalidStatus": CorsError(
        "CORSPreflightDidNotSucceed", "It does not have HTTP ok status.", True
    ),
    "PreflightDisallowedRedirect": CorsError(
        "CORSExternalRedirectNotAllowed", "Redirect is not allowed for a preflight request.", True
    ),
    "InvalidAllowMethodsPreflightResponse": CorsError(
        "CORSInvalidAllowMethod",
        "Cannot parse Access-Control-Allow-Methods response header field in preflight response.",
    ),
    "InvalidAllowHeadersPreflightResponse": CorsError(
        "CORSInvalidAllowHeader",
        "Cannot parse Access-Control-Allow-Headers response header field in preflight response.",
    ),
    "MethodDisallowedByPreflightResponse": CorsError(
        "CORSMethodNotFound",
        "Method {value} is not allowed by Access-Control-Allow-Methods in preflight response.",
    ),
    "HeaderDisallowedByPreflightResponse": CorsError(
        "CORSMissingAllowHeaderFromPreflight",
        "Request header field {value} is not allowed by Access-Control-Allow-Headers in "
        "preflight response.",
    ),
    # Firefox fails such a redirect as a network error (NS_ERROR_DOM_BAD_URI) and logs
    # CORSDidNotSucceed (seen in Firefox 153 ESR).
    "RedirectContainsCredentials": CorsError(
        "CORSDidNotSucceed",
        "Redirect location '{value}' contains a username and password, which is disallowed for "
        "cross-origin requests.",
    ),
    "InvalidResponse": CorsError("CORSDidNotSucceed", "The response is invalid."),
}

_PREFLIGHT_PREFIX = "Response to preflight request doesn't pass access control check: "


def console_message(reason: str, url: str, origin: str, value: str | None) -> str:
    """The line Chromium prints in the console for a request it blocked."""
    error = CORS_ERRORS[reason]
    text = error.console.format(value=value or "")
    prefix = _PREFLIGHT_PREFIX if error.preflight_prefix else ""
    return (
        f"Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS policy: "
        f"{prefix}{text}"
    )


# Firefox's console line per reason (MDN's name: the security.properties key without its
# trailing digit). {url}: the request's URL (a redirect's hop), {value}: the failed value,
# {status}: the response status, "(null)" when the channel failed.
_FIREFOX_AT = (
    "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote "
    "resource at {url}. (Reason: "
)
_FIREFOX_TEXT: dict[str, str] = {
    "CORSDisabled": _FIREFOX_AT + "CORS disabled).",
    "CORSDidNotSucceed": _FIREFOX_AT + "CORS request did not succeed). Status code: {status}.",
    "CORSOriginHeaderNotAdded": _FIREFOX_AT + "CORS header `Origin` cannot be added).",
    "CORSExternalRedirectNotAllowed": _FIREFOX_AT + "CORS request external redirect not allowed).",
    "CORSRequestNotHttp": _FIREFOX_AT + "CORS request not http).",
    "CORSMissingAllowOrigin": _FIREFOX_AT
    + "CORS header `Access-Control-Allow-Origin` missing). Status code: {status}.",
    "CORSMultipleAllowOriginNotAllowed": _FIREFOX_AT
    + "Multiple CORS header `Access-Control-Allow-Origin` not allowed).",
    "CORSAllowOriginNotMatchingOrigin": _FIREFOX_AT
    + "CORS header `Access-Control-Allow-Origin` does not match `{value}`).",
    "CORSNotSupportingCredentials": _FIREFOX_AT.replace("{url}", "`{url}`")
    + "Credential is not supported if the CORS header `Access-Control-Allow-Origin` is `*`).",
    "CORSMethodNotFound": _FIREFOX_AT
    + "Did not find method in CORS header `Access-Control-Allow-Methods`).",
    "CORSMissingAllowCredentials": _FIREFOX_AT
    + "expected `true` in CORS header `Access-Control-Allow-Credentials`).",
    "CORSPreflightDidNotSucceed": _FIREFOX_AT
    + "CORS preflight response did not succeed). Status code: {status}.",
    "CORSInvalidAllowMethod": _FIREFOX_AT
    + "invalid token `{value}` in CORS header `Access-Control-Allow-Methods`).",
    "CORSInvalidAllowHeader": _FIREFOX_AT
    + "invalid token `{value}` in CORS header `Access-Control-Allow-Headers`).",
    "CORSMissingAllowHeaderFromPreflight": _FIREFOX_AT
    + "header `{value}` is not allowed according to header `Access-Control-Allow-Headers` "
    "from CORS preflight response).",
}

# Firefox quotes with U+2018 and U+2019; the texts above write `these` for them.
FIREFOX_CONSOLE: dict[str, str] = {
    reason: re.sub("`([^`]*)`", "\u2018\\1\u2019", text) for reason, text in _FIREFOX_TEXT.items()
}


def firefox_console_message(reason: str, url: str, value: str | None, status: int | None) -> str:
    """The line Firefox prints in the console for a request it blocked."""
    return FIREFOX_CONSOLE[reason].format(
        url=url, value=value or "", status="(null)" if status is None else status
    )


def _firefox_pattern(text: str) -> re.Pattern[str]:
    pattern = re.escape(text)
    for field, group in (("url", "(?P<url>.*?)"), ("value", ".*?"), ("status", ".*?")):
        pattern = pattern.replace(re.escape("{" + field + "}"), group)
    return re.compile(pattern + "$", re.DOTALL)


_FIREFOX_PATTERNS = [(reason, _firefox_pattern(text)) for reason, text in FIREFOX_CONSOLE.items()]


def firefox_reason_of(message: str) -> tuple[str, str] | None:
    """(reason, URL) of one of Firefox's CORS console lines (FIREFOX_CONSOLE read backwards),
    None for any other message. The URL is the one it names: a redirect's hop."""
    for reason, pattern in _FIREFOX_PATTERNS:
        if found := pattern.match(message):
            return reason, found.group("url").strip("\u2018\u2019")
    return None
