"""While any one request's envelope is parsed, a real uvicorn server keeps answering
/healthz within 0.5 s: parsing runs beside the event loop, and no hostile envelope makes it
costly enough to starve the loop of the interpreter."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

import httpx2
import pytest

from switchvox_server import app as app_module
from switchvox_server.http.endpoints import JSON, XML
from switchvox_server.http.multipart import MAX_REQUEST_PART_BYTES
from switchvox_server.protocol.request import ParameterValue
from switchvox_server.settings import Settings
from switchvox_server.testing import serve_app
from tests.conftest import ADMIN_PASSWORD
from tests.test_envelope_bounds import SHAPES

HEALTHZ_BUDGET_SECONDS = 0.5
AUTH = ("admin", ADMIN_PASSWORD)


def slowest_healthz_while(
    url: str, request: Callable[[], object], started: threading.Event
) -> float:
    """Run `request` in a thread; once `started` is set, poll /healthz until the request is
    done. The slowest /healthz answer, in seconds."""
    finished = threading.Event()
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(request())
        finally:
            finished.set()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    assert started.wait(timeout=30), "the request never started"
    slowest = 0.0
    polls = 0
    with httpx2.Client(timeout=30) as http:
        deadline = time.monotonic() + 60
        while (not finished.is_set() or polls == 0) and time.monotonic() < deadline:
            began = time.monotonic()
            assert http.get(f"{url}/healthz").status_code == 200
            slowest = max(slowest, time.monotonic() - began)
            polls += 1
            time.sleep(0.02)
    worker.join(timeout=60)
    assert outcome, "the request did not complete"
    return slowest


def within_budget(measure: Callable[[], float]) -> float:
    """The slowest /healthz answer of `measure`, measured once more if it passed the budget:
    on a loaded machine one answer can be late for reasons of its own, while an event loop
    held up by parsing is late every time."""
    slowest = measure()
    if slowest >= HEALTHZ_BUDGET_SECONDS:
        slowest = min(slowest, measure())
    return slowest


@pytest.mark.parametrize(
    ("envelope", "path", "body"),
    [
        ("XML", "/xml", b'<request method="switchvox.extensions.search"/>'),
        ("JSON", "/json", b'{"request": {"method": "switchvox.extensions.search"}}'),
    ],
)
@pytest.mark.slow
def test_healthz_answers_while_a_slow_parse_runs(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, envelope: str, path: str, body: bytes
) -> None:
    """A parse that holds its thread for 1.5 s does not hold up /healthz: it runs off the
    event loop (on the loop, /healthz would wait for it)."""
    started = threading.Event()

    def slow(
        real: Callable[[bytes], tuple[str, dict[str, ParameterValue]]],
    ) -> Callable[[bytes], tuple[str, dict[str, ParameterValue]]]:
        def parse(body: bytes) -> tuple[str, dict[str, ParameterValue]]:
            started.set()
            time.sleep(1.5)  # blocks whatever runs it, as CPU-bound parsing would
            return real(body)

        return parse

    wire_format = {"XML": XML, "JSON": JSON}[envelope]
    monkeypatch.setattr(app_module, envelope, replace(wire_format, parse=slow(wire_format.parse)))
    with serve_app(settings) as url:

        def post() -> int:
            response = httpx2.post(f"{url}{path}", content=body, auth=AUTH, timeout=30)
            assert response.status_code == 200
            return response.status_code

        def measure() -> float:
            started.clear()
            return slowest_healthz_while(url, post, started)

        slowest = within_budget(measure)
    assert slowest < HEALTHZ_BUDGET_SECONDS, slowest


@pytest.mark.slow
def test_healthz_answers_while_hostile_envelopes_are_parsed(settings: Settings) -> None:
    """For every hostile envelope shape at the 1 MiB limit, /healthz answers within 0.5 s
    while the server parses it, and the envelope gets a fault or a result, never a 500."""
    slowest: dict[str, float] = {}
    with serve_app(settings) as url:
        for shape, make in SHAPES.items():
            body = make(MAX_REQUEST_PART_BYTES - 64)
            path = "/json" if body.startswith(b"{") else "/xml"

            def measure(body: bytes = body, path: str = path) -> float:
                sent = threading.Event()

                def post() -> int:
                    sent.set()
                    response = httpx2.post(f"{url}{path}", content=body, auth=AUTH, timeout=60)
                    assert response.status_code == 200, response.text[:200]
                    return response.status_code

                return slowest_healthz_while(url, post, sent)

            slowest[shape] = within_budget(measure)
    late = {
        shape: seconds for shape, seconds in slowest.items() if seconds >= HEALTHZ_BUDGET_SECONDS
    }
    assert not late, late
