"""mitmproxy adapters: the addon, the decision log, the redacting saver, the proxy."""
