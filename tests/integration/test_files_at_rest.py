"""Attachments are encrypted at rest: the files folder alone reveals nothing, an altered
file is refused, and keys can be rotated."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx

from chatserver.cli import main as cli
from tests.support import RunningServer, agent, make_agent, start_chat

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]
MARKER = b"TC KIMLIK 12345678901 Mehmet Yilmaz"


async def upload(server: RunningServer, token: str) -> str:
    a, _ = await agent(server, token)
    p, welcome = await start_chat(server)
    chat = (await p.expect("assigned"))["chat"]
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.post(
            f"/api/chats/{chat}/files",
            files={"file": ("kimlik.txt", MARKER, "text/plain")},
            headers={"Authorization": f"Session {welcome['session']}"},
        )
        assert r.status_code == 201, r.text
    await a.close()
    await p.close()
    return str(r.json()["file"]["id"])


async def download(server: RunningServer, token: str, file_id: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.http) as http:
        return await http.get(f"/api/files/{file_id}", headers={"Authorization": f"Bearer {token}"})


def folder_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


async def test_the_folder_alone_reveals_nothing(serve: Serve, tmp_path: Path) -> None:
    async with serve() as server:
        token = await make_agent(server, "ayse")
        file_id = await upload(server, token)
        r = await download(server, token, file_id)
        assert r.status_code == 200 and r.content == MARKER
        files = Path(server.settings.files_dir)
        assert MARKER not in folder_bytes(files) and b"Mehmet" not in folder_bytes(files)
        key_file = files.parent / f"{files.name}.key"
        assert key_file.is_file() and os.stat(key_file).st_mode & 0o077 == 0
        assert not list(files.rglob("*.key"))
        # a flipped byte is found, not served
        kept = next(p for p in files.rglob("*") if p.is_file() and p.parent.name != "tmp")
        blob = bytearray(kept.read_bytes())
        blob[-1] ^= 1
        kept.write_bytes(bytes(blob))
        r = await download(server, token, file_id)
        assert r.status_code == 500 and r.json()["error"]["code"] == "file_damaged"


async def test_rotating_the_key(serve: Serve, tmp_path: Path) -> None:
    old, new = secrets.token_hex(32), secrets.token_hex(32)
    async with serve(files_key=old) as server:
        token = await make_agent(server, "ayse")
        file_id = await upload(server, token)
        settings = server.settings
    async with serve(files_key=new, files_old_keys=(old,)) as server:
        assert (await download(server, token, file_id)).content == MARKER
    config = tmp_path / "chat.toml"
    config.write_text(
        f'db = "{settings.db}"\nfiles_dir = "{settings.files_dir}"\n'
        f'files_key = "{new}"\nfiles_old_keys = ["{old}"]\n'
        + (f'database_url = "{settings.database_url}"\n' if settings.database_url else "")
    )
    assert await asyncio.to_thread(cli, ["files", "rekey", "--config", str(config)]) == 0
    async with serve(files_key=new) as server:  # the old key is no longer needed
        r = await download(server, token, file_id)
        assert r.status_code == 200 and r.content == MARKER
