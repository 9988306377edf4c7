"""What a capture may make a reader do, and the checks on what a reader hands the engine.

Captures come from anywhere (a colleague's HAR, a file cut short, a fuzzer), so every reader
bounds its work by these limits before allocating, and gives the engine only well-typed
values: a value that fails a check makes the record malformed, never a later traceback.
"""

from __future__ import annotations

# One tnetstring record (a flow) or one HAR entry, as held in memory while it is decoded.
# Larger ones are almost always damage (a length prefix read from the middle of a body);
# a genuine flow this large holds a body bigger than any CORS question needs.
MAX_RECORD_BYTES = 32 << 20
# The same for JSON text, in characters: Python holds a str at 4 bytes a character as soon as
# it has one emoji, and the buffer is briefly held twice as it grows. 12M characters keep the
# worst case (measured: 23 MB of emoji text) near 150 MB of RSS.
MAX_RECORD_CHARS = 12 << 20
# Values (containers, strings, numbers) in one record or entry: a real flow has a few
# hundred; the cap keeps a record of tiny values (`0:]` repeated: 64 bytes of objects for
# 3 bytes of input) from ballooning into gigabytes of Python objects.
MAX_VALUES = 1_000_000
# Nesting of containers in one record: a flow nests 4 deep, a HAR entry 5.
MAX_DEPTH = 100

# Epoch seconds a capture may claim: 0 (mitmproxy's "unknown") to the year 3000.
LATEST_TIME = 32_503_680_000.0


def is_time(value: object) -> bool:
    """Whether `value` is an epoch time the engine can use: a finite number in range."""
    # `type() in` rather than isinstance: a bool is no time. NaN fails every comparison.
    return type(value) in (float, int) and 0 <= value < LATEST_TIME  # type: ignore[operator]


def timestamp(value: object, field: str) -> float:
    """`value` as epoch seconds; ValueError naming `field` if it is not one."""
    if not is_time(value):
        raise ValueError(f"{field} is not a time ({type(value).__name__})")
    return float(value)  # type: ignore[arg-type]


def is_status(value: object) -> bool:
    """Whether `value` is an HTTP status code the engine can judge."""
    return type(value) is int and 100 <= value <= 999
