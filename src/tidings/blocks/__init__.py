"""Blocking: who blocked whom, and the rules it puts on messages, requests, groups and search."""
