"""Bot accounts: users owned by a person, signed in with tokens, marked as bots everywhere."""
