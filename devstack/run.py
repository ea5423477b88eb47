"""`make run`: every process on embedded services, with the defaults API.md promises."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

from devstack import services

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = {"API_PORT": "5000", "SANDBOX_PORT": "8090", "FLOWER_PORT": "5555",
            "EMBEDDED_REDIS_PORT": "6390", "EMBEDDED_MONGO_PORT": "27027"}
# What the operator's CLI needs to find this stack (adapters/settings.py reads them back in
# development when the environment does not set them), and the ports, for people.
ANNOUNCED = ("MONGO_URL", "MONGO_DB", "REDIS_URL", "MPESA_BASE_URL", "PUBLIC_BASE_URL",
             "API_PORT", "SANDBOX_PORT", "FLOWER_PORT", "METRICS_PORT")


def _secrets(data: Path) -> dict[str, str]:
    """Generated once into .data/ (never the repo), reused on every later run."""
    path = data / "secrets.env"
    if not path.exists():
        path.write_text(
            f"MPESA_CALLBACK_TOKEN={secrets.token_urlsafe(24)}\n"
            f"JWT_SECRET_KEY={secrets.token_urlsafe(48)}\n"
            f"FLOWER_BASIC_AUTH=ops:{secrets.token_urlsafe(12)}\n")
        path.chmod(0o600)
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}


def environment(data: Path) -> tuple[dict[str, str], set[str]]:
    env = {**DEFAULTS, **{k: v for k, v in os.environ.items() if k in DEFAULTS}}
    if os.environ.get("METRICS_PORT"):
        env["METRICS_PORT"] = os.environ["METRICS_PORT"]
    skip: set[str] = set()
    for name, process in (("REDIS_URL", "redis"), ("MONGO_URL", "mongo")):
        if os.environ.get(name):
            skip.add(process)
    env.setdefault("REDIS_URL", os.environ.get("REDIS_URL")
                   or f"redis://127.0.0.1:{env['EMBEDDED_REDIS_PORT']}/0")
    env.setdefault("MONGO_URL", os.environ.get("MONGO_URL")
                   or f"mongodb://127.0.0.1:{env['EMBEDDED_MONGO_PORT']}")
    env["MPESA_BASE_URL"] = os.environ.get("MPESA_BASE_URL") or f"http://127.0.0.1:{env['SANDBOX_PORT']}"
    env["PUBLIC_BASE_URL"] = os.environ.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{env['API_PORT']}"
    for key, value in _secrets(data).items():
        env[key] = os.environ.get(key) or value
    if not os.environ.get("MPESA_BASE_URL"):  # the sandbox plays M-Pesa: use its certificate
        env.update(services.sandbox_keys(data))
    env["DATA_DIR"] = str(data)
    return env, skip


def write_stack_env(data: Path, env: dict[str, str]) -> Path:
    """``.data/stack.env``: the addresses this run chose (no secrets: those are in secrets.env)."""
    path = data / "stack.env"
    merged = {**os.environ, **env}
    path.write_text("".join(f"{name}={merged[name]}\n" for name in ANNOUNCED
                            if merged.get(name)))
    return path


def procfile(data: Path, skip: set[str]) -> Path:
    lines = [line for line in (ROOT / "Procfile.dev").read_text().splitlines()
             if line.strip() and not line.startswith("#") and line.split(":", 1)[0] not in skip]
    path = data / "Procfile.run"
    path.write_text("\n".join(lines) + "\n")
    return path


def _announce(env: dict[str, str]) -> None:
    api = f"http://127.0.0.1:{env['API_PORT']}"
    try:
        services.wait_for_http(f"{api}/api/health", timeout=120)
        services.wait_for_http(f"http://127.0.0.1:{env['SANDBOX_PORT']}/sandbox/health", 60)
    except TimeoutError as error:
        print(f"\n!! {error}; see the log lines above", flush=True)
        return
    user, password = env["FLOWER_BASIC_AUTH"].split(":", 1)
    print("\n".join([
        "", "=" * 64, "Escrow backend is up:",
        f"  API + Socket.IO  {api}   (docs: {api}/api/docs)",
        f"  Demo page        {api}/demo   (a deal as buyer, seller and admin, live)",
        f"  Daraja sandbox   http://127.0.0.1:{env['SANDBOX_PORT']}",
        f"  Flower           http://127.0.0.1:{env['FLOWER_PORT']}   (user {user}, "
        f"password in .data/secrets.env)",
        f"  Redis            {env['REDIS_URL']}",
        f"  MongoDB          {env['MONGO_URL']}",
        *([f"  Metrics          http://127.0.0.1:{env['METRICS_PORT']}/metrics"]
          if env.get("METRICS_PORT") else []),
        "Operator commands: .venv/bin/flask --app wsgi --help (they find this stack through "
        ".data/stack.env).",
        "Ctrl-C stops everything.", "=" * 64, "",
    ]), flush=True)
    del password


def run(data: Path) -> int:
    env, skip = environment(data)
    (data / "mongo").mkdir(exist_ok=True)
    path = procfile(data, skip)
    honcho = [str(Path(sys.executable).parent / "honcho"), "-f", str(path), "-d", str(ROOT),
              "start"]
    process = subprocess.Popen(honcho, env={**os.environ, **env})
    stack_env = write_stack_env(data, env)
    threading.Thread(target=_announce, args=(env,), daemon=True).start()
    signal.signal(signal.SIGINT, lambda *_: process.send_signal(signal.SIGINT))
    signal.signal(signal.SIGTERM, lambda *_: process.send_signal(signal.SIGTERM))
    try:
        return process.wait()
    finally:  # stopped: the CLI must not go looking for it at these addresses
        stack_env.unlink(missing_ok=True)
