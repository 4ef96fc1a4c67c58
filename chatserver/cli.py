"""The ``chatserver`` command: serve, migrate, agent add|list, token create."""

from __future__ import annotations

import argparse
import csv
import getpass
import logging
import socket
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from . import __version__
from .app import create_app
from .cliutil import settings_of, with_store
from .config import Settings, load_routing
from .core.identity import Member
from .core.routing import ALL_DEPARTMENTS
from .exceptions import ChatServerError, ClientError, StoreError
from .kb.folder import read_folder, write_folder
from .privacy.audit import AuditEntry, detail_text
from .privacy.commands import add_commands
from .privacy.policy import DEFAULT_SCOPES, SCOPES, check_scopes
from .security import hash_password, new_token, token_hash
from .server import tune_runtime, uvicorn_config
from .store import Store, database_label

__all__ = ["main"]

T = TypeVar("T")
MIN_PASSWORD = 8


_settings = settings_of
_with_store = with_store


# -- serve ---------------------------------------------------------------------


class _Server(uvicorn.Server):
    """uvicorn's server, announcing the real address once it listens (port 0 included)."""

    def __init__(self, config: uvicorn.Config, settings: Settings, app: Any) -> None:
        super().__init__(config)
        self.settings = settings
        self.app = app
        self.fatal = False

    def _cluster(self) -> str:
        node = getattr(self.app.state, "node", None)
        if node is None:
            return ""
        if node.role == "hub":
            role = "runs the hub"
        else:
            role = f"an edge (the hub is {node.hub_id or 'not known yet'})"
        return f"  cluster:       node {node.id}, {role}; reachable at {node.url}\n"

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        base = f"http://{shown}:{port}"
        print(
            f"chatserver {__version__} listening on {base}\n"
            f"  widget demo:   {base}/\n"
            f"  agent console: {base}/console\n"
            f"  health check:  {base}/healthz\n"
            f"  database:      {database_label(self.settings)}\n"
            f"{self._cluster()}"
            "Press Ctrl-C to stop.",
            flush=True,
        )


def serve(settings: Settings) -> int:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    server: _Server

    def on_fatal(exc: StoreError) -> None:
        server.fatal = True
        server.should_exit = True

    app = create_app(settings, on_fatal=on_fatal)
    server = _Server(uvicorn_config(app, settings), settings, app)
    tune_runtime()
    server.run()
    return 1 if server.fatal else 0


# -- agents and tokens ---------------------------------------------------------


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        if not sys.stdin.isatty():
            raise ClientError(
                "password_required",
                "no terminal to ask for the password: pipe it in with --password-stdin, e.g."
                " printf '%s\\n' \"$PASSWORD\" | chatserver agent add NAME --password-stdin",
            )
        try:
            password = getpass.getpass("Password: ")
            repeated = getpass.getpass("Repeat password: ")
        except EOFError:
            raise ClientError("password_required", "no password was given") from None
        if repeated != password:
            raise ClientError("password_mismatch", "the two passwords differ")
    if len(password) < MIN_PASSWORD:
        raise ClientError("weak_password", f"a password needs at least {MIN_PASSWORD} characters")
    return password


def agent_add(args: argparse.Namespace) -> int:
    settings = _settings(args)
    # a bot signs in only with an API token (chatserver token create)
    password = None if args.bot else _read_password(args)
    if args.max_chats < 1:
        raise ClientError("invalid_max_chats", "--max-chats must be at least 1")

    async def work(store: Store) -> str:
        agent = await store.add_agent(
            username=args.username,
            name=args.name or args.username,
            password_hash=hash_password(password) if password is not None else None,
            role=args.role,
            departments=args.department or [ALL_DEPARTMENTS],
            max_chats=args.max_chats,
            now=time.time(),
        )
        if args.kb_editor or args.bot or args.privacy:
            agent = await store.update_agent(
                agent.id, kb_editor=args.kb_editor, bot=args.bot, privacy=args.privacy
            )
        detail = {"role": agent.role, "departments": list(agent.departments)}
        entry = AuditEntry(
            time.time(), "cli", "agent.create", f"agent:{agent.id}", detail_text(detail)
        )
        await store.audit_append([entry])
        extra = (
            (", knowledge-base editor" if agent.kb_editor else "")
            + (", bot" if agent.bot else "")
            + (", privacy officer" if agent.privacy else "")
        )
        return (
            f"added agent {agent.username} (id {agent.id}, {agent.role},"
            f" max {agent.max_chats} chats{extra})"
        )

    print(_with_store(settings, work))
    return 0


def agent_list(args: argparse.Namespace) -> int:
    agents = _with_store(_settings(args), lambda store: store.list_agents())
    rows = [("ID", "USERNAME", "NAME", "ROLE", "DEPARTMENTS", "MAX", "STATE")]
    for a in agents:
        rows.append(
            (
                str(a.id),
                a.username,
                a.name,
                a.role,
                ",".join(a.departments),
                str(a.max_chats),
                "disabled" if a.disabled else "active",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return 0


def token_create(args: argparse.Namespace) -> int:
    token = new_token("cst_")
    try:
        scopes = check_scopes(args.scope or DEFAULT_SCOPES)
    except ValueError as exc:
        raise ClientError("invalid_scope", str(exc)) from None

    async def work(store: Store) -> None:
        agent = await store.agent_by_username(args.username)
        if agent is None:
            raise ClientError("agent_not_found", f"no agent named {args.username!r}")
        if "admin" in scopes and agent.role != "admin":
            raise ClientError("invalid_scope", "only an admin's token may have the admin scope")
        now = time.time()
        token_id = await store.add_token(
            agent.id, token_hash(token), args.label, now,
            scopes=scopes, departments=args.department or (),
        )  # fmt: skip
        detail = {"agent": agent.id, "scopes": list(scopes), "departments": args.department or []}
        entry = AuditEntry(now, "cli", "token.create", f"token:{token_id}", detail_text(detail))
        await store.audit_append([entry])

    _with_store(_settings(args), work)
    print(token)
    print("Keep it secret: it is shown only once.", file=sys.stderr)
    return 0


def members_import(args: argparse.Namespace) -> int:
    """Fill the built-in member directory from a CSV file (see docs/configuration.md)."""
    members = read_members_csv(args.file)

    async def work(store: Store) -> int:
        return await store.upsert_members(members)

    count = _with_store(_settings(args), work)
    print(f"imported {count} member(s)")
    return 0


def read_members_csv(path: str) -> list[Member]:
    """member_id, username, email, name, birthdate (YYYY-MM-DD, optional) with a header row."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise ClientError("cannot_read", f"cannot read {path}: {exc.strerror}") from exc
    required = {"member_id", "username", "email"}
    members = []
    for line, row in enumerate(rows, start=2):
        missing = [k for k in sorted(required) if not (row.get(k) or "").strip()]
        if missing:
            raise ClientError("bad_csv", f"{path} line {line}: missing {', '.join(missing)}")
        birth = (row.get("birthdate") or "").strip()
        try:
            birthdate = date.fromisoformat(birth) if birth else None
        except ValueError:
            raise ClientError(
                "bad_csv", f"{path} line {line}: birthdate {birth!r} is not YYYY-MM-DD"
            ) from None
        members.append(
            Member(
                member_id=row["member_id"].strip(),
                username=row["username"].strip(),
                email=row["email"].strip(),
                name=(row.get("name") or "").strip() or None,
                birthdate=birthdate,
            )
        )
    return members


def kb_import(args: argparse.Namespace) -> int:
    """Add or replace the articles of a folder of Markdown files (``--prune``: and delete
    the articles that are not in it)."""
    settings = _settings(args)
    folder = Path(args.folder)
    if not folder.is_dir():
        raise ClientError("cannot_read", f"{folder} is not a folder")
    articles = read_folder(folder, list(load_routing(settings).topics))

    async def work(store: Store) -> int:
        await store.kb_save(articles, now=time.time(), by="import")
        pruned = 0
        if args.prune:
            keep = {a.id for a in articles}
            for old in await store.kb_articles():
                if old.id not in keep:
                    pruned += await store.kb_delete(old.id)
        return pruned

    pruned = _with_store(settings, work)
    print(f"imported {len(articles)} article(s)" + (f", deleted {pruned}" if args.prune else ""))
    return 0


def kb_export(args: argparse.Namespace) -> int:
    """Write every article (drafts too) to ``DIR/<locale>/<id>.md``."""
    articles = _with_store(_settings(args), lambda store: store.kb_articles())
    count = write_folder(Path(args.folder), articles)
    print(f"exported {count} article(s) to {args.folder}")
    return 0


def migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    applied = _with_store(settings, lambda store: store.migrate(), migrate=False)
    done = f"applied migration(s) {', '.join(map(str, applied))}" if applied else "nothing to do"
    print(f"database {database_label(settings)} is up to date ({done})")
    return 0


# -- parsing -------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="TOML settings file (also CHATSERVER_CONFIG)")
    common.add_argument("--db", help="SQLite database file (also CHATSERVER_DB)")

    parser = argparse.ArgumentParser(prog="chatserver", description="Live-chat support server.")
    parser.add_argument("--version", action="version", version=f"chatserver {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", parents=[common], help="run the server")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    p.set_defaults(
        func=lambda a: serve(_settings(a, host=a.host, port=a.port, log_level=a.log_level))
    )

    p = sub.add_parser("migrate", parents=[common], help="create or upgrade the database")
    p.set_defaults(func=migrate)

    agent = sub.add_parser("agent", help="manage agents").add_subparsers(
        dest="action", required=True
    )
    p = agent.add_parser("add", parents=[common], help="add an agent")
    p.add_argument("username")
    p.add_argument("--name", help="name shown to players (default: the username)")
    p.add_argument(
        "--department", action="append", help="department (repeat for several; default: all)"
    )
    p.add_argument("--max-chats", type=int, default=3, help="concurrent chats (default 3)")
    p.add_argument("--role", choices=["agent", "supervisor", "admin"], default="agent")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("--kb-editor", action="store_true", help="may edit the knowledge base")
    p.add_argument(
        "--privacy", action="store_true", help="a privacy officer: answers data requests"
    )
    p.add_argument(
        "--bot", action="store_true", help="a bot: no password, signs in with an API token"
    )
    p.set_defaults(func=agent_add)
    p = agent.add_parser("list", parents=[common], help="list agents")
    p.set_defaults(func=agent_list)

    members = sub.add_parser("members", help="the built-in member directory")
    members_sub = members.add_subparsers(dest="action", required=True)
    p = members_sub.add_parser("import", parents=[common], help="import members from a CSV file")
    p.add_argument("file", help="CSV with member_id, username, email, name, birthdate")
    p.set_defaults(func=members_import)

    kb = sub.add_parser("kb", help="the knowledge base").add_subparsers(
        dest="action", required=True
    )
    p = kb.add_parser("import", parents=[common], help="import a folder of Markdown articles")
    p.add_argument("folder", help="Markdown files with front matter (docs/configuration.md)")
    p.add_argument("--prune", action="store_true", help="delete articles not in the folder")
    p.set_defaults(func=kb_import)
    p = kb.add_parser("export", parents=[common], help="export every article as Markdown")
    p.add_argument("folder", help="where to write <locale>/<id>.md")
    p.set_defaults(func=kb_export)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="action", required=True)
    p = token.add_parser("create", parents=[common], help="create an API token for an agent")
    p.add_argument("username")
    p.add_argument("--label", default="", help="what the token is for")
    p.add_argument(
        "--scope",
        action="append",
        choices=SCOPES,
        help="what it may do (repeat; default: requests:read, requests:write, files:read)",
    )
    p.add_argument(
        "--department", action="append", help="only these departments' requests (repeat)"
    )
    p.set_defaults(func=token_create)
    add_commands(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except ChatServerError as exc:
        message = exc.message if isinstance(exc, ClientError) else str(exc)
        print(f"chatserver: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
