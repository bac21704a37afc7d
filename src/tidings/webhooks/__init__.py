"""Outgoing webhooks: a bot's events POSTed, signed, to a URL, retried from the event log."""
