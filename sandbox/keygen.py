"""``python -m sandbox keygen --key PATH --cert PATH [--force]``: make the sandbox's key pair.

Writes a new 2048-bit RSA private key (PEM, PKCS#8, unencrypted, mode 0600) and a self-signed
certificate for it (PEM, CN "M-Pesa sandbox", valid ten years). Point ``SANDBOX_KEY_PATH`` and
``SANDBOX_CERT_PATH`` at them; give the certificate to the client that builds SecurityCredentials.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sandbox.security import generate_key_pair, write_key_pair


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox keygen", description=__doc__)
    parser.add_argument("--key", required=True, type=Path, help="private key file to write")
    parser.add_argument("--cert", required=True, type=Path, help="certificate file to write")
    parser.add_argument("--force", action="store_true", help="replace files that exist")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Exit status: 0 when both files were written, 1 when nothing (or not all) was."""
    args = parse_args(argv)
    try:
        write_key_pair(generate_key_pair(), args.key, args.cert, force=args.force)
    except FileExistsError as exc:
        print(f"keygen: {exc} (pass --force to replace)", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"keygen: {exc}", file=sys.stderr)
        return 1
    print(f"keygen: wrote {args.key} (private key, mode 0600) and {args.cert} (certificate)")
    return 0
