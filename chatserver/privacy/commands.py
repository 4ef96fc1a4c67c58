"""``chatserver privacy find|export|erase`` (data-subject requests), ``audit verify|export``
(the audit trail) and ``files rekey`` (attachments under a new key) from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from ..cliutil import settings_of, with_store
from ..exceptions import ClientError
from ..files import file_store
from ..store import Store
from ..store.privacy import Subject
from .desk import PrivacyDesk
from .retention import Retention, policy_of
from .subjects import check_subject
from .trail import as_json_line, entries, verify

__all__ = ["add_commands"]

T = TypeVar("T")


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


def _desk_work(args: argparse.Namespace, act: Callable[[PrivacyDesk, Subject], Awaitable[T]]) -> T:
    settings = settings_of(args)
    subject = check_subject(args.member_id, args.username, args.email)
    files = file_store(settings)

    async def work(store: Store) -> T:
        return await act(PrivacyDesk(store, files, clock=time.time), subject)

    return with_store(settings, work)


def privacy_find(args: argparse.Namespace) -> int:
    found = _desk_work(args, lambda desk, s: desk.find(s, actor="cli"))
    print(json.dumps(found.summary(), indent=2, default=str))
    return 0


def privacy_export(args: argparse.Namespace) -> int:
    found, data = _desk_work(args, lambda desk, s: desk.export(s, actor="cli"))
    Path(args.out).write_bytes(data)
    print(f"wrote {args.out}: {len(found.requests)} request(s), {len(data)} bytes")
    return 0


def privacy_erase(args: argparse.Namespace) -> int:
    if not args.reason.strip():
        raise ClientError("field_required", "--reason is required")
    found, erased = _desk_work(args, lambda desk, s: desk.erase(s, args.reason, actor="cli"))
    print(f"erased {len(found.requests)} request(s): {json.dumps(erased.counts())}")
    return 0


def purge(args: argparse.Namespace) -> int:
    """One retention purge now (``--dry-run``: only count what it would remove)."""
    settings = settings_of(args)
    files = file_store(settings)

    async def work(store: Store) -> dict[str, int]:
        retention = Retention(store, files, policy_of(settings), clock=time.time)
        return await retention.run_once(dry_run=args.dry_run)

    counts = with_store(settings, work)
    verb = "would remove" if args.dry_run else "removed"
    for kind, n in counts.items():
        print(f"{kind}: {verb} {n}")
    return 0


def _subject_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--member-id")
    p.add_argument("--username")
    p.add_argument("--email")


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    privacy = sub.add_parser("privacy", help="data-subject requests").add_subparsers(
        dest="action", required=True
    )
    p = privacy.add_parser("find", parents=[common], help="what is kept about a person")
    _subject_args(p)
    p.set_defaults(func=privacy_find)
    p = privacy.add_parser("export", parents=[common], help="a person's data as one ZIP")
    _subject_args(p)
    p.add_argument("--out", required=True, help="the ZIP file to write")
    p.set_defaults(func=privacy_export)
    p = privacy.add_parser("erase", parents=[common], help="erase a person's data")
    _subject_args(p)
    p.add_argument("--reason", required=True, help="why (recorded in the audit trail)")
    p.set_defaults(func=privacy_erase)

    p = sub.add_parser("purge", parents=[common], help="remove what retention says is old")
    p.add_argument("--dry-run", action="store_true", help="only count what would go")
    p.set_defaults(func=purge)
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
