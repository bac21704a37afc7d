"""Message search: full text, in the conversations you belong to."""
