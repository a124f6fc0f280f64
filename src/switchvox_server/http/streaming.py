"""A streaming response that releases what the answer was read from once it is over."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class ClosingStreamingResponse(StreamingResponse):
    """Streams `content`, then runs `on_close` however the response ends: sent in full, the
    client gone, or the rendering failed half-way.

    Starlette's background task runs only after a response that was sent without error, so
    a report's spool files would otherwise stay open until the objects are collected.
    """

    def __init__(
        self,
        content: Iterator[bytes],
        *,
        media_type: str,
        on_close: Callable[[], object],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(content, media_type=media_type, headers=headers)
        self._content = content
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # The renderer is no longer running in a worker thread by now: cancelling the
            # stream waits for the thread to hand back the chunk it was producing.
            close = getattr(self._content, "close", None)
            if close is not None:
                close()
            self._on_close()
