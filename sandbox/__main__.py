"""``python -m sandbox [--host 127.0.0.1] [--port 8090]``: serve until SIGTERM or SIGINT.

``python -m sandbox keygen --key PATH --cert PATH [--force]`` writes a key pair and exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from werkzeug.serving import make_server

from sandbox import keygen
from sandbox.app import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8090

logger = logging.getLogger("sandbox")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    default_port = int(os.environ.get("SANDBOX_PORT") or DEFAULT_PORT)
    parser.add_argument("--port", type=int, default=default_port)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["keygen"]:
        raise SystemExit(keygen.main(arguments[1:]))
    serve(arguments)


def serve(argv: Sequence[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parse_args(argv)
    server = make_server(args.host, args.port, create_app(), threaded=True)
    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("Daraja sandbox stopping (signal %s)", signal.Signals(signum).name)
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    serving = threading.Thread(target=server.serve_forever, name="sandbox-server", daemon=True)
    serving.start()
    logger.info("Daraja sandbox listening on http://%s:%d", args.host, server.server_port)
    stop_requested.wait()
    server.shutdown()
    serving.join()


if __name__ == "__main__":
    main()
