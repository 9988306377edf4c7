"""Browser launchers: a throwaway profile routed through the proxy."""
