"""Frame fuzzing on both sockets: every frame gets a documented error or a normal answer;
no socket is closed with 1011 and nothing is logged as a failure (issue 18).

Hypothesis drives a synchronous WebSocket client against a real server that runs in a
thread of its own, with its own event loop. Each test has a bounded number of examples.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from chatserver.protocol import AGENT_TYPES, PLAYER_TYPES
from tests.support import RunningServer, make_agent, t

DOCS = Path(__file__).parents[2] / "docs" / "protocol.md"
TYPES = sorted({*PLAYER_TYPES, *AGENT_TYPES, "requeue", "canned"})
NORMAL = {
    "welcome",
    "ping",
    "pong",
    "ack",
    "queued",
    "assigned",
    "message",
    "ended",
    "status",
    "roster",
    "floor",
    "monitoring",
    "rated",
    "emailed",
    "typing",
    "availability",
    "note",
    "unassigned",
}


def documented_codes() -> set[str]:
    """Every code in protocol.md's error table."""
    text = DOCS.read_text(encoding="utf-8")
    table = text[text.index("## Error codes") : text.index("## REST")]
    return {
        c
        for row in table.splitlines()
        if row.startswith("| `")
        for c in re.findall(r"`([a-z_]+)`", row.split("|")[1])
    }


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
fields = st.sampled_from(
    [
        "v",
        "id",
        "text",
        "topic",
        "name",
        "email",
        "username",
        "age_confirmed",
        "resume",
        "last_seq",
        "chat",
        "status",
        "rating",
        "resolved",
        "identity",
        "token",
        "agent",
        "department",
        "active",
        "locale",
        "comment",
        "resolution",
    ]
)
frames = st.one_of(
    st.builds(
        lambda kind, extra: json.dumps({"type": kind, **extra}),
        st.sampled_from(TYPES) | st.text(max_size=12),
        st.dictionaries(fields | st.text(max_size=6), json_values, max_size=6),
    ),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.integers(min_value=1, max_value=3000).map(
        lambda n: '{"type":"ping","x":' + "[" * n + "]" * n + "}"
    ),
)


@contextlib.contextmanager
def server_in_thread(
    serve: Callable[..., AbstractAsyncContextManager[RunningServer]], **overrides: Any
) -> Iterator[RunningServer]:
    """A real server on its own event loop in a thread, for synchronous clients."""
    started: list[RunningServer] = []
    ready, stop = threading.Event(), None

    async def run() -> None:
        nonlocal stop
        stop = asyncio.Event()
        async with serve(**overrides) as srv:
            started.append(srv)
            ready.set()
            await stop.wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    assert ready.wait(t(20)), "server did not start"
    try:
        yield started[0]
    finally:
        loop.call_soon_threadsafe(stop.set)  # type: ignore[union-attr]
        thread.join(t(20))
        loop.close()


class Client:
    """One socket, reopened when the server closes it for a documented reason."""

    def __init__(self, url: str, hello: dict[str, Any], stack: contextlib.ExitStack) -> None:
        self.url, self.hello, self.stack = url, hello, stack
        self.ws: ClientConnection | None = None

    def open(self) -> ClientConnection:
        if self.ws is None:
            self.ws = self.stack.enter_context(connect(self.url, open_timeout=t(5)))
            self.ws.send(json.dumps(self.hello))
        return self.ws

    def exchange(self, frame: str) -> list[dict[str, Any]]:
        """Send ``frame`` then a ping; the frames that came back before the pong."""
        ws = self.open()
        got: list[dict[str, Any]] = []
        try:
            ws.send(frame)
            ws.send('{"type":"ping"}')
            while True:
                answer = json.loads(ws.recv(timeout=t(5)))
                if answer["type"] == "pong":
                    return got
                got.append(answer)
        except ConnectionClosed as closed:
            self.ws = None
            code = closed.rcvd.code if closed.rcvd else None
            assert code != 1011, f"{frame[:200]!r} closed the socket with 1011"
            return got


def check(answers: list[dict[str, Any]], codes: set[str]) -> None:
    for a in answers:
        if a["type"] == "error":
            assert a["code"] in codes, f"undocumented error code {a['code']!r}"
        else:
            assert a["type"] in NORMAL, f"unexpected frame {a['type']!r}"


FUZZ = settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("endpoint", ["player", "agent"])
def test_fuzzed_frames_get_documented_answers(
    serve: Callable[..., AbstractAsyncContextManager[RunningServer]],
    caplog: pytest.LogCaptureFixture,
    endpoint: str,
) -> None:
    """Hundreds of generated frames on one socket (reopened after a documented close)."""
    codes = documented_codes()
    limits = dict(player_rate=1e6, player_burst=10**6, agent_rate=1e6, agent_burst=10**6)
    with (
        caplog.at_level(logging.ERROR),
        server_in_thread(serve, queue_without_agents=True, **limits) as srv,
    ):
        hello: dict[str, Any] = {"type": "hello", "v": 1}
        if endpoint == "agent":
            future = asyncio.run_coroutine_threadsafe(make_agent(srv, "fuzz"), _loop_of(srv))
            hello["token"] = future.result(t(10))
        with contextlib.ExitStack() as stack:
            client = Client(f"{srv.ws}/ws/{endpoint}", hello, stack)
            client.exchange('{"type":"ping"}')  # the hello's answer

            @FUZZ
            @given(frame=frames)
            def fuzz(frame: str) -> None:
                check(client.exchange(frame), codes)

            fuzz()
    failures = [r for r in caplog.records if r.name.startswith("chatserver") and r.exc_info]
    assert not failures, failures[0].getMessage()


def _loop_of(srv: RunningServer) -> asyncio.AbstractEventLoop:
    loop = srv.hub.loop_or_none
    assert loop is not None
    return loop
