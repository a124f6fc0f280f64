"""Transport: HTTP endpoints, request intake and authentication."""
