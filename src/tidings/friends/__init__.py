"""Friends: requests between users and the friendships they create."""
