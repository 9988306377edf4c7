"""Chromium's CorsError names (as DevTools and CDP show them), Firefox's counterparts, and the
console text Chromium prints for each (third_party/blink/.../cors_error_string.cc).
"""

from __future__ import annotations

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
    # Firefox fails such a redirect silently (NS_ERROR_DOM_BAD_URI), with no reason of its own.
    "RedirectContainsCredentials": CorsError(
        None,
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
