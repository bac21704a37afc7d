"""Conversations (direct and group), their members and messages."""
