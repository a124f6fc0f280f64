"""Output collected as text and handed out as UTF-8 chunks, for streamed responses."""

from __future__ import annotations

# Chunks of about this size keep a large report streaming without a send per element.
CHUNK_SIZE = 64 * 1024


class ChunkBuffer:
    """Collects str pieces; `take()` empties it as one UTF-8 chunk once `size` is large."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def write(self, piece: str) -> None:
        self.parts.append(piece)
        self.size += len(piece)

    @property
    def full(self) -> bool:
        return self.size >= CHUNK_SIZE

    def take(self) -> bytes:
        # "replace" turns lone surrogates (possible in JSON-decoded input) into "?".
        chunk = "".join(self.parts).encode("utf-8", "replace")
        self.parts.clear()
        self.size = 0
        return chunk
