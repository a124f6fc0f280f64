"""What both benchmarks read of the server processes they start: a free loopback port, the
tail of a log file, and memory figures from /proc."""

from __future__ import annotations

import socket
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def log_tail(path: Path, lines: int) -> str:
    """The last `lines` lines of the log at `path`; empty when it cannot be read."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def status_mib(pid: int, field_name: str) -> float:
    """A memory figure of `/proc/<pid>/status` (VmRSS, VmHWM…) in MiB; 0 once the process
    has ended (an ended process holds no memory, and a reaped one has no status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1]) / 1024
    return 0.0
