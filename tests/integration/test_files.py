"""Files in chats: upload, checks by content, cleaning, storage, authorization on download."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
from PIL import Image

from tests.support import WS, RunningServer, agent, make_agent, player, start_chat

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


def png(size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "red").save(buf, "PNG")
    return buf.getvalue()


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {2: (41.0, 0.0, 0.0)}  # GPS latitude
    buf = io.BytesIO()
    Image.new("RGB", (80, 60), "blue").save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


async def chat_pair(server: RunningServer) -> tuple[WS, str, WS, str, str]:
    """A player (with their session token) chatting with an agent (with an API token)."""
    token = await make_agent(server, "ayse")
    a, _ = await agent(server, token)
    p, welcome = await start_chat(server)
    chat = (await p.expect("assigned"))["chat"]
    await a.expect("assigned", chat=chat)
    return p, welcome["session"], a, token, chat


async def upload(
    server: RunningServer,
    chat: str,
    data: bytes,
    name: str,
    *,
    auth: str,
    declared: str = "application/octet-stream",
    client_id: str | None = None,
    **headers: str,
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.http, timeout=30) as http:
        return await http.post(
            f"/api/chats/{chat}/files",
            files={"file": (name, data, declared)},
            data={"id": client_id} if client_id else None,
            headers={"Authorization": auth, **headers},
        )


async def test_images_are_cleaned_stored_and_sent_as_messages(server: RunningServer) -> None:
    """An image becomes a message with a seq; its EXIF is gone; both sides see it."""
    p, session, a, token, chat = await chat_pair(server)
    original = jpeg_with_exif()
    r = await upload(
        server, chat, original, "../../photo of me.JPG", auth=f"Session {session}", client_id="f1"
    )
    assert r.status_code == 201, r.text
    body = r.json()
    f = body["file"]
    assert (f["name"], f["type"], f["width"], f["height"]) == (
        "photo of me.JPG",
        "image/jpeg",
        80,
        60,
    )
    got = await a.expect("message", id="f1")
    assert got["seq"] == body["seq"] and got["file"]["id"] == f["id"] and got["from"] == "player"
    mirrored = await p.expect(
        "message", id="f1"
    )  # the uploading tab gets it through the socket too
    assert mirrored["file"]["thumbnail_url"] == f"/api/files/{f['id']}/thumbnail"

    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.get(f["url"], headers={"Authorization": f"Session {session}"})
        assert r.status_code == 200
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in r.headers["content-security-policy"]
        assert r.headers["content-disposition"].startswith("attachment")
        stored = r.content
        assert hashlib.sha256(stored).hexdigest() == f["sha256"]
        assert b"SecretCam" not in stored and b"SecretCam" in original
        assert not Image.open(io.BytesIO(stored)).getexif()
        thumb = await http.get(f["thumbnail_url"], headers={"Authorization": f"Bearer {token}"})
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        assert thumb.headers["content-disposition"].startswith("inline")
        assert max(Image.open(io.BytesIO(thumb.content)).size) <= 320


async def test_pdf_and_text_are_accepted_by_content(server: RunningServer) -> None:
    """A PDF and a text file go through whatever they are called; an agent may upload too."""
    p, session, a, token, chat = await chat_pair(server)
    r = await upload(
        server,
        chat,
        b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n",
        "dekont",
        auth=f"Session {session}",
    )
    assert r.status_code == 201 and r.json()["file"]["type"] == "application/pdf"
    r = await upload(
        server, chat, "Çekim talebi no: 123\n".encode(), "note.exe", auth=f"Bearer {token}"
    )
    assert r.status_code == 201, r.text
    f = r.json()["file"]
    assert f["type"] == "text/plain" and f["name"] == "note.exe.txt"
    got = await p.expect("message", seq=r.json()["seq"])
    assert got["from"] == "agent" and got["file"]["size"] == len("Çekim talebi no: 123\n".encode())


async def test_refused_uploads_say_why_and_leave_nothing_behind(
    serve: Serve, tmp_path: Path
) -> None:
    """A renamed executable, an oversized file, a broken image and an empty file are refused."""
    files_dir = tmp_path / "files"
    async with serve(max_file_bytes=4096, files_dir=str(files_dir)) as server:
        _, session, _, _, chat = await chat_pair(server)
        auth = f"Session {session}"
        elf = Path("/bin/ls").read_bytes()[:3000]
        r = await upload(server, chat, elf, "cute-cat.png", auth=auth, declared="image/png")
        assert r.status_code == 415 and r.json()["error"]["code"] == "file_type_not_allowed"
        r = await upload(server, chat, b"x" * 5000, "big.txt", auth=auth)
        assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
        r = await upload(server, chat, png()[:60], "broken.png", auth=auth)
        assert r.status_code == 422 and r.json()["error"]["code"] == "file_damaged"
        r = await upload(server, chat, b"", "empty.txt", auth=auth)
        assert r.status_code == 400 and r.json()["error"]["code"] == "file_empty"
        async with httpx.AsyncClient(base_url=server.http) as http:
            r = await http.post(
                f"/api/chats/{chat}/files", content=b"x", headers={"Authorization": auth}
            )
            assert r.status_code == 400 and r.json()["error"]["code"] == "bad_upload"
        # nothing half-written: no temporary files, no stored files
        assert [p for p in files_dir.rglob("*") if p.is_file()] == []
        assert await server.hub.store.attachment("f_none") is None


async def test_who_may_upload_and_download(server: RunningServer) -> None:
    """Only the chat's player and agents; other players and strangers get nothing."""
    p, session, a, token, chat = await chat_pair(server)
    r = await upload(server, chat, png(), "mine.png", auth=f"Session {session}")
    url = r.json()["file"]["url"]
    other, other_welcome = await player(server)
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.get(url, headers={"Authorization": f"Session {other_welcome['session']}"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "file_not_found"
        r = await http.get(url)
        assert r.status_code == 401
        r = await http.get(url, headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401
    r = await upload(server, chat, png(), "x.png", auth=f"Session {other_welcome['session']}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "chat_not_found"
    stranger = await make_agent(server, "ali")
    r = await upload(server, chat, png(), "x.png", auth=f"Bearer {stranger}")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_your_chat"
    # after the chat ends the player still gets their own files
    await p.send("end")
    await p.expect("ended")
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.get(url, headers={"Authorization": f"Session {session}"})
        assert r.status_code == 200
    r = await upload(server, chat, png(), "late.png", auth=f"Session {session}")
    assert r.status_code == 404


async def test_resend_limits_and_resume(serve: Serve) -> None:
    """The same id twice is one file; past the limit uploads stop; resume replays files."""
    async with serve(max_files_per_chat=2) as server:
        p, session, a, _, chat = await chat_pair(server)
        auth = f"Session {session}"
        first = await upload(server, chat, png(), "a.png", auth=auth, client_id="same")
        again = await upload(server, chat, png((10, 10)), "b.png", auth=auth, client_id="same")
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["seq"] == first.json()["seq"]
        await upload(server, chat, png(), "c.png", auth=auth)
        r = await upload(server, chat, png(), "d.png", auth=auth)
        assert r.status_code == 409 and r.json()["error"]["code"] == "too_many_files"
        await p.close()
        p2, _ = await player(server, resume=session, last_seq=0)
        files = [m for m in [await p2.expect("message") for _ in range(3)] if "file" in m]
        assert [m["file"]["name"] for m in files] == ["a.png", "c.png"]


async def test_upload_by_console_needs_the_csrf_header(server: RunningServer) -> None:
    """The console's cookie alone cannot upload: a forged cross-site form would fail."""
    from tests.integration.test_console_http import boot, sign_in

    token = await make_agent(server, "ayse")
    a, _ = await agent(server, token)
    p, _ = await start_chat(server)
    chat = (await p.expect("assigned"))["chat"]
    async with httpx.AsyncClient(base_url=server.http) as http:
        await sign_in(http, "ayse")
        csrf = boot((await http.get("/console")).text)["csrf"]
        files = {"file": ("a.txt", b"hello", "text/plain")}
        r = await http.post(f"/api/chats/{chat}/files", files=files)
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
        r = await http.post(f"/api/chats/{chat}/files", files=files, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 201
