"""Data-subject requests through real servers: the archive holds everything about the
person and nothing about anyone else; after an erasure the database files (SQLite and its
WAL), PostgreSQL's tables and the files folder hold none of their personal data, while
request numbers and counts remain."""

from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx

from chatserver.cli import main as cli
from chatserver.security import new_token, token_hash
from tests.support import RunningServer, agent, make_agent, pg_rows, start_chat

ZEYNEP = {
    "name": "Zeynep Kayaoglu",
    "email": "zeynep.kayaoglu@example.com",
    "username": "zeynepk77",
    "message": "Hesabim kilitlendi ZKSECRETMSG",
    "note": "Zeynep called twice ZKSECRETNOTE",
    "file": b"ZKSECRETFILE kimlik karti",
}
BURAK = {
    "name": "Burak Demirtas",
    "email": "burak.demirtas@example.com",
    "username": "burakd",
    "message": "Bonusum nerede BDSECRETMSG",
    "note": "Burak is fine BDSECRETNOTE",
    "file": b"BDSECRETFILE dekont",
}
SECRETS = [
    ZEYNEP[k].encode() if isinstance(ZEYNEP[k], str) else ZEYNEP[k]  # type: ignore[union-attr]
    for k in ("name", "email", "username", "message", "note")
] + [b"ZKSECRETFILE", b"Kayaoglu", b"zeynepk77"]


async def chat_with(server: RunningServer, token: str, who: dict[str, Any]) -> str:
    """A whole chat with a message, a note and a file, handled by Ayşe; its request number."""
    a, _ = await agent(server, token)
    p, welcome = await start_chat(
        server, name=who["name"], email=who["email"], username=who["username"]
    )
    chat = (await p.expect("assigned"))["chat"]
    await p.send("message", id="m1", text=who["message"])
    await a.expect("message", id="m1")
    await a.send("message", chat=chat, id="a1", text=f"Merhaba {who['name']}")
    await p.expect("message", id="a1")
    await a.send("note", chat=chat, id="n1", text=who["note"])
    await a.expect("note", id="n1")
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.post(
            f"/api/chats/{chat}/files",
            files={"file": ("belge.txt", who["file"], "text/plain")},
            headers={"Authorization": f"Session {welcome['session']}"},
        )
        assert r.status_code == 201, r.text
    await a.send("end", chat=chat, resolution="resolved")
    number = str((await p.expect("ended"))["request_number"])
    await p.send("rate", resolved=True, rating=2, comment=f"{who['name']} says meh")
    await p.expect("rated")
    await a.close()
    await p.close()
    return number


async def admin_token(server: RunningServer) -> str:
    await make_agent(server, "root", role="admin")
    rec = await server.hub.store.agent_by_username("root")
    assert rec is not None
    token = new_token("cst_")
    await server.hub.store.add_token(
        rec.id, token_hash(token), "privacy", time.time(),
        scopes=("requests:read", "admin"),
    )  # fmt: skip
    return token


async def stored_bytes(server: RunningServer) -> bytes:
    """Everything the database holds: the SQLite file and its WAL as raw bytes, or every
    row of every PostgreSQL table as text."""
    s = server.settings
    if s.database_url:
        tables = await pg_rows(
            s.database_url,
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
        )
        out = []
        for (table,) in tables:
            for (row,) in await pg_rows(s.database_url, f'SELECT t::text FROM "{table}" t'):
                out.append(row)
        return "\n".join(out).encode()
    db = Path(s.db)
    return b"".join(p.read_bytes() for p in (db, Path(f"{s.db}-wal")) if p.exists())


def folder_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


async def test_export_then_erase(server: RunningServer) -> None:
    ayse = await make_agent(server, "ayse")
    zk = await chat_with(server, ayse, ZEYNEP)
    bd = await chat_with(server, ayse, BURAK)
    token = await admin_token(server)
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.http, headers=auth) as http:
        # find
        r = await http.get("/api/privacy/subjects", params={"email": "ZEYNEP.kayaoglu@example.com"})
        assert r.status_code == 200
        found = r.json()
        assert [x["number"] for x in found["requests"]] == [zk]
        assert found["requests"][0]["messages"] >= 2 and found["requests"][0]["files"] == 1

        # export: everything about her, nothing about him
        r = await http.post("/api/privacy/subjects/export", json={"username": "zeynepk77"})
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        z = zipfile.ZipFile(io.BytesIO(r.content))
        names = z.namelist()
        assert {"subject.json", "summary.html"} <= set(names)
        everything = b"".join(z.read(n) for n in names)
        for needle in (b"ZKSECRETMSG", b"ZKSECRETNOTE", b"ZKSECRETFILE", zk.encode()):
            assert needle in everything, needle
        for needle in (b"Burak", b"burak", b"BDSECRET", bd.encode()):
            assert needle not in everything, needle
        body = json.loads(z.read("subject.json"))
        assert body["requests"][0]["satisfaction"]["rating"] == 2
        assert any(e["action"] == "file.download" or e["action"] == "request.view"
                   for e in body["audit"]) or body["audit"] == []  # fmt: skip

        # the player's link
        r = await http.post("/api/privacy/subjects/link", json={"email": ZEYNEP["email"]})
        link = r.json()["link"]
        assert link.startswith(server.http + "/privacy/export/")
    async with httpx.AsyncClient() as anon:
        r = await anon.get(link)
        assert r.status_code == 200 and b"ZKSECRETMSG" in b"".join(
            zipfile.ZipFile(io.BytesIO(r.content)).read(n)
            for n in zipfile.ZipFile(io.BytesIO(r.content)).namelist()
        )
        r = await anon.get(link + "x")
        assert r.status_code == 404 and r.json()["error"]["code"] == "link_expired"

    before = await stored_bytes(server)
    assert b"ZKSECRETMSG" in before and b"BDSECRETMSG" in before  # the search can find them
    async with httpx.AsyncClient(base_url=server.http, headers=auth) as http:
        r = await http.post("/api/privacy/subjects/erase", json={"email": ZEYNEP["email"]})
        assert r.status_code == 400 and r.json()["error"]["field"] == "reason"
        r = await http.post(
            "/api/privacy/subjects/erase",
            json={"email": ZEYNEP["email"], "reason": "KVKK art. 7 request 2026-12"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["erased"]["messages"] >= 2 and r.json()["erased"]["attachments"] == 1

        # the request is still there, without her
        rec = (await http.get(f"/api/requests/{zk}")).json()
        assert rec["number"] == zk and rec["status"] == "open"
        assert rec["player"] == {"name": None, "username": None, "email": None}
        assert rec["satisfaction"]["rating"] == 2 and rec["satisfaction"]["comment"] is None
        found = (await http.get("/api/privacy/subjects", params={"email": ZEYNEP["email"]})).json()
        assert found["requests"] == []
    async with httpx.AsyncClient() as anon:
        assert (await anon.get(link)).status_code == 404  # the link went with her

    raw = await stored_bytes(server)
    for secret in SECRETS:
        assert secret not in raw, secret
    assert b"BDSECRETMSG" in raw and b"Burak Demirtas" in raw  # he is untouched
    files = folder_bytes(Path(server.settings.files_dir))
    assert b"ZKSECRETFILE" not in files
    n = await server.hub.store.search_requests(limit=10)
    assert len(n) == 2  # both request numbers remain
    erasures = await server.hub.store.audit_search(action="subject.erase")
    assert len(erasures) == 1 and zk in (erasures[0].detail or "")
    assert "KVKK" in (erasures[0].detail or "")


async def test_the_command_line(server: RunningServer, tmp_path: Path) -> None:
    ayse = await make_agent(server, "ayse")
    zk = await chat_with(server, ayse, ZEYNEP)
    s = server.settings
    config = tmp_path / "cli.toml"
    config.write_text(
        f'db = "{s.db}"\nfiles_dir = "{s.files_dir}"\n'
        + (f'database_url = "{s.database_url}"\n' if s.database_url else "")
    )
    out = tmp_path / "z.zip"
    base = ["--config", str(config), "--email", ZEYNEP["email"]]
    assert await asyncio.to_thread(cli, ["privacy", "export", *base, "--out", str(out)]) == 0
    assert b"ZKSECRETFILE" in zipfile.ZipFile(out).read(zipfile.ZipFile(out).namelist()[-1])
    assert await asyncio.to_thread(cli, ["privacy", "erase", *base, "--reason", "asked"]) == 0
    rec = await server.hub.store.request(zk.replace("-", ""))
    assert rec is not None and rec.chat.email is None and all(not m.text for m in rec.messages)
