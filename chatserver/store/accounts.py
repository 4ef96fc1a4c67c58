"""Accounts: agents, API tokens (with their scopes), console sign-in sessions (with their
two-factor step) and recovery codes; shared by both SQL stores (``SqlStore`` inherits them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from ..exceptions import ConflictError, NotFoundError
from .base import AgentRecord, ConsoleSession, TokenGrant
from .tx import Conflict, Row, Tx

__all__ = ["AccountQueries"]

T = TypeVar("T")


def _agent(row: Row) -> AgentRecord:
    deps = row["departments"]
    return AgentRecord(
        id=row["id"],
        username=row["username"],
        name=row["name"],
        role=row["role"],
        departments=tuple(deps.split(",")) if deps else (),
        max_chats=row["max_chats"],
        disabled=bool(row["disabled"]),
        created_at=row["created_at"],
        password_hash=row["password_hash"],
        locale=row["locale"],
        kb_editor=bool(row["kb_editor"]),
        bot=bool(row["bot"]),
        privacy=bool(row["privacy"]),
        totp_secret=row["totp_secret"],
        totp_step=row["totp_step"],
    )


async def _set_departments(w: Tx, agent_id: int, departments: Sequence[str]) -> None:
    await w.executemany(
        "INSERT INTO agent_departments (agent_id, department) VALUES (?, ?)",
        [(agent_id, d) for d in sorted(set(departments))],
    )


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


class AccountQueries:
    """Agents, tokens and console sessions; the driver supplies ``_fetch``, ``_transaction``
    and how it lists an agent's departments (``_departments_agg``)."""

    # how the dialect lists an agent's departments, comma-separated and sorted
    _departments_agg = (
        "(SELECT group_concat(department, ',') FROM (SELECT department"
        " FROM agent_departments d WHERE d.agent_id = a.id ORDER BY department))"
    )

    @property
    def _agent_columns(self) -> str:
        return f"a.*, {self._departments_agg} AS departments"

    @property
    def _agent_select(self) -> str:
        return f"SELECT {self._agent_columns} FROM agents a"

    async def _fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def _transaction(self, work: Callable[[Tx], Awaitable[T]], what: str) -> T:
        raise NotImplementedError

    # -- agents ------------------------------------------------------------------

    async def add_agent(
        self,
        *,
        username: str,
        name: str,
        password_hash: str | None,
        role: str,
        departments: Sequence[str],
        max_chats: int,
        now: float,
    ) -> AgentRecord:
        async def work(w: Tx) -> int:
            try:
                agent_id = await w.insert(
                    "INSERT INTO agents (username, name, password_hash, role, max_chats,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    (username, name, password_hash, role, max_chats, now),
                )
            except Conflict as exc:
                if exc.where == "agents.username":
                    raise ConflictError(
                        "username_taken", f"an agent named {username!r} already exists"
                    ) from exc
                raise
            await _set_departments(w, agent_id, departments)
            return agent_id

        agent = await self.agent(await self._transaction(work, "cannot add agent"))
        assert agent is not None
        return agent

    async def update_agent(
        self,
        agent_id: int,
        *,
        name: str | None = None,
        role: str | None = None,
        departments: Sequence[str] | None = None,
        max_chats: int | None = None,
        disabled: bool | None = None,
        password_hash: str | None = None,
        locale: str | None = None,
        kb_editor: bool | None = None,
        bot: bool | None = None,
        privacy: bool | None = None,
    ) -> AgentRecord:
        changes = {
            "name": name,
            "role": role,
            "max_chats": max_chats,
            "disabled": None if disabled is None else int(disabled),
            "password_hash": password_hash,
            "locale": locale,
            "kb_editor": None if kb_editor is None else int(kb_editor),
            "bot": None if bot is None else int(bot),
            "privacy": None if privacy is None else int(privacy),
        }
        sets = {k: v for k, v in changes.items() if v is not None}

        async def work(w: Tx) -> None:
            if sets:
                changed = await w.execute(
                    f"UPDATE agents SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
                    (*sets.values(), agent_id),
                )
                if changed == 0:
                    raise NotFoundError("agent_not_found", "no such agent")
            if departments is not None:
                await w.execute("DELETE FROM agent_departments WHERE agent_id = ?", (agent_id,))
                await _set_departments(w, agent_id, departments)

        await self._transaction(work, "cannot change agent")
        agent = await self.agent(agent_id)
        if agent is None:
            raise NotFoundError("agent_not_found", "no such agent")
        return agent

    async def list_agents(self) -> list[AgentRecord]:
        return [_agent(r) for r in await self._fetch(self._agent_select + " ORDER BY a.username")]

    async def agent(self, agent_id: int) -> AgentRecord | None:
        rows = await self._fetch(self._agent_select + " WHERE a.id = ?", (agent_id,))
        return _agent(rows[0]) if rows else None

    async def agent_by_username(self, username: str) -> AgentRecord | None:
        rows = await self._fetch(self._agent_select + " WHERE a.username = ?", (username,))
        return _agent(rows[0]) if rows else None

    # -- API tokens ----------------------------------------------------------------

    async def add_token(
        self,
        agent_id: int,
        token_hash: bytes,
        label: str,
        now: float,
        *,
        scopes: Sequence[str] = ("requests:read", "requests:write", "files:read"),
        departments: Sequence[str] = (),
    ) -> int:
        async def work(w: Tx) -> int:
            return await w.insert(
                "INSERT INTO api_tokens (agent_id, token_hash, label, created_at, scopes,"
                " departments) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (agent_id, token_hash, label, now, " ".join(scopes), " ".join(departments)),
            )

        return await self._transaction(work, "cannot add token")

    async def token_grant(self, token_hash: bytes) -> TokenGrant | None:
        """The live token with this hash (not revoked, its agent not disabled)."""
        rows = await self._fetch(
            f"SELECT {self._agent_columns}, t.id AS token_id, t.scopes AS token_scopes,"
            " t.departments AS token_departments, t.label AS token_label,"
            " t.created_at AS token_created FROM agents a JOIN api_tokens t ON t.agent_id = a.id"
            " WHERE t.token_hash = ? AND t.revoked_at IS NULL AND a.disabled = 0",
            (token_hash,),
        )
        if not rows:
            return None
        r = rows[0]
        return TokenGrant(
            r["token_id"],
            _agent(r),
            _words(r["token_scopes"]),
            _words(r["token_departments"]),
            r["token_label"],
            r["token_created"],
        )

    async def agent_by_token(self, token_hash: bytes) -> AgentRecord | None:
        grant = await self.token_grant(token_hash)
        return grant.agent if grant is not None else None

    # -- console sessions ------------------------------------------------------------

    async def add_console_session(
        self,
        token_hash: bytes,
        agent_id: int,
        csrf: str,
        *,
        now: float,
        expires_at: float,
        ip: str | None,
        user_agent: str | None,
        stage: str = "full",
    ) -> None:
        async def work(w: Tx) -> None:
            # sessions that ran out go when a new one starts: no sweeper needed
            await w.execute("DELETE FROM console_sessions WHERE expires_at < ?", (now,))
            await w.execute(
                "INSERT INTO console_sessions (token_hash, agent_id, csrf, created_at,"
                " expires_at, ip, user_agent, stage) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (token_hash, agent_id, csrf, now, expires_at, ip, user_agent, stage),
            )

        await self._transaction(work, "cannot start console session")

    async def console_session(
        self, token_hash: bytes, now: float, *, stages: tuple[str, ...] = ("full",)
    ) -> ConsoleSession | None:
        """The live session (not expired, agent not disabled) with this token, if its stage
        is one of ``stages``."""
        rows = await self._fetch(
            f"SELECT {self._agent_columns}, s.csrf, s.expires_at, s.stage, s.ip"
            " FROM console_sessions s JOIN agents a ON a.id = s.agent_id"
            " WHERE s.token_hash = ? AND s.expires_at > ? AND a.disabled = 0",
            (token_hash, now),
        )
        if not rows or rows[0]["stage"] not in stages:
            return None
        r = rows[0]
        return ConsoleSession(_agent(r), r["csrf"], r["expires_at"], r["stage"], r["ip"])

    async def end_console_sessions(
        self, *, token_hash: bytes | None = None, agent_id: int | None = None
    ) -> None:
        async def work(w: Tx) -> None:
            if token_hash is not None:
                await w.execute("DELETE FROM console_sessions WHERE token_hash = ?", (token_hash,))
            if agent_id is not None:
                await w.execute("DELETE FROM console_sessions WHERE agent_id = ?", (agent_id,))

        await self._transaction(work, "cannot end console session")

    # -- two-factor sign-in ----------------------------------------------------------

    async def set_two_factor(
        self, agent_id: int, secret: str | None, recovery_hashes: Sequence[bytes], step: int = 0
    ) -> None:
        """Set up (or, with None, turn off) an agent's TOTP secret; its recovery codes are
        replaced by ``recovery_hashes``."""

        async def work(w: Tx) -> None:
            await w.execute(
                "UPDATE agents SET totp_secret = ?, totp_step = ? WHERE id = ?",
                (secret, step, agent_id),
            )
            await w.execute("DELETE FROM recovery_codes WHERE agent_id = ?", (agent_id,))
            await w.executemany(
                "INSERT INTO recovery_codes (agent_id, code_hash) VALUES (?, ?)",
                [(agent_id, h) for h in recovery_hashes],
            )

        await self._transaction(work, "cannot set up two-factor sign-in")

    async def accept_totp_step(self, agent_id: int, step: int) -> bool:
        """Take a code's time step if it is later than the last one taken: each code signs
        in once, even if two arrive at the same moment (the check and the update are one
        statement)."""

        async def work(w: Tx) -> int:
            return await w.execute(
                "UPDATE agents SET totp_step = ? WHERE id = ? AND totp_step < ?",
                (step, agent_id, step),
            )

        return bool(await self._transaction(work, "cannot check the code"))

    async def use_recovery_code(self, agent_id: int, code_hash: bytes, now: float) -> bool:
        async def work(w: Tx) -> int:
            return await w.execute(
                "UPDATE recovery_codes SET used_at = ?"
                " WHERE agent_id = ? AND code_hash = ? AND used_at IS NULL",
                (now, agent_id, code_hash),
            )

        return bool(await self._transaction(work, "cannot check the recovery code"))

    async def recovery_codes_left(self, agent_id: int) -> int:
        rows = await self._fetch(
            "SELECT count(*) AS n FROM recovery_codes WHERE agent_id = ? AND used_at IS NULL",
            (agent_id,),
        )
        return int(rows[0]["n"])

    async def promote_console_session(
        self, token_hash: bytes, new_hash: bytes, *, from_stages: tuple[str, ...]
    ) -> bool:
        """The second step is done: the session becomes ``full`` under a new token (the old
        cookie stops working)."""

        async def work(w: Tx) -> int:
            stages = ", ".join("?" for _ in from_stages)
            return await w.execute(
                "UPDATE console_sessions SET token_hash = ?, stage = 'full'"
                f" WHERE token_hash = ? AND stage IN ({stages})",
                (new_hash, token_hash, *from_stages),
            )

        return bool(await self._transaction(work, "cannot finish signing in"))
