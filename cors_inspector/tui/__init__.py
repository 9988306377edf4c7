"""The terminal UI (Textual): live through the proxy, or over saved captures."""
