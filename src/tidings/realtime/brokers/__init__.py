"""Broker backends for the hub, one module each, imported only when chosen."""
