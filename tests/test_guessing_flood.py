"""100 connections guessing passwords for 10 s against `switchvox-server serve`: a legitimate
admin still gets in within 1 s each time, and the server's memory stays within 150 MiB."""

from __future__ import annotations

import asyncio
import base64
import collections
import time
from pathlib import Path

import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.servers import SERVE, server_process

ATTACKERS = 100
FLOOD_SECONDS = 10.0
ADMIN_EVERY = 0.5
ENVELOPE = b'<request method="switchvox.extensions.getInfo"><parameters/></request>'
MIB = 1024 * 1024


def basic(name: str, password: str) -> str:
    """A Basic `Authorization` header for `name` and `password`."""
    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()


def request(authorization: str, forwarded_for: str | None) -> bytes:
    """A raw HTTP request of the envelope with `authorization`, from `forwarded_for`."""
    forwarded = f"X-Forwarded-For: {forwarded_for}\r\n" if forwarded_for else ""
    return (
        f"POST /xml HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {authorization}\r\n"
        f"{forwarded}Content-Type: text/xml\r\nContent-Length: {len(ENVELOPE)}\r\n\r\n"
    ).encode() + ENVELOPE


async def answer_status(reader: asyncio.StreamReader) -> int:
    """Read one response; its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        (
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length:")
        ),
        0,
    )
    await reader.readexactly(length)
    return int(lines[0].split()[1])


async def guess(
    number: int, cycling: bool, address: tuple[str, int], answers: collections.Counter[int]
) -> None:
    """One attacker: wrong passwords, one after another on one kept-alive connection. Steady:
    for the admin, an extension number or nobody, with an address of its own claimed through
    the trusted proxy (every tenth comes as the proxy itself). Cycling: a new name and a new
    address for every guess, so that no count ever passes the free failures."""
    name = ("admin", "201", "nobody")[number % 3]
    claimed = f"10.0.{number // 250}.{number % 250 + 1}" if number % 10 else None
    reader, writer = await asyncio.open_connection(*address)
    try:
        for attempt in range(1_000_000):
            if cycling:
                name = f"user{number}x{attempt}"
                claimed = f"10.{number}.{attempt // 250 % 250}.{attempt % 250 + 1}"
            writer.write(request(basic(name, f"guess {number}.{attempt}"), claimed))
            answers[await answer_status(reader)] += 1
    finally:
        writer.close()


async def sign_in_as_admin(address: tuple[str, int]) -> tuple[int, float]:
    """A new connection, the right password, from an address of the admin's own."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(*address)
    try:
        writer.write(request(basic("admin", ADMIN_PASSWORD), "192.0.2.10"))
        status = await answer_status(reader)
    finally:
        writer.close()
    return status, time.perf_counter() - started


def resident_bytes(pid: int) -> int:
    """The resident memory of process `pid`, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def flood(address: tuple[str, int], pid: int, cycling: bool) -> dict[str, object]:
    """Guess passwords from many attackers for a while, signing in as admin now and then; what
    was seen."""
    answers: collections.Counter[int] = collections.Counter()
    before = resident_bytes(pid)
    peak = before
    attackers = [asyncio.create_task(guess(n, cycling, address, answers)) for n in range(ATTACKERS)]
    admin: list[tuple[int, float]] = []
    started = time.monotonic()
    next_admin = started + 1.0  # once the flood is under way
    while time.monotonic() - started < FLOOD_SECONDS:
        if time.monotonic() >= next_admin:
            admin.append(await asyncio.wait_for(sign_in_as_admin(address), 10))
            next_admin += ADMIN_EVERY
        peak = max(peak, resident_bytes(pid))
        await asyncio.sleep(0.05)
    for task in attackers:
        task.cancel()
    failed = [
        result
        for result in await asyncio.gather(*attackers, return_exceptions=True)
        if not isinstance(result, asyncio.CancelledError)
    ]
    return {"answers": answers, "admin": admin, "growth": peak - before, "failed": failed}


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads memory from /proc")
@pytest.mark.parametrize("cycling", [False, True], ids=["steady", "cycling"])
def test_a_guessing_flood_leaves_the_admin_served_and_memory_bounded(
    database_url: str, cycling: bool
) -> None:
    """Under 100 guessing connections for 10 s (through a trusted proxy, with addresses of
    their own, steady or new for every guess), every admin sign-in from another address
    answers 200 within 1 s, and the server's resident memory grows by less than 150 MiB."""
    environment = {"SWITCHVOX_TRUSTED_PROXIES": "127.0.0.1"}
    with server_process(database_url, env=environment, command=SERVE) as server:
        host, _, port = server.url.removeprefix("http://").partition(":")
        result = asyncio.run(flood((host, int(port)), server.pid, cycling))
    admin = result["admin"]
    assert isinstance(admin, list)
    growth = result["growth"]
    assert isinstance(growth, int)
    answers = result["answers"]
    assert isinstance(answers, collections.Counter)
    print(
        f"\nattackers' answers {dict(answers)}, admin sign-ins {len(admin)},"
        f" slowest {max(seconds for _, seconds in admin):.3f} s,"
        f" memory growth {growth / MIB:.1f} MiB"
    )
    assert result["failed"] == []
    assert len(admin) >= 15
    assert all(status == 200 for status, _ in admin), admin
    assert max(seconds for _, seconds in admin) < 1.0, admin
    assert growth < 150 * MIB
