"""What the load generator keeps about its players and agents while it drives a server.

One ``Harness`` holds every client of a run. Each frame a client receives is handled
in a picows callback (no awaits), updating plain counters and dicts; the scenarios wait
on ``Countdown``s the handlers hit. Every ``ack`` is kept, so the durability check can
later find each acknowledged message in the store.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .clients import Client, Countdown, connect_many, now

__all__ = ["Acked", "Harness", "Pair", "percentile"]

PING = b'{"type":"ping"}'  # a server's heartbeat (chatserver's and the baseline's) …
PONG = b'{"type":"pong"}'  # … and a client's answer

TOPIC = "technical"  # a guest topic of the shipped routing file


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass(frozen=True, slots=True)
class Acked:
    chat: str
    client_id: str
    seq: int


@dataclass(slots=True)
class Pair:
    """A paired chat: its player's socket and its agent's socket."""

    chat: str
    player: Client
    agent: Client


@dataclass
class Harness:
    """The clients of one run against chatserver, and what they have seen."""

    url: str  # ws://host:port
    acked: list[Acked] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0  # a seq a client already had, seen again
    heartbeats: int = 0  # answered either way: our ping's pong, or our pong to the server's ping
    # the relay: message id -> intended send time (open loop: latency counts from then)
    intended: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    ack_latencies: list[float] = field(default_factory=list)
    measuring: bool = False
    received: Countdown | None = None
    acks: Countdown | None = None
    # pairing: chat -> times (wall clock) each side heard of the assignment
    player_assigned: dict[str, float] = field(default_factory=dict)
    agent_assigned: dict[str, float] = field(default_factory=dict)
    queued_at: dict[str, float] = field(default_factory=dict)
    assigned: Countdown | None = None
    welcomed: Countdown | None = None
    queued: Countdown | None = None
    replayed: Countdown | None = None
    on_replayed: Callable[[Client], None] | None = None

    # -- connecting ------------------------------------------------------------

    async def agents(
        self, tokens: list[str], parallel: int = 128, url: str | None = None
    ) -> list[Client]:
        """Sign agents in with their API tokens, online (on ``url``, another node, if
        given); returns once all are welcomed."""
        self.welcomed = Countdown(len(tokens))
        clients = await connect_many(
            f"{url or self.url}/ws/agent", [self.on_agent] * len(tokens), parallel=parallel
        )
        for client, token in zip(clients, tokens, strict=True):
            client.state.update(role="agent")
            client.send({"type": "hello", "v": 1, "token": token, "status": "online"})
        await self.welcomed.wait(120, "agents welcomed")
        return clients

    async def players(self, n: int, parallel: int = 256) -> list[Client]:
        """Open ``n`` widget sockets and say hello; returns once all are welcomed."""
        self.welcomed = Countdown(n)
        clients = await connect_many(
            f"{self.url}/ws/player", [self.on_player] * n, parallel=parallel
        )
        for i, client in enumerate(clients):
            client.state.update(role="player", n=i, seqs=set(), chat=None)
            client.send({"type": "hello", "v": 1, "locale": "en"})
        await self.welcomed.wait(300, "players welcomed")
        return clients

    @staticmethod
    def prechat(client: Client) -> None:
        n = client.state["n"]
        client.send(
            {
                "type": "prechat",
                "topic": TOPIC,
                "age_confirmed": True,
                "name": f"Player {n}",
                "email": f"player{n}@bench.invalid",
            }
        )

    async def pair(self, players: list[Client], agents: list[Client]) -> list[Pair]:
        """Start a chat for every player; returns once both sides of each were told."""
        self.assigned = Countdown(2 * len(players))
        for client in players:
            self.prechat(client)
        await self.assigned.wait(300, "assignments")
        by_chat = {c.state["chat"]: c for c in players}
        agent_of = {chat: a for a in agents for chat in a.state.get("chats", ())}
        return [Pair(chat, by_chat[chat], agent_of[chat]) for chat in by_chat]

    async def waiting(self, n: int, into: list[Client]) -> Callable[[], int]:
        """``n`` widgets that pass the pre-chat form and wait in the queue (added to
        ``into``), keeping their heartbeats; returns the counter of heartbeats answered
        (``scenarios.idle``'s ``connect``)."""
        clients = await self.players(n, parallel=512)
        into.extend(clients)
        self.queued = Countdown(n)
        for c in clients:
            self.prechat(c)
        await self.queued.wait(300, "players queued")
        self.heartbeat(clients)
        return lambda: self.heartbeats

    # -- heartbeats --------------------------------------------------------------

    def heartbeat(self, clients: list[Client], every: float = 25.0, jitter: float = 5.0) -> None:
        """Each client the server does not ping (its ``welcome`` had no ``ping_seconds``:
        a socket on an edge node) pings every ``every`` ± ``jitter`` s, the first at a
        random moment. The others answer the server's pings (``on_player``, ``on_agent``)."""
        import asyncio

        loop = asyncio.get_running_loop()

        def ping(client: Client) -> None:
            if client.disconnected.done():
                return
            client.send({"type": "ping"})
            loop.call_later(random.uniform(every - jitter, every + jitter), ping, client)

        for client in clients:
            if not client.state.get("server_pings"):
                loop.call_later(random.uniform(0, every), ping, client)

    # -- frames ----------------------------------------------------------------

    def _error(self, client: Client, frame: dict[str, Any]) -> None:
        self.errors.append({"role": client.state.get("role"), **frame})

    def on_player(self, client: Client, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        st = client.state
        if kind == "ack":
            self._seen(client, frame["seq"])
            self.acked.append(Acked(st["chat"], frame["id"], frame["seq"]))
            if self.measuring:
                self.ack_latencies.append(now() - self.intended[frame["id"]])
            if self.acks is not None:
                self.acks.hit()
        elif kind == "message":
            self._seen(client, frame["seq"])
            if "replay_until" in st and frame["seq"] >= st["replay_until"]:
                del st["replay_until"]
                if self.on_replayed is not None:
                    self.on_replayed(client)
        elif kind == "ping":
            client.send_text(PONG)
            self.heartbeats += 1
        elif kind == "pong":
            self.heartbeats += 1
        elif kind == "welcome":
            st["server_pings"] = "ping_seconds" in frame
            st["session"] = frame["session"]
            st["resumed"] = frame["resumed"]
            if self.welcomed is not None:
                self.welcomed.hit()
        elif kind == "queued":
            first = st["chat"] is None
            st["chat"] = frame["chat"]
            if first and self.queued is not None:
                self.queued.hit()
        elif kind == "assigned":
            st["chat"] = frame["chat"]
            self.player_assigned[frame["chat"]] = time.time()
            if self.assigned is not None:
                self.assigned.hit()
        elif kind == "error":
            self._error(client, frame)

    def _seen(self, client: Client, seq: int) -> None:
        seqs: set[int] = client.state["seqs"]
        if seq in seqs:
            self.duplicates += 1
        else:
            seqs.add(seq)

    def on_agent(self, client: Client, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "message":
            if frame["from"] == "player" and self.measuring:
                self.latencies.append(now() - self.intended[frame["id"]])
            if self.received is not None and frame["from"] == "player":
                self.received.hit()
        elif kind == "ack":
            self.acked.append(Acked(frame["chat"], frame["id"], frame["seq"]))
            client.state["last_ack"] = frame["seq"]
            if self.acks is not None:
                self.acks.hit()
        elif kind == "ping":
            client.send_text(PONG)
            self.heartbeats += 1
        elif kind == "pong":
            self.heartbeats += 1
        elif kind == "assigned":
            chat = frame["chat"]
            client.state.setdefault("chats", []).append(chat)
            self.agent_assigned[chat] = time.time()
            self.queued_at[chat] = frame["queued_at"] / 1000
            if self.assigned is not None:
                self.assigned.hit()
        elif kind == "welcome":
            client.state["server_pings"] = "ping_seconds" in frame
            if self.welcomed is not None:
                self.welcomed.hit()
        elif kind == "error":
            self._error(client, frame)
