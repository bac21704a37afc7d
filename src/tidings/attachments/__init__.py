"""Files sent with messages: upload, storage (a local directory or PostgreSQL), serving."""
