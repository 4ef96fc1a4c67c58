"""``chatserver audit ...`` (checking and exporting the audit trail) and ``chatserver files
rekey`` (attachments under a new key) from the command line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cliutil import settings_of, with_store
from ..files import file_store
from ..store import Store
from .trail import as_json_line, entries, verify

__all__ = ["add_commands"]


def audit_verify(args: argparse.Namespace) -> int:
    checked, breaks = with_store(settings_of(args), verify)
    for b in breaks:
        print(f"entry {b.seq}: {b.reason}")
    if breaks:
        print(f"audit trail BROKEN: {len(breaks)} break(s) in {checked} entries", file=sys.stderr)
        return 2
    print(f"audit trail intact: {checked} entries")
    return 0


def audit_export(args: argparse.Namespace) -> int:
    """Every kept entry as JSON lines, oldest first (to a file or stdout)."""

    async def work(store: Store) -> int:
        out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
        n = 0
        try:
            async for e in entries(store):
                out.write(as_json_line(e) + "\n")
                n += 1
        finally:
            if out is not sys.stdout:
                out.close()
        return n

    n = with_store(settings_of(args), work)
    print(f"exported {n} entries", file=sys.stderr)
    return 0


def files_rekey(args: argparse.Namespace) -> int:
    """Encrypt every attachment again under the current ``files_key``."""
    done, kept = file_store(settings_of(args)).rekey()
    print(f"re-encrypted {done} files; {kept} were already under the current key")
    return 0


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    files = sub.add_parser("files", help="attachments at rest").add_subparsers(
        dest="action", required=True
    )
    p = files.add_parser(
        "rekey", parents=[common], help="encrypt every file again under the current files_key"
    )
    p.set_defaults(func=files_rekey)

    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(
        dest="action", required=True
    )
    p = audit.add_parser("verify", parents=[common], help="check the trail's hash chain")
    p.set_defaults(func=audit_verify)
    p = audit.add_parser("export", parents=[common], help="every entry as JSON lines")
    p.add_argument("--out", help="file to write (default: standard output)")
    p.set_defaults(func=audit_export)
