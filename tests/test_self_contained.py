"""The repository stands alone: no tracked file reads or names anything beside the checkout.

A clone made anywhere, with nothing beside it, passes ``make test``: ``.ci/run`` proves it by
testing such a clone. This test keeps the text honest too, so that no doc or test points a
newcomer at a design folder or a machine path they do not have.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The folder beside the checkout that the project was written from. Spelt in pieces, so that
# this file, which must name it, does not itself read as a reference to it.
BESIDE = "sha" + "red"
# A path out of the checkout into that folder, its design documents, or this machine's layout.
OUTSIDE = re.compile(rf"\.\./{BESIDE}|\b{BESIDE}/(design|reference|seed)\b|\b(design|reference)/"
                     r"(API|ARCHITECTURE|STYLE|daraja|libraries|payments-anchors)\.md|/work/")
BINARY = (".png", ".jpg", ".ico", ".woff", ".woff2", ".gz", ".pem", ".der")


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    return [ROOT / name for name in listed if name and not name.endswith(BINARY)
            and (ROOT / name).is_file()]


def outside_references(path: Path) -> list[str]:
    text = path.read_text(errors="replace")
    return [f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}"
            for number, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]


def test_no_tracked_file_names_a_path_outside_the_checkout() -> None:
    files = tracked_text_files()
    assert len(files) > 100, "git ls-files listed too little: is this a checkout?"
    found = [hit for path in files if path != Path(__file__).resolve()
             for hit in outside_references(path)]
    assert found == [], "\n".join(found)


def test_the_pattern_catches_each_kind_of_outside_reference() -> None:
    for line in (f"see ../{BESIDE}/reference/daraja.md", f"copied from {BESIDE}/design/",
                 "the design/API.md", "reference/daraja.md says", "/work/main/.venv"):
        assert OUTSIDE.search(line), line
    for line in ("tests/fixtures/daraja/README.md", "docs/API.md", "a shared secret"):
        assert not OUTSIDE.search(line), line
