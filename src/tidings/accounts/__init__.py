"""Accounts: users, passwords, sessions, sign-in."""
