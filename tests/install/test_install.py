"""Installing and operating chatserver as a user does (issue 19): a plain wheel in a clean
venv, the protocol fallback for an untested uvicorn, the CLI without a terminal, and the
widget's files as a browser fetches them."""

from __future__ import annotations

import asyncio
import gzip
import logging
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest

from chatserver import server as server_module
from chatserver.config import Settings
from tests.integration.test_cli import run
from tests.support import RunningServer, make_agent, start_chat, t, watch_output

ROOT = Path(__file__).parents[2]
Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


async def _sh(*args: str, cwd: Path) -> str:
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), t(300))
    assert proc.returncode == 0, out.decode()
    return out.decode()


@pytest.mark.slow
async def test_a_plain_wheel_installs_and_serves(tmp_path: Path) -> None:
    """`pip wheel .` then a clean venv: `chatserver --help` works, and `chatserver serve`
    answers /healthz, the widget and the console's sign-in page (package data shipped)."""
    wheels = tmp_path / "wheels"
    await _sh(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT),
              cwd=tmp_path)  # fmt: skip
    venv = tmp_path / "venv"
    await _sh(sys.executable, "-m", "venv", str(venv), cwd=tmp_path)
    wheel = next(wheels.glob("chatserver-*.whl"))
    await _sh(str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
              str(wheel), cwd=tmp_path)  # fmt: skip
    assert "Live-chat support server" in await _sh(str(venv / "bin" / "chatserver"), "--help",
                                                  cwd=tmp_path)  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *(str(venv / "bin" / "chatserver"), "serve", "--port", "0", "--db", "chat.db"),
        cwd=tmp_path,  # not the repository: only the installed package can be imported
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output: list[str] = []
    found: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    assert proc.stdout is not None
    reader = asyncio.create_task(watch_output(proc.stdout, output, found))
    try:
        url = await asyncio.wait_for(found, t(30))
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/healthz")).status_code == 200
            assert (await http.get("/widget.js")).status_code == 200
            assert (await http.get("/console/login")).status_code == 200
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), t(20))
        await reader
    assert not any("Traceback" in line for line in output), "".join(output)


async def test_an_untested_uvicorn_gets_the_plain_protocols(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """With a uvicorn outside the tested range, uvicorn's own protocols are used (one
    warning says so) and a chat still works end to end."""
    settings = Settings()
    assert server_module.protocols(settings)[1].__name__ == "DirectWebSocketProtocol"
    monkeypatch.setattr(server_module.uvicorn, "__version__", "0.99.0")
    with caplog.at_level(logging.WARNING, "chatserver"):
        assert server_module.protocols(settings) == ("httptools", "websockets-sansio")
    warnings = [r for r in caplog.records if "plain protocols" in r.getMessage()]
    assert len(warnings) == 1 and "0.99.0" in warnings[0].getMessage()
    async with serve() as srv:
        assert srv.server.config.ws == "websockets-sansio"
        from tests.support import agent

        a, _ = await agent(srv, await make_agent(srv, "ayse"))
        p, _ = await start_chat(srv)
        chat = (await p.expect("assigned"))["chat"]
        await p.send("message", id="m1", text="merhaba")
        await p.expect("ack", id="m1")
        assert (await a.expect("message", id="m1"))["chat"] == chat


def test_agent_add_without_a_terminal_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No terminal (stdin is not a tty) and no --password-stdin: a clear error, no traceback."""
    code, _, err = run(["agent", "add", "ayse", "--db", str(tmp_path / "c.db")], capsys)
    assert code != 0 and "--password-stdin" in err and "Traceback" not in err


async def test_the_widget_is_served_compressed_and_cacheable(server: RunningServer) -> None:
    """gzip when asked, an ETag that answers 304, a year's cache under the versioned URL."""
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.get("/widget.js", headers={"Accept-Encoding": "gzip"})
        assert r.headers["content-encoding"] == "gzip" and "Accept-Encoding" in r.headers["vary"]
        assert "max-age=300" in r.headers["cache-control"]
        etag = r.headers["etag"]
        version = etag.strip('"')
        again = await http.get("/widget.js", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        pinned = await http.get(f"/widget.js?v={version}")
        assert "immutable" in pinned.headers["cache-control"]
        demo = await http.get("/")
        assert f"/widget.js?v={version}" in demo.text
        raw = await http.get("/widget.js", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in raw.headers
        compressed = len(gzip.compress(raw.content, 9))
        catalog = await http.get("/widget/i18n/tr.json", headers={"Accept-Encoding": "gzip"})
        assert catalog.headers["content-encoding"] == "gzip" and catalog.json()["title"]
    docs = (ROOT / "docs" / "embedding.md").read_text(encoding="utf-8")
    assert f"{compressed / 1024:.1f} KB" in docs or f"~{round(compressed / 1024)} KB" in docs, (
        f"docs/embedding.md should give the widget's gzipped size ({compressed} bytes)"
    )


async def test_a_download_with_an_unknown_token_is_invalid_token(server: RunningServer) -> None:
    """As protocol.md says: a wrong API token is invalid_token, no credentials auth_required."""
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.get("/api/files/f_nothing", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
        r = await http.get("/api/files/f_nothing")
        assert r.status_code == 401 and r.json()["error"]["code"] == "auth_required"
