"""cors-inspector: see why the browser blocked a cross-origin request, and how to fix it."""

__version__ = "0.1.0"
