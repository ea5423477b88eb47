"""``python -m devstack redis|mongo|wait|run``: the pieces `make run` is made of."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from devstack import services

DEFAULT_PORTS = {"redis": 6379, "mongo": 27017}


def main(argv: list[str]) -> int:
    if argv[:1] == ["wait"]:  # argparse would swallow the "--" that ends the targets
        return _wait_then_exec(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("redis", help="run the embedded Redis in the foreground")
    sub.add_parser("mongo", help="run the embedded Mongo-wire server in the foreground")
    wait = sub.add_parser("wait", help="wait for ports/URLs, then exec the rest of the line")
    wait.add_argument("targets", nargs="+", help="redis, mongo or http://URL, then -- COMMAND…")
    sub.add_parser("run", help="start everything (what `make run` does)")
    args = parser.parse_args(argv)
    data = Path(os.environ.get("DATA_DIR", ".data")).resolve()
    data.mkdir(parents=True, exist_ok=True)
    if args.command == "redis":
        command = services.redis_command(int(os.environ["EMBEDDED_REDIS_PORT"]), data)
        os.execv(command[0], command)
    if args.command == "mongo":
        (data / "mongo").mkdir(exist_ok=True)
        command = services.mongo_command(int(os.environ["EMBEDDED_MONGO_PORT"]), data)
        print(f"nx-27017 logs every command: see {data / 'nx-27017.log'}", flush=True)
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        os.execv(command[0], command)
    from devstack.run import run

    return run(data)


def _wait_then_exec(words: list[str]) -> int:
    split = words.index("--")
    for target in words[:split]:
        if target.startswith("http"):
            services.wait_for_http(target, timeout=60)
        else:  # "redis" or "mongo": wherever REDIS_URL / MONGO_URL point
            url = urlsplit(os.environ[f"{target.upper()}_URL"].split(",")[0])
            services.wait_for_port(url.port or DEFAULT_PORTS[target], 60, url.hostname or "")
    command = words[split + 1:]
    os.execvp(command[0], command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
