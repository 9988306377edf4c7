"""The decision engine: plain request/response data in, the browser's CORS decision out.

Pure: it imports nothing of mitmproxy, Textual or Rich (tests/unit/test_import_hygiene.py).
"""

from .analyzer import Analyzer, analyze
from .classify import Classification, classify
from .decision import Decision, Step
from .exchange import Exchange, Headers, Request, Response

__all__ = [
    "Analyzer",
    "Classification",
    "Decision",
    "Exchange",
    "Headers",
    "Request",
    "Response",
    "Step",
    "analyze",
    "classify",
]
