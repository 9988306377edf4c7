"""Renderers: decisions, fixes and replays as terminal text and JSON records."""
