"""Screens pushed over the requests table."""
