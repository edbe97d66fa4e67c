"""Console users: who may sign in, with argon2-hashed passwords."""
