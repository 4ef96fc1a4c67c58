"""The deployment guide's nginx sample, as written, in front of a real server (issue 18, 9).

Debian's nginx runs the sample from docs/deployment.md with only its listen address,
certificate paths and upstream port changed. Clients come from different loopback
addresses (127.0.0.2, 127.0.0.3), so nginx sees them as different clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bench.procs import free_port
from tests.integration.test_console_http import field
from tests.support import WS, RunningServer, make_agent, t

DOCS = Path(__file__).parents[2] / "docs" / "deployment.md"
MARK = "tests/hostile/test_nginx.py runs this sample"


def sample() -> str:
    """The nginx block the guide marks as tested."""
    text = DOCS.read_text(encoding="utf-8")
    after = text[text.index(MARK) :]
    m = re.search(r"```nginx\n(.*?)```", after, re.S)
    assert m, "the marked nginx sample is gone from docs/deployment.md"
    return m.group(1)


def config(tmp: Path, listen: int, upstream: int) -> str:
    conf = sample()
    replaced = {
        "listen 443 ssl;": f"listen 127.0.0.1:{listen} ssl;",
        "/etc/ssl/chat.example.com.pem": str(tmp / "cert.pem"),
        "/etc/ssl/chat.example.com.key": str(tmp / "key.pem"),
        "http://127.0.0.1:8000": f"http://127.0.0.1:{upstream}",
    }
    for old, new in replaced.items():
        assert old in conf, f"the sample no longer has {old!r}"
        conf = conf.replace(old, new)
    temps = "".join(
        f"{kind}_temp_path {tmp / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi")
    )
    # as root, nginx's workers would become another user, who cannot write the temp folders
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}daemon off;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'};\n"
        "worker_processes 1;\nevents { worker_connections 256; }\n"
        f"http {{\naccess_log off;\n{temps}scgi_temp_path {tmp / 'scgi'};\n{conf}\n}}\n"
    )


@contextlib.asynccontextmanager
async def nginx(tmp: Path, upstream: int) -> AsyncIterator[int]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.skip("nginx is not installed (Debian package nginx; ./scripts/check installs it)")
    openssl = await asyncio.create_subprocess_exec(
        *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
        *("-subj", "/CN=chat.example.com", "-keyout", str(tmp / "key.pem")),
        *("-out", str(tmp / "cert.pem")),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert await openssl.wait() == 0
    port = free_port()
    (tmp / "nginx.conf").write_text(config(tmp, port, upstream))
    proc = await asyncio.create_subprocess_exec(
        binary, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")
    )
    try:
        async with asyncio.timeout(t(10)):
            while True:  # until it listens (a refused connection answers at once)
                with contextlib.suppress(OSError):
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                if proc.returncode is not None:
                    raise RuntimeError((tmp / "error.log").read_text())
                await asyncio.sleep(0.05)  # polling nginx's start, not waiting for the server
        yield port
    finally:
        proc.terminate()
        await proc.wait()


def client(port: int, address: str) -> httpx.AsyncClient:
    """A browser on ``address`` talking to nginx over HTTPS."""
    return httpx.AsyncClient(
        base_url=f"https://127.0.0.1:{port}",
        verify=False,
        transport=httpx.AsyncHTTPTransport(verify=False, local_address=address),
        timeout=t(30),
    )


async def test_the_nginx_sample_passes_clients_addresses_scheme_and_uploads(
    tmp_path: Path, serve: object
) -> None:
    """Behind the sample: a 9 MiB upload arrives, each client has its own throttle
    address (and cannot claim another), and the console cookie is Secure."""
    async with serve(queue_without_agents=True) as server:  # type: ignore[operator]
        srv: RunningServer = server
        await make_agent(srv, "ayse")
        async with nginx(tmp_path, srv.port) as port:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            p = await WS.open(
                f"wss://127.0.0.1:{port}/ws/player",
                ssl=context,
                origin=f"https://127.0.0.1:{port}",  # the page's own origin, over https
            )
            await p.send("hello", v=1)
            session = (await p.expect("welcome"))["session"]
            await p.send("prechat", name="M", email="m@x.io", topic="technical", age_confirmed=True)
            chat = (await p.expect("queued"))["chat"]

            async with client(port, "127.0.0.2") as a, client(port, "127.0.0.3") as b:
                big = b"statement line\n" * (9 * 1024 * 1024 // 15)
                r = await a.post(
                    f"/api/chats/{chat}/files",
                    files={"file": ("statement.txt", big, "text/plain")},
                    headers={"Authorization": f"Session {session}"},
                )
                assert r.status_code == 201, r.text

                lookup = {"number": "7QM3R-XD2TK", "contact": "nobody@x.io"}
                for i in range(10):
                    body = {**lookup, "contact": f"n{i}@x.io"}
                    assert (await a.post("/api/requests/lookup", json=body)).status_code == 404
                spoofed = {"X-Forwarded-For": "203.0.113.9"}
                r = await a.post("/api/requests/lookup", json=lookup, headers=spoofed)
                assert r.status_code == 429  # 127.0.0.2 is locked, whatever it claims
                r = await b.post("/api/requests/lookup", json={**lookup, "number": "8QM3R-XD2TK"})
                assert r.status_code == 404  # 127.0.0.3 is another client

                page = await b.get("/console/login")
                r = await b.post(
                    "/console/login",
                    data={
                        "username": "ayse",
                        "password": "correct horse battery",
                        "csrf": field(page.text, "csrf"),
                    },
                )
                assert r.status_code == 303, r.text
                assert "secure" in r.headers["set-cookie"].lower()
