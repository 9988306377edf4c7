"""Fetch's safelists: which methods and request headers make a request need a preflight."""

import pytest

from cors_inspector.engine.safelists import (
    is_safelisted_request_header,
    mime_essence,
    unsafe_request_header_names,
)


@pytest.mark.parametrize(
    ("name", "value", "safe"),
    [
        ("accept", "application/json", True),
        ("accept", "text/html(x)", False),  # CORS-unsafe request-header byte "("
        ("accept", "a" * 129, False),  # longer than 128 bytes
        ("accept", "a" * 128, True),
        ("accept-language", "en-US,en;q=0.9", True),
        ("accept-language", "en_US", False),  # "_" is not in the allowed set
        ("content-language", "de", True),
        ("content-type", "text/plain", True),
        ("content-type", "text/plain;charset=UTF-8", True),
        ("content-type", "Application/X-WWW-Form-Urlencoded", True),
        ("content-type", "multipart/form-data; boundary=x", True),
        ("content-type", "application/json", False),
        ("content-type", "text /plain", False),
        ("content-type", "text/plain,x/x", False),
        ("content-type", "text/plain\x0b", False),
        ("range", "bytes=0-", True),
        ("range", "bytes=0-499", True),
        ("range", "bytes=-5", False),  # suffix range
        ("range", "bytes=5-1", False),  # start after end
        ("range", "bytes=0-1,3-4", False),  # a list
        ("x-custom", "1", False),
        ("authorization", "Bearer x", False),
    ],
)
def test_cors_safelisted_request_header(name, value, safe):
    """Fetch "CORS-safelisted request-header": value rules per name, 128-byte limit."""
    assert is_safelisted_request_header(name, value) is safe


def test_unsafe_names_are_sorted_lowercase_and_skip_forbidden():
    """Fetch "CORS-unsafe request-header names": sorted, lower-case; forbidden names skipped."""
    names = unsafe_request_header_names(
        [
            ("X-B", "1"),
            ("Authorization", "t"),
            ("Cookie", "a=b"),
            ("Sec-Foo", "1"),
            ("Accept", "*/*"),
            ("X-b", "2"),
        ]
    )
    assert names == ["authorization", "x-b"]


def test_safelisted_values_past_1024_bytes_all_become_unsafe():
    """Fetch "CORS-unsafe request-header names", step 3: total safelisted bytes > 1024."""
    headers = [("Accept", "a" * 100)] + [("Accept-Language", "b" * 128)] * 8
    assert unsafe_request_header_names(headers) == ["accept", "accept-language"]


def test_mime_essence_is_strict():
    """Fetch "parse a MIME type": type and subtype must be tokens."""
    assert mime_essence(" Text/Plain ; charset=x") == "text/plain"
    assert mime_essence("text") is None
