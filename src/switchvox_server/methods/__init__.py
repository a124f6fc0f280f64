"""API methods: one module per method family, each with its `METHODS` table, and the
registry built from them (catalogue.py)."""
