"""Import history: every upload that writes is recorded, can be shown, annotated and undone
(docs/history.md)."""
