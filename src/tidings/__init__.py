"""Tidings: a self-hosted real-time social messaging server."""

__version__ = "0.1.0"
