"""`make demo`: a fresh demo database, then the incident as the console shows it."""

from __future__ import annotations

from pathlib import Path

from warroom.cli import main

DEMO_DB = Path(".demo/demo.db")


def run() -> None:
    main(["--db", str(DEMO_DB), "--as", "you", "demo"])


if __name__ == "__main__":
    run()
