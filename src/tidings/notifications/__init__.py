"""Notifications: what the bell shows."""
