"""Account commands of the ``fieldlog`` CLI: user add, enrol, units."""

from __future__ import annotations

import argparse

from server.settings import Settings


def add_parsers(sub: argparse._SubParsersAction) -> None:
    pass


def run(settings: Settings, args: argparse.Namespace) -> int:
    raise SystemExit(f"unknown command {args.command}")
