"""Retention: a dry run counts, a purge removes, in batches, only what is past its time
after the request closed; the audit trail's chain still verifies after its oldest part goes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from chatserver.cli import main as cli
from chatserver.privacy.retention import BATCH, Retention, policy_of
from chatserver.privacy.trail import verify
from tests.integration.test_data_subjects import BURAK, ZEYNEP, chat_with
from tests.support import RunningServer, make_agent

DAY = 86400


def kept_files(server: RunningServer) -> int:
    root = Path(server.settings.files_dir)
    return sum(1 for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp")


async def close(server: RunningServer, token: str, number: str) -> None:
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.post(
            f"/api/requests/{number}/status",
            json={"status": "closed"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text


async def test_purge_after_the_request_closes(server: RunningServer, tmp_path: Path) -> None:
    ayse = await make_agent(server, "ayse")
    closed = await chat_with(server, ayse, ZEYNEP)
    still_open = await chat_with(server, ayse, BURAK)
    await close(server, ayse, closed)
    store = server.hub.store
    files = server.hub.files
    policy = policy_of(server.settings)
    assert policy["attachments"] == 180 and policy["messages"] == 730

    # today nothing is old enough
    now = Retention(store, files, policy, clock=time.time)
    assert not any((await now.run_once(dry_run=True)).values())

    # 200 days on: only the closed request's file is past its time
    later = Retention(store, files, policy, clock=lambda: time.time() + 200 * DAY)
    assert await later.run_once(dry_run=True) == {
        "attachments": 1, "notes": 0, "messages": 0, "refusals": 0, "deliveries": 0,
        "notifications": 0, "audit": 0, "links": 0,
    }  # fmt: skip
    kept = kept_files(server)
    removed = await later.run_once()
    assert removed["attachments"] == 1 and later.removed["attachments"] == 1
    assert kept_files(server) == kept - 1  # the file itself is gone
    rec = await store.request(closed.replace("-", ""))
    assert rec is not None and rec.attachments[0].storage_key == ""
    assert any(m.text for m in rec.messages)  # messages stay longer

    # three years on: messages and notes of the closed request go; the open one keeps all
    much_later = Retention(store, files, policy, clock=lambda: time.time() + 3 * 365 * DAY)
    removed = await much_later.run_once()
    assert removed["messages"] >= 2 and removed["notes"] == 1
    rec = await store.request(closed.replace("-", ""))
    assert rec is not None and not any(m.text for m in rec.messages) and not rec.notes[0].text
    assert rec.number and rec.status == "closed"  # the request itself stays
    other = await store.request(still_open.replace("-", ""))
    assert other is not None and all(m.text for m in other.messages if m.sender.value != "system")


async def test_audit_purge_keeps_a_verifiable_chain(server: RunningServer) -> None:
    ayse = await make_agent(server, "ayse")
    number = await chat_with(server, ayse, ZEYNEP)
    async with httpx.AsyncClient(base_url=server.http) as http:
        for _ in range(BATCH + 5):  # more than one batch of entries
            r = await http.get(
                f"/api/requests/{number}", headers={"Authorization": f"Bearer {ayse}"}
            )
            assert r.status_code == 200
    store = server.hub.store
    checked, breaks = await verify(store)
    assert checked >= BATCH + 5 and breaks == []
    policy = {"audit": 1.0}
    purge = Retention(store, None, policy, clock=lambda: time.time() + 2 * DAY)
    assert (await purge.run_once(dry_run=True))["audit"] == checked
    assert (await purge.run_once())["audit"] == checked
    assert await verify(store) == (0, [])
    async with httpx.AsyncClient(base_url=server.http) as http:
        await http.get(f"/api/requests/{number}", headers={"Authorization": f"Bearer {ayse}"})
    assert await verify(store) == (1, [])  # the chain goes on from where the purge left it


async def test_purge_from_the_command_line(server: RunningServer, tmp_path: Path) -> None:
    ayse = await make_agent(server, "ayse")
    await chat_with(server, ayse, ZEYNEP)
    s = server.settings
    config = tmp_path / "cli.toml"
    config.write_text(
        f'db = "{s.db}"\nfiles_dir = "{s.files_dir}"\n'
        + (f'database_url = "{s.database_url}"\n' if s.database_url else "")
    )
    assert await asyncio.to_thread(cli, ["purge", "--dry-run", "--config", str(config)]) == 0
    assert await asyncio.to_thread(cli, ["purge", "--config", str(config)]) == 0
