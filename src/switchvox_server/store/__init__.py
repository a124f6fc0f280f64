"""Persistence: models, queries and bulk writes. Knows nothing of HTTP or XML."""
