"""API tokens: how scripts, bots and the command line sign in (``Authorization: Bearer``)."""
