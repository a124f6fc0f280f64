"""CPU seconds of one bulk upload creating N extensions, in this process: the whole request
(multipart, envelope, pipeline, SQLite writes, report) through the ASGI app, with the import
history on and no helper process.

Prints figures; asserts nothing; opens no socket. Run it with each checkout's own venv, one
after the other and more than once, to compare two versions of the code on a busy machine:
CPU time shifts less than wall time with what else the machine runs.

    .venv/bin/python benchmarks/upload_cpu.py [--rows 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

from switchvox_server.app import create_app
from switchvox_server.settings import Settings

ADMIN_PASSWORD = "benchmark-admin"
ENVELOPE = (
    '<request method="switchvox.extensions.phones.bulk.upload"><parameters>'
    "<extension_type>sip</extension_type><dupe_process>1</dupe_process>"
    "<template_account_id>1</template_account_id></parameters></request>"
)


def csv_of(rows: int) -> bytes:
    """`rows` new extensions from 100000 up, every cell filled."""
    lines = ["ext,fname,lname,email,password,voicemail_password,phone_password"]
    lines += (
        f"{100_000 + n},First{n},Last{n},u{n}@example.com,web-pass-{n},{1000 + n % 9000},"
        f"sip-pass-{n}"
        for n in range(rows)
    )
    return ("\n".join(lines) + "\n").encode()


def one_create(csv: bytes, directory: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one create into a fresh SQLite store."""
    settings = Settings(
        database_url=f"sqlite:///{directory / 'switchvox.db'}",
        admin_password=ADMIN_PASSWORD,
        writer_process=False,
    )
    with TestClient(create_app(settings)) as client:
        client.auth = ("admin", ADMIN_PASSWORD)
        # Signs in once, so the slow hash of the first Basic password is not counted.
        client.post("/xml", content=b'<request method="switchvox.extensions.search"/>')
        cpu, wall = time.process_time(), time.perf_counter()
        response = client.post(
            "/xml",
            data={"request": ENVELOPE},
            files={"csv_file": ("staff.csv", csv, "text/csv")},
        )
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if response.status_code != 200 or b"<created>" not in response.content:
        raise SystemExit(f"the upload failed: {response.content[:300]!r}")
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    csv = csv_of(arguments.rows)
    timings = []
    for _ in range(arguments.rounds):
        with tempfile.TemporaryDirectory(prefix="switchvox-cpu-") as directory:
            timings.append(one_create(csv, Path(directory)))
    cpu = [seconds for seconds, _ in timings]
    wall = [seconds for _, seconds in timings]
    print(f"create {arguments.rows} rows in-process, {arguments.rounds} rounds")
    print(f"  CPU (s):  best {min(cpu):.2f}  median {statistics.median(cpu):.2f}")
    print(f"  wall (s): best {min(wall):.2f}  median {statistics.median(wall):.2f}")


if __name__ == "__main__":
    main()
