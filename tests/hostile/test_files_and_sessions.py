"""Image bombs, dangerous file names, password changes, edges' forwarding (issue 18: 5, 8,
11, 13)."""

from __future__ import annotations

import io
import threading
import time

import httpx
import pytest
from PIL import Image

from chatserver import files as files_module
from tests.integration.test_console_http import PASSWORD, field, sign_in
from tests.integration.test_files import chat_pair, upload
from tests.support import WS, RunningServer, make_agent


def gif_bomb() -> bytes:
    """A 3000x3000 canvas with 400 tiny frames: a few KB that decode into gigabytes."""
    frames = [Image.new("P", (1, 1), i % 256) for i in range(400)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=10)
    data = bytearray(out.getvalue())
    data[6:10] = (3000).to_bytes(2, "little") * 2  # the logical screen: 3000 x 3000
    return bytes(data)


def big_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG", optimize=True)
    return out.getvalue()


async def test_image_bombs_are_refused_or_cut_to_one_frame(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 40-megapixel PNG is refused before decoding; an animated GIF keeps its first
    frame only; the decoding runs on the images pool, not on the event loop."""
    _, session, _, _, chat = await chat_pair(server)
    loop_thread = threading.get_ident()
    where: list[bool] = []
    real = files_module._keep

    def watched(*args: object) -> files_module.Kept:
        where.append(threading.get_ident() == loop_thread)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(files_module, "_keep", watched)
    auth = f"Session {session}"
    r = await upload(server, chat, big_png(6400), "big.png", auth=auth)
    assert r.status_code == 413 and r.json()["error"]["code"] == "image_too_large"
    started = time.monotonic()
    r = await upload(server, chat, gif_bomb(), "anim.gif", auth=auth)
    assert r.status_code in (201, 422), r.text
    assert time.monotonic() - started < 10  # (not 37 s of decoding)
    assert where == [False, False]
    if r.status_code == 201:
        async with httpx.AsyncClient(base_url=server.http) as http:
            got = await http.get(r.json()["file"]["url"], headers={"Authorization": auth})
        assert getattr(Image.open(io.BytesIO(got.content)), "n_frames", 1) == 1


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("receipt.hta", "receipt.hta.txt"),
        ("statement.js", "statement.js.txt"),
        ("page.html", "page.html.txt"),
        ("logo.svg", "logo.svg.txt"),
        ("bank\u202efdp.hta", "bankfdp.hta.txt"),
        ("dekont ödeme.txt", "dekont ödeme.txt"),
    ],
)
async def test_dangerous_file_names_are_made_safe(
    server: RunningServer, name: str, kept: str
) -> None:
    """Text keeps a name ending in .txt, without bidi overrides, sent per RFC 6266."""
    _, session, _, _, chat = await chat_pair(server)
    auth = f"Session {session}"
    r = await upload(server, chat, b"<script>alert(1)</script>\n", name, auth=auth)
    assert r.status_code == 201, r.text
    f = r.json()["file"]
    assert f["name"] == kept
    async with httpx.AsyncClient(base_url=server.http) as http:
        got = await http.get(f["url"], headers={"Authorization": auth})
    disposition = got.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="') and "filename*=UTF-8''" in disposition
    assert ".txt" in disposition.rsplit("''", 1)[1]


async def test_a_new_password_ends_the_agents_console_sessions(server: RunningServer) -> None:
    """An admin sets a new password: the old cookie no longer opens the console, and the
    console socket it opened is closed."""
    await make_agent(server, "boss", role="admin")
    agent_token = await make_agent(server, "ayse")
    async with (
        httpx.AsyncClient(base_url=server.http) as ayse,
        httpx.AsyncClient(base_url=server.http) as boss,
    ):
        assert (await sign_in(ayse, "ayse")).status_code == 303
        assert (await sign_in(boss, "boss")).status_code == 303
        cookie = ayse.cookies["cs_session"]
        ws = await WS.open(
            f"{server.ws}/ws/agent", additional_headers={"Cookie": f"cs_session={cookie}"}
        )
        await ws.send("hello", v=1)
        await ws.expect("welcome")
        agent_id = (await server.hub.store.agent_by_username("ayse")).id  # type: ignore[union-attr]
        page = await boss.get("/console/admin/agents")
        r = await boss.post(
            f"/console/admin/agents/{agent_id}",
            data={
                "csrf": field(page.text, "csrf"),
                "name": "Ayse",
                "role": "agent",
                "departments": "*",
                "max_chats": "3",
                "password": PASSWORD + " new",
            },
        )
        assert r.status_code == 303, r.text
        assert await ws.closed() == 1008
        r = await ayse.get("/console")
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
        again = await WS.open(
            f"{server.ws}/ws/agent", additional_headers={"Cookie": f"cs_session={cookie}"}
        )
        await again.send("hello", v=1)
        await again.expect_error("auth_required")
    assert agent_token  # (the API token is the integration's, not the console's)
