"""Presence: who is online, away or offline, from open streams and recent activity."""
